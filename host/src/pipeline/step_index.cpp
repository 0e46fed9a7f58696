#include <stepline/host/pipeline/step_index.hpp>

#include <algorithm>
#include <stdexcept>

namespace stepline::host::pipeline {
namespace {

void check(const registration::Step& s) {
  auto where = [&] { return s.where.file.empty() ? std::string() : s.where.str() + ": "; };
  if (s.mode == Mode::asynchronous && s.stage != Stage::post_operation)
    throw std::invalid_argument(where() + "step '" + s.name + "' is asynchronous at stage " +
                                std::to_string(static_cast<int>(s.stage)) +
                                "; asynchronous steps run only at post-operation (stage 40)");
  if (s.plugin_type.empty() == s.endpoint.empty())
    throw std::invalid_argument(
        where() + "step '" + s.name +
        "' needs exactly one handler: a plug-in type or a service endpoint");
  if (s.message.empty())
    throw std::invalid_argument(where() + "step '" + s.name + "' names no message");
}

bool runs_before(const IndexedStep* a, const IndexedStep* b) {
  if (a->step->stage != b->step->stage) return a->step->stage < b->step->stage;
  if (a->step->rank != b->step->rank) return a->step->rank < b->step->rank;
  return a->ordinal < b->ordinal;
}

}  // namespace

StepIndex::StepIndex(const registration::Registration& registration) {
  steps_.reserve(registration.steps.size());
  for (const auto& s : registration.steps) {
    if (!s.enabled) continue;
    check(s);
    IndexedStep entry;
    entry.step = &s;
    entry.ordinal = steps_.size();
    entry.owning_extension = EntityReference{"sdkmessageprocessingstep", s.id, s.name};
    for (const auto& image : s.images) {
      if (image.kind != registration::ImageKind::post) entry.has_pre_image = true;
      if (image.kind != registration::ImageKind::pre) entry.has_post_image = true;
    }
    steps_.push_back(std::move(entry));
  }
  for (const auto& entry : steps_) {
    auto& m = by_message_[entry.step->message];
    if (entry.step->entity.empty())
      m.any_entity.push_back(&entry);
    else
      m.by_entity[entry.step->entity].push_back(&entry);
  }
  for (auto& [message, m] : by_message_) {
    for (auto& [entity, list] : m.by_entity) {
      list.insert(list.end(), m.any_entity.begin(), m.any_entity.end());
      std::sort(list.begin(), list.end(), runs_before);
    }
    std::sort(m.any_entity.begin(), m.any_entity.end(), runs_before);
  }
}

std::span<const IndexedStep* const> StepIndex::find(std::string_view message,
                                                    std::string_view entity) const {
  auto m = by_message_.find(message);
  if (m == by_message_.end()) return {};
  if (auto e = m->second.by_entity.find(entity); e != m->second.by_entity.end()) return e->second;
  return m->second.any_entity;
}

}  // namespace stepline::host::pipeline
