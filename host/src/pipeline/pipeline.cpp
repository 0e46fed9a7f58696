#include <stepline/host/pipeline/pipeline.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include <stepline/format/json.hpp>
#include <stepline/host/log.hpp>
#include <stepline/host/pipeline/step_index.hpp>
#include <stepline/text.hpp>

namespace stepline::host::pipeline {

OperationFailed::OperationFailed(const std::string& message, std::int32_t code,
                                 std::string trace_id)
    : InvalidPluginExecution(message, OperationStatus::failed, code),
      trace_id_(std::move(trace_id)) {}
OperationFailed::~OperationFailed() = default;

std::string_view to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::succeeded:
      return "succeeded";
    case Outcome::rejected:
      return "rejected";
    case Outcome::failed:
      return "failed";
    case Outcome::invalid_request:
      return "invalid-request";
  }
  return "unknown";
}

/// An immutable registration with its index, the factory of its plug-ins and the plug-in
/// instance of each step: one generation of the host's registration. Operations hold it while
/// they run, so a reload lets them finish on theirs; the instances go before the factory that
/// made them (and with it, after a reload, the libraries only this generation used).
struct Pipeline::Snapshot {
  Snapshot(registration::Registration r, std::shared_ptr<PluginFactory> f)
      : registration(std::move(r)),
        factory(std::move(f)),
        index(registration),
        plugins(index.size()),
        created(std::make_unique<std::once_flag[]>(index.size())) {}

  registration::Registration registration;
  std::shared_ptr<PluginFactory> factory;
  StepIndex index;
  // Filled on first use of each step; call_once guards every slot.
  mutable std::vector<std::shared_ptr<Plugin>> plugins;
  mutable std::unique_ptr<std::once_flag[]> created;
};

/// One top-level request and every operation nested in it.
struct Pipeline::Chain {
  std::shared_ptr<const Snapshot> snapshot;
  Guid correlation_id;
  Guid initiating_user_id;
  std::string user_agent;
  std::optional<std::string> tag;
  std::optional<std::string> trace_parent;
  /// (step, record) pairs whose step is running right now, outermost first.
  std::vector<std::pair<const IndexedStep*, Guid>> running;
  std::vector<std::string> traces;

  /// The shared variables every step sees and none may change: "tag" and "traceparent".
  void restore_shared(ParameterCollection& shared) const {
    for (const auto& [name, value] :
         {std::pair{"tag", &tag}, std::pair{"traceparent", &trace_parent}}) {
      if (!*value) continue;
      auto it = shared.find(name);
      if (it == shared.end() || !(it->second == Value(**value)))
        shared.insert_or_assign(name, Value(**value));
    }
  }
  /// Takes them back from a frozen context (a system job's).
  void read_shared(const ParameterCollection& shared) {
    for (const auto& [name, value] :
         {std::pair{"tag", &tag}, std::pair{"traceparent", &trace_parent}})
      if (auto it = shared.find(name); it != shared.end())
        if (auto* text = it->second.get_if<std::string>()) *value = *text;
  }
};

/// Who issues an operation: the client (depth 1) or a running step (its context is the parent).
struct Pipeline::Caller {
  int depth = 1;
  Guid user_id;
  std::shared_ptr<const ExecutionContext> parent;
  bool in_transaction = false;
  Guid request_id;
};

namespace {

using text::trim;

constexpr const char* bypass_parameter = "BypassBusinessLogicExecution";
constexpr const char* bypass_steps_parameter = "BypassBusinessLogicExecutionStepIds";

template <class F>
void for_each_item(std::string_view list, F&& f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trim(list.substr(0, comma));
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

OperationFailed bad_request(const std::string& message) {
  return OperationFailed(message, error_code::invalid_argument);
}

const std::string* string_parameter(const ParameterCollection& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end() || it->second.is_null()) return nullptr;
  if (auto* s = it->second.get_if<std::string>()) return s;
  throw bad_request(std::string(name) + " must be a string, not " +
                    std::string(to_string(it->second.kind())));
}

int int_parameter(const ParameterCollection& p, const char* name, int fallback) {
  auto it = p.find(name);
  if (it == p.end() || it->second.is_null()) return fallback;
  if (auto* n = it->second.get_if<std::int32_t>()) return *n;
  throw bad_request(std::string(name) + " must be a whole number");
}

/// "ColumnSet": absent or "*" = every column, else a comma list of column names.
ColumnSet column_set(const ParameterCollection& p) {
  const std::string* text = string_parameter(p, "ColumnSet");
  if (!text || trim(*text) == "*") return ColumnSet::all();
  ColumnSet c;
  for_each_item(*text, [&](std::string_view item) { c.columns.emplace_back(item); });
  return c;
}

std::string column_set_text(const ColumnSet& c) {
  if (c.all_columns) return "*";
  std::string out;
  for (const auto& col : c.columns) out += (out.empty() ? "" : ",") + col;
  return out;
}

Entity image_of(const Entity& record, const registration::StepImage& image) {
  return image.columns.empty() ? record : record.project(image.columns);
}

std::string record_text(std::string_view entity, const Guid& id) {
  return std::string(entity.empty() ? "none" : entity) + " " + id.str();
}

}  // namespace

