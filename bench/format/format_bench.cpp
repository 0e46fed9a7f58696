// Serialize and parse a 20-attribute Update context (mixed value kinds, a pre-image) in every
// format. Bytes/s is the body size; items/s is contexts per second. Two baselines measured in
// the same run give the ratios: a deep copy of the context (what any serializer at least has
// to walk) and RapidJSON building a DOM from the json body (what any JSON reader at least pays).
#include <benchmark/benchmark.h>

#include <rapidjson/document.h>

#include <stepline/format/binary.hpp>
#include <stepline/format/format.hpp>

using namespace stepline;
using stepline::format::Format;

namespace {

Guid id(int n) {
  std::array<std::uint8_t, 16> bytes{};
  bytes[0] = 0x55;
  bytes[15] = static_cast<std::uint8_t>(n);
  return Guid(bytes);
}

DateTime at(std::int64_t ms) {
  return DateTime{std::chrono::milliseconds{ms}};
}

ExecutionContext update_context() {
  ExecutionContext c;
  c.message_name = "Update";
  c.primary_entity_name = "account";
  c.primary_entity_id = id(1);
  c.stage = Stage::post_operation;
  c.mode = Mode::asynchronous;
  Entity target("account", c.primary_entity_id);
  target.set("name", "Contoso Ltd");
  target.set("accountnumber", "AC-000184");
  target.set("telephone1", "+44 20 7946 0958");
  target.set("emailaddress1", "info@contoso.example");
  target.set("description", "Key account for the northern region; renewals every March.");
  target.set("numberofemployees", std::int32_t{4200});
  target.set("address1_utcoffset", std::int32_t{-300});
  target.set("importsequencenumber", std::int32_t{17});
  target.set("versionnumber", std::int64_t{9120001734});
  target.set("donotemail", false);
  target.set("creditonhold", true);
  target.set("exchangerate", 1.0842);
  target.set("sharesoutstanding_ratio", Decimal("0.3750"));
  target.set("revenue", Money{Decimal("250000.0000")});
  target.set("creditlimit", Money{Decimal("50000.0000")});
  target.set("industrycode", OptionSetValue{7});
  target.set("contoso_regions", OptionSetValueCollection{{1, 3, 4}});
  target.set("modifiedon", at(1722582039000));
  target.set("lastusedincampaign", at(1719792000000));
  target.set("modifiedby", EntityReference{"systemuser", id(2), "Ada Lovelace"});
  target.row_version = "9120001";
  c.input_parameters.emplace("Target", Value(target));
  Entity pre("account", c.primary_entity_id);
  pre.set("name", "Contoso Ltd");
  pre.set("revenue", Money{Decimal("180000.0000")});
  pre.set("industrycode", OptionSetValue{3});
  pre.set("modifiedon", at(1719792000000));
  pre.formatted_values.emplace("revenue", "$180,000.00");
  c.pre_entity_images.emplace("pre", pre);
  c.shared_variables.emplace("IsAutoTransact", Value(true));
  c.shared_variables.emplace("AcceptLang", Value(""));
  c.user_id = c.initiating_user_id = id(2);
  c.business_unit_id = id(3);
  c.organization_id = id(4);
  c.organization_name = "unq77777777000000000000000000f0";
  c.correlation_id = id(5);
  c.request_id = id(6);
  c.operation_id = id(7);
  c.operation_created_on = at(1722582040000);
  c.owning_extension = {"sdkmessageprocessingstep", id(8), "Contoso.Sync: Update of account"};
  return c;
}

const ExecutionContext& context() {
  static const ExecutionContext c = update_context();
  return c;
}

void serialize(benchmark::State& state, const Format* f) {
  const ExecutionContext& c = context();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = f->write(c);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(state.iterations());
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

void parse(benchmark::State& state, const Format* f) {
  const std::string body = f->write(context());
  for (auto _ : state) {
    ExecutionContext back = f->read(body);
    benchmark::DoNotOptimize(back.depth);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(state.iterations());
}

void baseline_copy(benchmark::State& state) {
  const ExecutionContext& c = context();
  for (auto _ : state) {
    ExecutionContext copy = c;
    benchmark::DoNotOptimize(copy.depth);
  }
  state.SetItemsProcessed(state.iterations());
}

void baseline_rapidjson_dom(benchmark::State& state) {
  const std::string body = format::serialize(context(), "json");
  for (auto _ : state) {
    rapidjson::Document d;
    d.Parse(body.data(), body.size());
    benchmark::DoNotOptimize(d.IsObject());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(state.iterations());
}

void register_all() {
  // Every registered format: the SDK's, and binary from stepline_sdk_amqp.
  format::binary::format();
  for (std::string_view name : format::format_names()) {
    const Format* f = &format::format_named(name);
    benchmark::RegisterBenchmark(("serialize/" + std::string(name)).c_str(), serialize, f);
    benchmark::RegisterBenchmark(("parse/" + std::string(name)).c_str(), parse, f);
  }
  benchmark::RegisterBenchmark("baseline/copy_context", baseline_copy);
  benchmark::RegisterBenchmark("baseline/rapidjson_dom_of_json", baseline_rapidjson_dom);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
