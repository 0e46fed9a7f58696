// What the host offers a running plug-in: tracing, nested requests and posting to endpoints.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include <stepline/api.hpp>
#include <stepline/entity.hpp>

namespace stepline {

struct ExecutionContext;

/// Lines a plug-in writes for whoever investigates a run; kept with the operation or the job.
class STEPLINE_API TracingService {
 public:
  virtual ~TracingService();
  /// Writes one line; fmt-style: trace("revenue {} for {}", value, name).
  template <class... Args>
  void trace(fmt::format_string<Args...> format, Args&&... args) {
    write(fmt::format(format, std::forward<Args>(args)...));
  }
  virtual void write(std::string_view line) = 0;
};

/// Which columns to read.
struct ColumnSet {
  bool all_columns = false;
  std::vector<std::string> columns;

  static ColumnSet all() { return {true, {}}; }
};

/// A RetrieveMultiple query: equality conditions on columns, one page at a time.
struct Query {
  std::string entity_name;
  ColumnSet columns = ColumnSet::all();
  /// Records match when every (column, value) pair is equal (decimals and money as numbers:
  /// 12.5 matches 12.50; a null value matches a record without the column).
  std::vector<std::pair<std::string, Value>> conditions;
  /// 0 = no paging (every match).
  int page_size = 0;
  /// 1-based page number.
  int page_number = 1;
};

/// Any message by name, with its parameters (Create's "Target", a custom message's inputs).
struct OrganizationRequest {
  std::string message_name;
  ParameterCollection parameters;
};

struct OrganizationResponse {
  ParameterCollection results;
};

/// Nested requests: each runs the full pipeline at depth + 1 in the caller's transaction.
class STEPLINE_API OrganizationService {
 public:
  virtual ~OrganizationService();
  virtual Guid create(const Entity& entity) = 0;
  virtual Entity retrieve(std::string_view entity_name, const Guid& id, const ColumnSet& columns) = 0;
  virtual void update(const Entity& entity) = 0;
  virtual void remove(std::string_view entity_name, const Guid& id) = 0;
  virtual EntityCollection retrieve_multiple(const Query& query) = 0;
  virtual OrganizationResponse execute(const OrganizationRequest& request) = 0;
};

/// Posts an execution context to a registered service endpoint (queue, topic, event hub, two-way).
class STEPLINE_API NotificationService {
 public:
  virtual ~NotificationService();
  /// Returns the reply for a two-way endpoint and an empty string otherwise. From a synchronous
  /// step it waits for the outcome and throws InvalidPluginExecution on a permanent failure.
  virtual std::string post(std::string_view endpoint_name, const ExecutionContext& context) = 0;
};

class STEPLINE_API Services {
 public:
  virtual ~Services();
  virtual TracingService& tracing() = 0;
  virtual OrganizationService& organization() = 0;
  virtual NotificationService& notification() = 0;
};

}  // namespace stepline