/// Services handed to one running step: its trace lines go to the request, its nested requests
/// run with its context as parent.
class StepServices final : public Services, OrganizationService, TracingService {
 public:
  StepServices(Pipeline& pipeline, Pipeline::Chain& chain, const IndexedStep& step,
               const ExecutionContext& context)
      : pipeline_(pipeline), chain_(chain), step_(step), context_(context) {}

  TracingService& tracing() override { return *this; }
  OrganizationService& organization() override { return *this; }
  NotificationService& notification() override;

  void write(std::string_view line) override {
    chain_.traces.push_back(step_.step->name + ": " + std::string(line));
  }

  Guid create(const Entity& entity) override {
    auto out = nested("Create", {{"Target", Value(entity)}});
    auto it = out.find("id");
    return it == out.end() || !it->second.get_if<Guid>() ? Guid() : it->second.as<Guid>();
  }
  Entity retrieve(std::string_view entity_name, const Guid& id, const ColumnSet& columns) override {
    auto out =
        nested("Retrieve", {{"Target", Value(EntityReference{std::string(entity_name), id, {}})},
                            {"ColumnSet", Value(column_set_text(columns))}});
    return out.at("BusinessEntity").as<Entity>();
  }
  void update(const Entity& entity) override { nested("Update", {{"Target", Value(entity)}}); }
  void remove(std::string_view entity_name, const Guid& id) override {
    nested("Delete", {{"Target", Value(EntityReference{std::string(entity_name), id, {}})}});
  }
  EntityCollection retrieve_multiple(const Query& query) override {
    Entity conditions(query.entity_name);
    for (const auto& [column, value] : query.conditions) conditions.set(column, value);
    auto out = nested("RetrieveMultiple", {{"Query", Value(std::move(conditions))},
                                           {"ColumnSet", Value(column_set_text(query.columns))},
                                           {"PageSize", Value(query.page_size)},
                                           {"PageNumber", Value(query.page_number)}});
    return out.at("BusinessEntityCollection").as<EntityCollection>();
  }
  OrganizationResponse execute(const OrganizationRequest& request) override {
    return {nested(request.message_name, request.parameters)};
  }

 private:
  ParameterCollection nested(const std::string& message, ParameterCollection inputs) {
    Pipeline::Caller caller;
    caller.depth = context_.depth + 1;
    caller.user_id = context_.user_id;
    caller.parent = std::make_shared<const ExecutionContext>(context_);
    caller.in_transaction = context_.is_in_transaction;
    caller.request_id = Guid::random();
    return pipeline_.run(chain_, caller, message, std::move(inputs));
  }

  Pipeline& pipeline_;
  Pipeline::Chain& chain_;
  const IndexedStep& step_;
  const ExecutionContext& context_;
};

namespace {

class MissingNotificationService final : public NotificationService {
 public:
  std::string post(std::string_view endpoint_name, const ExecutionContext&) override {
    throw OperationFailed("cannot post to service endpoint '" + std::string(endpoint_name) +
                              "': this host runs without a notification service (start it with the "
                              "endpoint poster enabled)",
                          error_code::configuration);
  }
};

}  // namespace

NotificationService& StepServices::notification() {
  static MissingNotificationService missing;
  return pipeline_.notification_ ? *pipeline_.notification_ : missing;
}

