// The context the endpoint and webhook benchmarks post: a post-operation Update of an account with
// a small target, the smallest realistic one (about 1.5 KiB in dataverse-json, 1.2 KiB in json;
// most of it is the fixed members).
#pragma once

#include <stepline/date_time.hpp>
#include <stepline/execution_context.hpp>

namespace stepline::bench {

inline ExecutionContext kibibyte_context() {
  ExecutionContext c;
  c.message_name = "Update";
  c.primary_entity_name = "account";
  c.primary_entity_id = Guid::random();
  c.stage = Stage::post_operation;
  c.mode = Mode::asynchronous;
  Entity target("account", c.primary_entity_id);
  target.set("name", "Contoso Ltd");
  target.set("revenue", Money{Decimal("250000.0000")});
  c.input_parameters.emplace("Target", Value(target));
  c.user_id = c.initiating_user_id = Guid::random();
  c.organization_id = Guid::random();
  c.organization_name = "contoso";
  c.business_unit_id = Guid::random();
  c.correlation_id = Guid::random();
  c.operation_id = Guid::random();
  c.operation_created_on = now_utc();
  return c;
}

}  // namespace stepline::bench
