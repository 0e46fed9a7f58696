// The registered steps looked up by (message, entity), built once per registration load. Disabled
// steps are left out, so they can never run.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <stepline/registration/model.hpp>

namespace stepline::host::pipeline {

/// One enabled step, with what the pipeline needs at hand for every run.
struct IndexedStep {
  const registration::Step* step = nullptr;
  std::size_t ordinal = 0;           ///< position among the indexed steps (plug-in cache slot)
  EntityReference owning_extension;  ///< sdkmessageprocessingstep reference put in contexts
  bool has_pre_image = false;
  bool has_post_image = false;
};

class StepIndex {
 public:
  /// Keeps pointers into `registration`, which must outlive the index. Throws
  /// std::invalid_argument (naming the step and its file:line) for a step that can not run:
  /// asynchronous outside post-operation, or neither a plug-in type nor an endpoint.
  explicit StepIndex(const registration::Registration& registration);
  StepIndex(const StepIndex&) = delete;
  StepIndex& operator=(const StepIndex&) = delete;

  /// Steps for `message` on `entity` (the entity's own and the any-table ones), ordered by stage,
  /// then rank, then registration order.
  std::span<const IndexedStep* const> find(std::string_view message, std::string_view entity) const;

  /// Number of indexed (enabled) steps.
  std::size_t size() const noexcept { return steps_.size(); }
  const std::vector<IndexedStep>& steps() const noexcept { return steps_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using List = std::vector<const IndexedStep*>;
  struct MessageSteps {
    std::unordered_map<std::string, List, Hash, std::equal_to<>>
        by_entity;  ///< includes any-table steps
    List any_entity;
  };

  std::vector<IndexedStep> steps_;
  std::unordered_map<std::string, MessageSteps, Hash, std::equal_to<>> by_message_;
};

}  // namespace stepline::host::pipeline