namespace {

/// The step's cached plug-in instance, created on first use.
Plugin& plugin_of(const Pipeline::Snapshot& snapshot, const IndexedStep& entry) {
  auto& slot = snapshot.plugins[entry.ordinal];
  const auto& s = *entry.step;
  try {
    std::call_once(snapshot.created[entry.ordinal], [&] {
      auto created = snapshot.factory->create_for(s);
      if (!created) throw std::runtime_error("the plug-in factory returned no instance");
      slot = std::move(created);
    });
  } catch (const std::exception& e) {
    throw OperationFailed("step '" + s.name + "' (" + s.where.str() + "): plug-in type '" +
                              s.plugin_type + "' is not available: " + e.what(),
                          error_code::configuration);
  }
  return *slot;
}

/// Tells the observer how long a step took and whether it threw, however it ends.
struct StepTimer {
  StepTimer(metrics::Observer* observer, const registration::Step& step)
      : observer(observer), step(step), started(std::chrono::steady_clock::now()) {}
  ~StepTimer() {
    if (observer) observer->step_finished(step, ok, std::chrono::steady_clock::now() - started);
  }
  metrics::Observer* observer;
  const registration::Step& step;
  std::chrono::steady_clock::time_point started;
  bool ok = false;
};

/// A plug-in threw something other than InvalidPluginExecution: the details go to the log under
/// a trace id, the caller (or the system job) gets the generic error with that id.
[[noreturn]] void fail_unexpectedly(const registration::Step& s, const ExecutionContext& c,
                                    const std::string& what) {
  auto trace_id = Guid::random().str();
  log::error(
      "trace id {}: step '{}' ({}, plug-in type '{}') failed on {} of {} (correlation {}, depth "
      "{}): {}",
      trace_id, s.name, s.id.str(), s.plugin_type, c.message_name,
      record_text(c.primary_entity_name, c.primary_entity_id), c.correlation_id.str(), c.depth,
      what);
  throw OperationFailed("an unexpected error occurred in plug-in step '" + s.name + "'; trace id " +
                            trace_id + " (the host log has the details)",
                        error_code::unexpected, trace_id);
}

}  // namespace

/// One operation (a message on a record) at one depth.
class Operation {
 public:
  Operation(Pipeline& pipeline, Pipeline::Chain& chain, const Pipeline::Caller& caller,
            const std::string& message, ParameterCollection inputs)
      : pipeline_(pipeline),
        chain_(chain),
        caller_(caller),
        settings_(chain.snapshot->registration.host),
        kind_(kind_of(message)) {
    context_.message_name = message;
    context_.input_parameters = std::move(inputs);
  }

  ParameterCollection run() {
    identify_record();
    check_depth();
    read_bypass();
    steps_ = chain_.snapshot->index.find(context_.message_name, entity_);
    fill_context();

    // Stage 10 runs outside the transaction for a top-level operation, in the caller's otherwise.
    if (needs_pre_image(Stage::pre_validation)) pre_record_ = read_record();
    run_stage(Stage::pre_validation);

    if (is_crud(kind_)) {
      // Create/Update/Delete: stages 20-40 run in an inner context whose parent is the outer one,
      // as the main operation (stage 30) sees it; stage 10's shared variables are reached there.
      auto outer = std::make_shared<ExecutionContext>(context_);
      outer->stage = Stage::main_operation;
      outer->owning_extension = {};
      outer->pre_entity_images.clear();
      outer->user_id = caller_.user_id;
      context_.parent_context = std::move(outer);
      context_.shared_variables.clear();
      chain_.restore_shared(context_.shared_variables);
    }

    // A message the store does not handle, with no step after pre-validation, writes nothing:
    // it needs no transaction.
    if (kind_ == Kind::other &&
        std::none_of(steps_.begin(), steps_.end(),
                     [](const IndexedStep* e) { return e->step->stage != Stage::pre_validation; }))
      return std::move(context_.output_parameters);

    store::RecordStore::Transaction transaction(pipeline_.store_);
    context_.is_in_transaction = true;
    if (needs_pre_image(Stage::pre_operation) || needs_pre_image(Stage::post_operation))
      pre_record_ = read_record();
    run_stage(Stage::pre_operation);
    main_operation();
    if (needs_post_image()) post_record_ = read_record();
    run_stage(Stage::post_operation);
    queue_async_steps();
    transaction.commit();
    return std::move(context_.output_parameters);
  }

 private:
  /// The messages the pipeline treats specially, recognised once per operation.
  enum class Kind { create, update, remove, retrieve, retrieve_multiple, other };

  static Kind kind_of(std::string_view message) {
    if (message == "Create") return Kind::create;
    if (message == "Update") return Kind::update;
    if (message == "Delete") return Kind::remove;
    if (message == "Retrieve") return Kind::retrieve;
    if (message == "RetrieveMultiple") return Kind::retrieve_multiple;
    return Kind::other;
  }

  static bool is_crud(Kind k) {
    return k == Kind::create || k == Kind::update || k == Kind::remove;
  }

