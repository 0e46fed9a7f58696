// Contexts and values the format tests and benchmarks share: every value kind, both images and a
// parent context, so each format is exercised on everything it must carry.
#pragma once

#include <chrono>
#include <memory>

#include <stepline/entity.hpp>
#include <stepline/execution_context.hpp>

namespace stepline::samples {

inline Guid guid(const char* text) {
  return Guid::parse(text);
}

inline DateTime at_ms(std::int64_t ms) {
  return DateTime{std::chrono::milliseconds{ms}};
}

inline Entity account_image() {
  Entity e("account", guid("55555555-0000-0000-0000-0000000000ac"));
  e.set("name", "Contoso Ltd");
  e.set("revenue", Money{Decimal("180000.0000")});
  e.set("accountid", guid("55555555-0000-0000-0000-0000000000ac"));
  e.formatted_values.emplace("revenue", "$180,000.00");
  return e;
}

/// One value of every kind, keyed by the kind's name.
inline ParameterCollection every_value_kind() {
  ParameterCollection p;
  p.emplace("null", Value());
  p.emplace("string", Value("Contoso \"Ltd\" / caf\u00e9 \\ line\r\nbreak\ttab"));
  p.emplace("int", Value(std::int32_t{-42}));
  p.emplace("bigint", Value(std::int64_t{9007199254740993}));
  p.emplace("bool", Value(true));
  p.emplace("double", Value(0.1));
  p.emplace("decimal", Value(Decimal("-12.50")));
  p.emplace("money", Value(Money{Decimal("250000.0000")}));
  p.emplace("optionset", Value(OptionSetValue{7}));
  p.emplace("multioptionset", Value(OptionSetValueCollection{{1, 2, 100000000}}));
  p.emplace("datetime", Value(at_ms(1722582039123)));
  p.emplace("guid", Value(guid("99999999-0000-0000-0000-0000000000d2")));
  p.emplace(
      "entityreference",
      Value(EntityReference{"systemuser", guid("44444444-0000-0000-0000-000000000001"), "Ada"}));
  Entity contact("contact", guid("12345678-0000-0000-0000-0000000000c1"));
  contact.set("fullname", "Ada Lovelace");
  contact.set("parentcustomerid",
              EntityReference{"account", guid("55555555-0000-0000-0000-0000000000ac"), ""});
  contact.set("birthdate", at_ms(-4861728000000));
  contact.formatted_values.emplace("birthdate", "1815-12-10");
  contact.row_version = "5948260";
  p.emplace("entity", Value(contact));
  EntityCollection page;
  page.entity_name = "contact";
  page.entities.push_back(contact);
  page.entities.push_back(Entity("contact", guid("12345678-0000-0000-0000-0000000000c2")));
  page.more_records = true;
  page.paging_cookie = "<cookie page=\"1\"/>";
  page.total_record_count = 2;
  p.emplace("entitycollection", Value(page));
  return p;
}

/// An asynchronous post-operation Update of an account, run inside a main-operation parent,
/// carrying every parameter kind, both images and shared variables.
inline ExecutionContext full_context() {
  ExecutionContext parent;
  parent.message_name = "Update";
  parent.primary_entity_name = "account";
  parent.primary_entity_id = guid("55555555-0000-0000-0000-0000000000ac");
  parent.stage = Stage::main_operation;
  parent.mode = Mode::asynchronous;
  Entity submitted("account", parent.primary_entity_id);
  submitted.set("revenue", Money{Decimal("250000.0000")});
  parent.input_parameters.emplace("Target", Value(submitted));
  parent.input_parameters.emplace("SuppressDuplicateDetection", Value(false));
  parent.shared_variables.emplace("tag", Value("from-pre-validation"));
  parent.user_id = guid("44444444-0000-0000-0000-000000000001");
  parent.initiating_user_id = parent.user_id;
  parent.correlation_id = guid("22222222-0000-0000-0000-00000000000c");
  parent.operation_created_on = at_ms(1722582039000);
  parent.is_in_transaction = true;

  ExecutionContext c;
  c.message_name = "Update";
  c.primary_entity_name = "account";
  c.primary_entity_id = guid("55555555-0000-0000-0000-0000000000ac");
  c.stage = Stage::post_operation;
  c.mode = Mode::asynchronous;
  c.depth = 2;
  Entity target("account", c.primary_entity_id);
  target.attributes = every_value_kind();
  target.row_version = "9120001";
  c.input_parameters.emplace("Target", Value(target));
  c.input_parameters.emplace("SuppressDuplicateDetection", Value(false));
  c.output_parameters = every_value_kind();
  c.shared_variables.emplace("IsAutoTransact", Value(true));
  c.shared_variables.emplace("AcceptLang", Value(""));
  c.shared_variables.emplace("attempt", Value(std::int32_t{3}));
  c.pre_entity_images.emplace("pre", account_image());
  Entity primary_name("account", c.primary_entity_id);
  primary_name.set("name", "Contoso Ltd");
  c.post_entity_images.emplace("AsynchronousStepPrimaryName", primary_name);
  c.post_entity_images.emplace("post", account_image());
  c.user_id = guid("44444444-0000-0000-0000-000000000001");
  c.initiating_user_id = guid("44444444-0000-0000-0000-000000000002");
  c.business_unit_id = guid("11111111-0000-0000-0000-00000000000b");
  c.organization_id = guid("77777777-0000-0000-0000-0000000000f0");
  c.organization_name = "unq77777777000000000000000000f0";
  c.user_azure_active_directory_object_id = guid("33333333-0000-0000-0000-0000000000aa");
  c.initiating_user_azure_active_directory_object_id = guid("33333333-0000-0000-0000-0000000000ab");
  c.initiating_user_agent = "Mozilla/5.0 (X11; Linux x86_64)";
  c.correlation_id = guid("22222222-0000-0000-0000-00000000000c");
  c.request_id = guid("99999999-0000-0000-0000-0000000000d2");
  c.operation_id = guid("66666666-0000-0000-0000-0000000000a0");
  c.operation_created_on = at_ms(1722582040000);
  c.owning_extension = {"sdkmessageprocessingstep", guid("88888888-0000-0000-0000-0000000000e1"),
                        "Contoso.Sync: Update of account"};
  c.parent_context = std::make_shared<const ExecutionContext>(parent);
  c.is_in_transaction = false;
  c.isolation_mode = IsolationMode::process;
  return c;
}

/// A Create of a contact whose shared variables are `shared`: a context carrying chosen values.
inline ExecutionContext holding(ParameterCollection shared) {
  ExecutionContext c;
  c.message_name = "Create";
  c.primary_entity_name = "contact";
  c.shared_variables = std::move(shared);
  return c;
}

}  // namespace stepline::samples
