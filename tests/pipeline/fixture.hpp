// Shared pieces of the pipeline tests: in-process plug-ins made from lambdas, a factory that
// serves them, a temporary data folder, and a builder for registrations.
#pragma once

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <stepline/host/pipeline/pipeline.hpp>
#include <stepline/host/pipeline/plugin_factory.hpp>
#include <stepline/host/store/record_store.hpp>
#include <stepline/host/store/sqlite_record_store.hpp>
#include <stepline/plugin.hpp>

namespace stepline::test {

using Body = std::function<void(ExecutionContext&, Services&)>;

class LambdaPlugin : public Plugin {
 public:
  LambdaPlugin(Body body, std::string unsecure)
      : Plugin(std::move(unsecure), ""), body_(std::move(body)) {}
  void execute(ExecutionContext& context, Services& services) override { body_(context, services); }

 private:
  Body body_;
};

class TestFactory : public host::pipeline::PluginFactory {
 public:
  void add(const std::string& type, Body body) { bodies_[type] = std::move(body); }
  std::shared_ptr<Plugin> create(const std::string& type, const std::string& unsecure,
                                 const std::string& secure) override {
    ++created;
    auto it = bodies_.find(type);
    if (it == bodies_.end()) throw std::runtime_error("no plug-in type named '" + type + "'");
    return std::make_shared<LambdaPlugin>(it->second, unsecure);
  }
  std::atomic<int> created{0};

 private:
  std::map<std::string, Body> bodies_;
};

/// A fresh folder under the system temp folder, removed at the end of the test.
class TempFolder {
 public:
  TempFolder() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "stepline-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline Guid fixed_guid(int n) {
  char text[40];
  std::snprintf(text, sizeof text, "00000000-0000-0000-0000-%012d", n);
  return Guid::parse(text);
}

inline registration::Step make_step(std::string name, std::string message, std::string entity,
                                    Stage stage, std::string plugin_type, int rank = 1) {
  registration::Step s;
  s.id = Guid::random();
  s.name = std::move(name);
  s.message = std::move(message);
  s.entity = std::move(entity);
  s.stage = stage;
  s.rank = rank;
  s.plugin_type = std::move(plugin_type);
  s.where = {"test.yaml", 1, 1};
  return s;
}

inline registration::Registration make_registration(std::vector<registration::Step> steps) {
  registration::Registration r;
  r.host.organization_name = "contoso";
  r.host.organization_id = fixed_guid(1);
  r.host.business_unit_id = fixed_guid(2);
  r.host.default_user_id = fixed_guid(3);
  r.steps = std::move(steps);
  return r;
}

/// A record store in a temp folder and a pipeline over it.
struct Rig {
  explicit Rig(std::vector<registration::Step> steps)
      : store(data.path() / "stepline.db"),
        pipeline(make_registration(std::move(steps)), factory, store) {}
  Rig(registration::Registration registration)
      : store(data.path() / "stepline.db"), pipeline(std::move(registration), factory, store) {}

  host::pipeline::OperationResponse create(Entity e) {
    return pipeline.execute({.message = "Create", .parameters = {{"Target", Value(std::move(e))}}});
  }
  host::pipeline::OperationResponse update(Entity e, ParameterCollection extra = {}) {
    extra.insert_or_assign("Target", Value(std::move(e)));
    return pipeline.execute({.message = "Update", .parameters = std::move(extra)});
  }
  host::pipeline::OperationResponse remove(std::string entity, Guid id) {
    return pipeline.execute(
        {.message = "Delete", .parameters = {{"Target", Value(EntityReference{entity, id, {}})}}});
  }
  std::optional<Entity> read(const std::string& entity, const Guid& id) {
    return store.retrieve(entity, id, ColumnSet::all());
  }

  TempFolder data;
  TestFactory factory;
  host::store::SqliteRecordStore store;
  host::pipeline::Pipeline pipeline;
};

inline Entity account(const std::string& name) {
  Entity e("account");
  e.set("name", Value(name));
  return e;
}

}  // namespace stepline::test