  void identify_record() {
    const auto& message = context_.message_name;
    auto& in = context_.input_parameters;
    auto target = in.find("Target");
    if (kind_ == Kind::retrieve_multiple) {
      auto q = in.find("Query");
      const Entity* query = q == in.end() ? nullptr : q->second.get_if<Entity>();
      if (!query)
        throw bad_request(
            "RetrieveMultiple needs a \"Query\" parameter: an entity naming the table, with the "
            "equality conditions as attributes");
      entity_ = query->logical_name;
    } else if (target != in.end()) {
      if (const Entity* e = target->second.get_if<Entity>()) {
        entity_ = e->logical_name;
        id_ = e->id;
      } else if (const auto* r = target->second.get_if<EntityReference>()) {
        entity_ = r->logical_name;
        id_ = r->id;
      } else {
        throw bad_request(message + ": \"Target\" must be an entity or an entity reference, not " +
                          std::string(to_string(target->second.kind())));
      }
    }
    // A control character (a NUL above all, which PostgreSQL's text parameters end at) would let
    // a name pass for another table's in the store while matching none of its steps.
    if (text::has_control(entity_))
      throw bad_request(message + ": the table name \"" + text::printable(entity_) +
                        "\" holds a control character; a table's logical name is letters, digits "
                        "and underscores");
    bool needs_entity = kind_ == Kind::create || kind_ == Kind::update;
    bool needs_reference = kind_ == Kind::remove || kind_ == Kind::retrieve;
    if ((needs_entity || needs_reference) && (target == in.end() || entity_.empty()))
      throw bad_request(message + " needs a \"Target\" " +
                        (needs_entity ? "entity" : "entity reference") + " naming the table");
    if (needs_entity && !target->second.get_if<Entity>())
      throw bad_request(message + ": \"Target\" must be an entity with attributes");
    if ((kind_ == Kind::update || needs_reference) && id_.is_nil())
      throw bad_request(message + " of " + entity_ + " needs the record's id in \"Target\"");
    if (kind_ == Kind::create && id_.is_nil()) {
      // As Dataverse does: the new record has its id from the start, so every stage's context,
      // trace and rejection names it, and the main operation writes it under that id.
      id_ = store::time_ordered_guid();
      context_.target()->id = id_;
    }
  }

  void check_depth() {
    if (caller_.depth > settings_.max_depth)
      throw OperationFailed("maximum depth " + std::to_string(settings_.max_depth) + " exceeded: " +
                                context_.message_name + " of " + record_text(entity_, id_) +
                                " would run at depth " + std::to_string(caller_.depth) +
                                " (correlation " + chain_.correlation_id.str() +
                                "). Plug-ins keep triggering operations; raise host.max_depth only "
                                "if the chain is intended",
                            error_code::infinite_loop);
  }

  void read_bypass() {
    const auto& in = context_.input_parameters;
    if (const std::string* text = string_parameter(in, bypass_parameter)) {
      for_each_item(*text, [&](std::string_view item) {
        if (item == "CustomSync")
          bypass_sync_ = true;
        else if (item == "CustomAsync")
          bypass_async_ = true;
        else
          throw bad_request(std::string(bypass_parameter) + ": unknown value '" +
                            std::string(item) +
                            "'; use CustomSync, CustomAsync or CustomSync,CustomAsync");
      });
    }
    if (const std::string* text = string_parameter(in, bypass_steps_parameter)) {
      for_each_item(*text, [&](std::string_view item) {
        auto id = Guid::try_parse(item);
        if (!id)
          throw bad_request(std::string(bypass_steps_parameter) + ": '" + std::string(item) +
                            "' is not a step id (a guid)");
        bypass_steps_.push_back(*id);
      });
    }
  }

  void fill_context() {
    auto& c = context_;
    c.primary_entity_name = entity_.empty() ? "none" : entity_;
    c.primary_entity_id = id_;
    c.depth = caller_.depth;
    c.user_id = caller_.user_id;
    c.initiating_user_id = chain_.initiating_user_id;
    c.business_unit_id = settings_.business_unit_id;
    c.organization_id = settings_.organization_id;
    c.organization_name = settings_.organization_name;
    c.initiating_user_agent = chain_.user_agent;
    c.correlation_id = chain_.correlation_id;
    c.request_id = caller_.request_id;
    c.operation_id = caller_.request_id;
    c.operation_created_on = now_utc();
    c.parent_context = caller_.parent;
    c.is_in_transaction = caller_.in_transaction;
    chain_.restore_shared(c.shared_variables);
  }

  bool should_run(const IndexedStep& entry) const {
    const auto& s = *entry.step;
    if (s.stage != Stage::main_operation && s.can_be_bypassed) {
      if (s.mode == Mode::synchronous ? bypass_sync_ : bypass_async_) return false;
      if (std::find(bypass_steps_.begin(), bypass_steps_.end(), s.id) != bypass_steps_.end())
        return false;
    }
    if (!s.filtering_attributes.empty() && kind_ == Kind::update) {
      const Entity* target = context_.target();
      if (!target) return false;
      return std::any_of(s.filtering_attributes.begin(), s.filtering_attributes.end(),
                         [&](const std::string& a) { return target->contains(a); });
    }
    return true;
  }

  bool needs_pre_image(Stage stage) const {
    if (kind_ == Kind::create || id_.is_nil()) return false;
    return std::any_of(steps_.begin(), steps_.end(), [&](const IndexedStep* e) {
      return e->step->stage == stage && e->has_pre_image;
    });
  }

  bool needs_post_image() const {
    if (kind_ == Kind::remove) return false;
    return std::any_of(steps_.begin(), steps_.end(), [&](const IndexedStep* e) {
      return e->step->stage == Stage::post_operation && e->has_post_image;
    });
  }

  std::optional<Entity> read_record() {
    if (context_.primary_entity_id.is_nil()) return std::nullopt;
    return pipeline_.store_.retrieve(entity_, context_.primary_entity_id, ColumnSet::all());
  }

  void set_images(const IndexedStep& entry, ExecutionContext& c) const {
    c.pre_entity_images.clear();
    c.post_entity_images.clear();
    for (const auto& image : entry.step->images) {
      if (image.kind != registration::ImageKind::post && pre_record_ && kind_ != Kind::create)
        c.pre_entity_images.insert_or_assign(image.alias, image_of(*pre_record_, image));
      if (image.kind != registration::ImageKind::pre && post_record_ &&
          entry.step->stage == Stage::post_operation)
        c.post_entity_images.insert_or_assign(image.alias, image_of(*post_record_, image));
    }
  }

  void run_stage(Stage stage) {
    for (const IndexedStep* entry : steps_) {
      if (entry->step->stage != stage || entry->step->mode != Mode::synchronous) continue;
      if (!should_run(*entry)) continue;
      run_step(*entry);
    }
  }

  Plugin& plugin_for(const IndexedStep& entry) { return plugin_of(*chain_.snapshot, entry); }

  void run_step(const IndexedStep& entry) {
    const auto& s = *entry.step;
    auto& c = context_;
    for (const auto& [running, record] : chain_.running) {
      if (running == &entry && record == c.primary_entity_id)
        throw OperationFailed(
            "loop detected: step '" + s.name + "' (" + s.id.str() + ") would run again on " +
                record_text(entity_, c.primary_entity_id) +
                " while it is still running for that record in the same request (correlation " +
                chain_.correlation_id.str() + ", depth " + std::to_string(c.depth) +
                "). Make the step skip records it changed itself, or filter it on the columns "
                "it does not write",
            error_code::infinite_loop);
    }
    chain_.running.emplace_back(&entry, c.primary_entity_id);
    struct Pop {
      std::vector<std::pair<const IndexedStep*, Guid>>& running;
      ~Pop() { running.pop_back(); }
    } pop{chain_.running};

    c.stage = s.stage;
    c.mode = Mode::synchronous;
    c.owning_extension = entry.owning_extension;
    c.user_id = s.run_as.value_or(caller_.user_id);
    c.isolation_mode = s.isolation;
    if (entry.has_pre_image || entry.has_post_image || !c.pre_entity_images.empty() ||
        !c.post_entity_images.empty())
      set_images(entry, c);

    StepServices services(pipeline_, chain_, entry, c);
    StepTimer timer(pipeline_.observer_, s);
    try {
      if (!s.endpoint.empty())
        services.notification().post(s.endpoint, c);
      else
        plugin_for(entry).execute(c, services);
      timer.ok = true;
    } catch (const InvalidPluginExecution& e) {
      log::debug("step '{}' stopped {} of {}: {}", s.name, c.message_name,
                 record_text(entity_, c.primary_entity_id), e.what());
      throw;
    } catch (const store::StorageFull&) {
      throw;  // a nested request's write: the store's trouble, not the plug-in's
    } catch (const std::exception& e) {
      unexpected(s, e.what());
    } catch (...) {
      unexpected(s, "an exception that is not a std::exception");
    }
    c.user_id = caller_.user_id;
    chain_.restore_shared(c.shared_variables);
  }

  [[noreturn]] void unexpected(const registration::Step& s, const std::string& what) {
    fail_unexpectedly(s, context_, what);
  }

  void main_operation() {
    bool provided = false;
    for (const IndexedStep* entry : steps_) {
      if (entry->step->stage != Stage::main_operation) continue;
      provided = true;
      run_step(*entry);
    }
    auto& c = context_;
    if (provided) {
      if (kind_ == Kind::create) {
        auto it = c.output_parameters.find("id");
        if (it != c.output_parameters.end() && it->second.get_if<Guid>())
          c.primary_entity_id = it->second.as<Guid>();
      }
      return;
    }
    auto& store = pipeline_.store_;
    try {
      if (kind_ == Kind::create) {
        Entity* target = c.target();
        Guid id = store.create(*target);
        target->id = id;
        c.primary_entity_id = id;
        c.output_parameters.insert_or_assign("id", Value(id));
      } else if (kind_ == Kind::update) {
        store.update(*c.target());
      } else if (kind_ == Kind::remove) {
        store.remove(entity_, id_);
      } else if (kind_ == Kind::retrieve) {
        auto record = store.retrieve(entity_, id_, column_set(c.input_parameters));
        if (!record) throw store::RecordNotFound(entity_, id_);
        c.output_parameters.insert_or_assign("BusinessEntity", Value(std::move(*record)));
      } else if (kind_ == Kind::retrieve_multiple) {
        const Entity& q = c.input_parameters.at("Query").as<Entity>();
        Query query;
        query.entity_name = q.logical_name;
        query.columns = column_set(c.input_parameters);
        for (const auto& [column, value] : q.attributes)
          query.conditions.emplace_back(column, value);
        query.page_size = int_parameter(c.input_parameters, "PageSize", 0);
        query.page_number = int_parameter(c.input_parameters, "PageNumber", 1);
        if (query.page_size < 0 || query.page_number < 1)
          throw bad_request(
              "RetrieveMultiple: PageSize must be 0 (no paging) or more and PageNumber 1 or more");
        c.output_parameters.insert_or_assign("BusinessEntityCollection",
                                             Value(store.retrieve_multiple(query)));
      }
      // Any other message without a stage-30 step has no main operation: its steps are the work.
    } catch (const store::RecordNotFound& e) {
      throw OperationFailed(e.what(), error_code::not_found);
    } catch (const store::DuplicateRecord& e) {
      throw OperationFailed(e.what(), error_code::duplicate);
    } catch (const store::UnstorableText& e) {
      throw bad_request(e.what());
    } catch (const store::PageTooLarge& e) {
      throw bad_request(e.what());
    }
  }

  void queue_async_steps() {
    // The last job takes the operation's context instead of a copy of it: from here on the
    // operation needs only its output parameters, which it keeps.
    const IndexedStep* last = nullptr;
    for (const IndexedStep* entry : steps_)
      if (entry->step->mode == Mode::asynchronous && should_run(*entry)) last = entry;
    for (const IndexedStep* entry : steps_) {
      const auto& s = *entry->step;
      if (s.mode != Mode::asynchronous || !should_run(*entry)) continue;
      ExecutionContext job = entry == last ? std::move(context_) : context_;
      if (entry == last) context_.output_parameters = job.output_parameters;
      job.stage = Stage::post_operation;
      job.mode = Mode::asynchronous;
      job.is_in_transaction = false;
      job.operation_id = store::time_ordered_guid();
      job.operation_created_on = now_utc();
      job.owning_extension = entry->owning_extension;
      job.user_id = s.run_as.value_or(caller_.user_id);
      job.isolation_mode = s.isolation;
      set_images(*entry, job);

      store::SystemJob row;
      row.id = job.operation_id;
      row.created_on = job.operation_created_on;
      row.step_id = s.id;
      row.step_name = s.name;
      row.regarding_entity = job.primary_entity_name;
      row.regarding_id = job.primary_entity_id;
      row.message = job.message_name;
      row.depth = job.depth;
      row.correlation_id = job.correlation_id;
      if (!s.endpoint.empty()) {
        row.endpoint = s.endpoint;
        auto* endpoint = chain_.snapshot->registration.find_endpoint(s.endpoint);
        if (endpoint && endpoint->order == registration::Ordering::per_record)
          row.ordering_key = job.primary_entity_name + ":" + job.primary_entity_id.str();
      }
      row.context = format::json::write_context(job);
      row.frozen = std::make_shared<const ExecutionContext>(std::move(job));
      pipeline_.store_.add_system_job(std::move(row));
      if (entry == last) break;  // the context is the job's now
    }
  }

  Pipeline& pipeline_;
  Pipeline::Chain& chain_;
  const Pipeline::Caller& caller_;
  const registration::HostSettings& settings_;
  const Kind kind_;
  ExecutionContext context_;
  std::string entity_;
  Guid id_;
  std::span<const IndexedStep* const> steps_;
  bool bypass_sync_ = false;
  bool bypass_async_ = false;
  std::vector<Guid> bypass_steps_;
  std::optional<Entity> pre_record_;
  std::optional<Entity> post_record_;
};

Pipeline::Pipeline(registration::Registration registration, PluginFactory& factory,
                   store::RecordStore& store, NotificationService* notification,
                   metrics::Observer* observer)
    // The caller owns this factory and keeps it for the pipeline's life.
    : Pipeline(std::move(registration),
               std::shared_ptr<PluginFactory>(std::shared_ptr<void>(), &factory), store,
               notification, observer) {}

Pipeline::Pipeline(registration::Registration registration, std::shared_ptr<PluginFactory> factory,
                   store::RecordStore& store, NotificationService* notification,
                   metrics::Observer* observer)
    : store_(store),
      notification_(notification),
      observer_(observer),
      snapshot_(std::make_shared<const Snapshot>(std::move(registration), std::move(factory))) {}

Pipeline::~Pipeline() = default;

void Pipeline::load(registration::Registration registration) {
  auto factory = snapshot_.load()->factory;
  load(std::move(registration), std::move(factory));
}

void Pipeline::load(registration::Registration registration,
                    std::shared_ptr<PluginFactory> factory) {
  snapshot_.store(std::make_shared<const Snapshot>(std::move(registration), std::move(factory)));
}

std::shared_ptr<const registration::Registration> Pipeline::registration() const {
  auto snapshot = snapshot_.load();
  return {snapshot, &snapshot->registration};
}

void Pipeline::run_job(ExecutionContext& context, const Guid& step_id,
                       std::vector<std::string>& traces) {
  Chain chain;
  chain.snapshot = snapshot_.load();
  const auto& steps = chain.snapshot->index.steps();
  auto entry = std::find_if(steps.begin(), steps.end(),
                            [&](const IndexedStep& e) { return e.step->id == step_id; });
  if (entry == steps.end() || entry->step->plugin_type.empty())
    throw OperationFailed("step " + step_id.str() +
                              " is no longer registered (or disabled, or not a plug-in step); "
                              "register it again and retry the job, or cancel it",
                          error_code::configuration);
  chain.correlation_id = context.correlation_id;
  chain.initiating_user_id = context.initiating_user_id;
  chain.user_agent = context.initiating_user_agent;
  chain.read_shared(context.shared_variables);
  chain.running.emplace_back(&*entry, context.primary_entity_id);

  context.mode = Mode::asynchronous;
  context.is_in_transaction = false;
  StepServices services(*this, chain, *entry, context);
  struct KeepTraces {
    Chain& chain;
    std::vector<std::string>& out;
    ~KeepTraces() {
      for (auto& line : chain.traces) out.push_back(std::move(line));
    }
  } keep{chain, traces};
  StepTimer timer(observer_, *entry->step);
  try {
    plugin_of(*chain.snapshot, *entry).execute(context, services);
    timer.ok = true;
  } catch (const InvalidPluginExecution&) {
    throw;
  } catch (const store::StorageFull&) {
    throw;
  } catch (const std::exception& e) {
    fail_unexpectedly(*entry->step, context, e.what());
  } catch (...) {
    fail_unexpectedly(*entry->step, context, "an exception that is not a std::exception");
  }
}

ParameterCollection Pipeline::run(Chain& chain, const Caller& caller, const std::string& message,
                                  ParameterCollection inputs) {
  return Operation(*this, chain, caller, message, std::move(inputs)).run();
}

namespace {

/// Fills `response` with what its caller is told of `failure`, thrown while it ran (or made of
/// its commit's failure).
void fail(OperationResponse& response, const OperationRequest& request,
          std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const OperationFailed& e) {
    response.outcome = Outcome::failed;
    response.error_message = e.what();
    response.error_code = e.error_code();
    response.trace_id = e.trace_id();
  } catch (const InvalidPluginExecution& e) {
    response.outcome = Outcome::rejected;
    response.error_message = e.what();
    response.error_code = e.error_code();
  } catch (const store::StorageFull& e) {
    response.outcome = Outcome::failed;
    response.error_message = std::string("the operation was not saved: ") + e.what();
    response.error_code = error_code::unexpected;
  } catch (const std::exception& e) {
    response.trace_id = Guid::random().str();
    // The table it was about, as its Target or Query names it.
    std::string table = "no table";
    for (const char* name : {"Target", "Query"})
      if (auto it = request.parameters.find(name); it != request.parameters.end()) {
        if (const auto* entity = it->second.get_if<Entity>()) table = entity->logical_name;
        if (const auto* ref = it->second.get_if<EntityReference>()) table = ref->logical_name;
      }
    log::error("trace id {}: {} of {} failed in the host (correlation {}): {}", response.trace_id,
               request.message, table, response.correlation_id.str(), e.what());
    response.outcome = Outcome::failed;
    response.error_message = "an unexpected error occurred in the host; trace id " +
                             response.trace_id + " (the host log has the details)";
    response.error_code = error_code::unexpected;
  }
}

}  // namespace

void Pipeline::pace(std::size_t jobs) {
  // A service that is behind gets the caller's patience while it works jobs off, so that
  // operations come in at its pace instead of far ahead of it: the jobs past its window would
  // wait in the database, and taking them back from there costs it more than taking them at
  // their commit, so it would fall further behind. None holds a call up for more than 20 ms (an
  // endpoint slower than the operations). One that finishes nothing for 5 ms (an endpoint that
  // does not answer, a full disk) is stalled: no call waits for it again until it finishes
  // something, so a stall costs one call 5 ms, not every call.
  constexpr std::chrono::milliseconds stall{5}, limit{20};
  constexpr auto not_stalled = static_cast<std::uint64_t>(-1);
  auto room = store_.handoff_room();
  if (room.free >= jobs) {
    if (stalled_at_.load(std::memory_order_relaxed) != not_stalled)
      stalled_at_.store(not_stalled, std::memory_order_relaxed);
    return;
  }
  if (stalled_at_.load(std::memory_order_relaxed) == room.finished) return;
  const auto started = std::chrono::steady_clock::now();
  auto progressed = started;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
    const auto now_room = store_.handoff_room();
    if (now_room.free >= jobs) break;
    const auto now = std::chrono::steady_clock::now();
    if (now_room.finished != room.finished) progressed = now;
    room = now_room;
    if (now - progressed >= stall) {
      stalled_at_.store(room.finished, std::memory_order_relaxed);
      return;
    }
    if (now - started >= limit) break;
  }
  stalled_at_.store(not_stalled, std::memory_order_relaxed);
}

OperationResponse Pipeline::execute(const OperationRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  pace(1);
  auto response = respond(request);
  if (observer_)
    observer_->operation_finished(request, response, std::chrono::steady_clock::now() - started);
  return response;
}

std::vector<OperationResponse> Pipeline::execute_batch(std::span<const OperationRequest> requests) {
  constexpr auto none = static_cast<std::size_t>(-1);
  std::vector<OperationResponse> responses;
  responses.reserve(requests.size());
  std::vector<std::chrono::steady_clock::time_point> started;
  started.reserve(requests.size());
  std::vector<std::size_t> deferred_as(requests.size(), none);  // its index in `failures`
  std::vector<std::optional<store::RecordStore::CommitFailure>> failures;
  pace(requests.size());
  {
    store::RecordStore::Batch batch(store_);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      started.push_back(std::chrono::steady_clock::now());
      const auto before = batch.deferred();
      responses.push_back(respond(requests[i]));
      if (batch.deferred() > before) deferred_as[i] = before;
    }
    failures = batch.settle();
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto& response = responses[i];
    if (deferred_as[i] != none && failures.at(deferred_as[i])) {
      const auto& failure = *failures[deferred_as[i]];
      response.output_parameters.clear();
      fail(response, requests[i],
           failure.disk_full ? std::make_exception_ptr(store::StorageFull(failure.message))
                             : std::make_exception_ptr(std::runtime_error(failure.message)));
    }
    if (observer_)
      observer_->operation_finished(requests[i], response,
                                    std::chrono::steady_clock::now() - started[i]);
  }
  return responses;
}

OperationResponse Pipeline::respond(const OperationRequest& request) {
  store::RecordStore::Activity activity(store_);
  Chain chain;
  chain.snapshot = snapshot_.load();
  const auto& settings = chain.snapshot->registration.host;
  chain.correlation_id = Guid::random();
  chain.initiating_user_id = request.user_id.value_or(settings.default_user_id);
  chain.user_agent = request.user_agent;
  chain.tag = request.tag;
  chain.trace_parent = request.trace_parent;

  Caller caller;
  caller.user_id = chain.initiating_user_id;
  caller.request_id = request.request_id.value_or(Guid::random());

  OperationResponse response;
  response.correlation_id = chain.correlation_id;
  response.request_id = caller.request_id;
  try {
    response.output_parameters = run(chain, caller, request.message, request.parameters);
  } catch (...) {
    fail(response, request, std::current_exception());
  }
  response.traces = std::move(chain.traces);
  return response;
}

}  // namespace stepline::host::pipeline
