// The registration model: host settings, plug-in libraries, service endpoints and steps as
// loaded from YAML. Every item remembers where it was declared so that later errors (a plug-in
// type that does not exist, an endpoint that refuses a post) can point back at the file and line.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stepline/azure/connection_string.hpp>
#include <stepline/azure/storage_connection_string.hpp>
#include <stepline/execution_context.hpp>
#include <stepline/guid.hpp>
#include <stepline/yaml/problems.hpp>

namespace stepline::registration {

/// file:line:column of a YAML node (1-based); one thing wrong (or doubtful) in a registration,
/// pointing at the YAML node that causes it. Messages name the field and say what to do; they
/// never contain a secret value.
using SourceLocation = yaml::Location;
using Severity = yaml::Severity;
using Problem = yaml::Problem;

/// What a committed operation survives. normal: WAL with synchronous=NORMAL, a crash of the
/// process (the last commits may be lost to a power loss or an operating-system crash, never
/// half-applied). full: synchronous=FULL, one fsync per commit (operations that commit together
/// share it), a power loss too.
enum class Durability { normal, full };

/// Where the host keeps records and system jobs: an SQLite database in the data folder (one
/// machine), or a PostgreSQL database that several hosts share (docs/SCALING.md).
enum class StoreKind { sqlite, postgresql };

struct StoreSettings {
  StoreKind kind = StoreKind::sqlite;
  /// postgresql: the libpq connection string (a postgresql:// URL or key=value pairs), resolved
  /// from ${env:..} or ${file:..}; a secret (it may hold a password), never logged.
  std::string url;
  SourceLocation where;  ///< of host.store; the registration's host section when absent
};

struct HostSettings {
  std::filesystem::path plugin_folder;  ///< relative paths resolve against the YAML file's folder
  std::filesystem::path data_folder;
  std::string log_level = "info";   ///< trace|debug|info|warn|error|off
  std::string log_format = "text";  ///< text|json
  std::string organization_name = "stepline";
  Guid organization_id;
  Guid business_unit_id;
  Guid default_user_id;   ///< the calling user when a request names none
  int max_depth = 8;      ///< nested requests deeper than this fail
  int async_workers = 2;  ///< async-service worker threads
  /// A system job whose attempts took the host process down this many times fails.
  int async_crash_limit = 3;
  Durability durability = Durability::normal;
  StoreSettings store;
  /// PEM CA bundle that amqps endpoints are verified against instead of the system store (a
  /// private CA, a broker on the development machine); relative to the YAML file's folder.
  std::filesystem::path tls_ca_file;
  SourceLocation where;
};

struct PluginLibrary {
  std::filesystem::path file;         ///< resolved against the plug-in folder
  std::optional<std::string> sha256;  ///< lower-case hex pin; the catalog refuses a mismatch
  SourceLocation where;
};

enum class Contract { queue, topic, eventhub, twoway, webhook };
enum class UserClaim { none, user_id, user_info };
enum class SizePolicy { truncate, fail, claim_check };
enum class Ordering { none, per_record };
enum class AuthMechanism { cbs, plain };

/// The YAML spelling of each value ("eventhub", "user-id", "per-record", ...).
std::string_view to_string(Contract contract) noexcept;
std::string_view to_string(UserClaim claim) noexcept;
std::string_view to_string(SizePolicy policy) noexcept;
std::string_view to_string(Ordering order) noexcept;
std::string_view to_string(AuthMechanism auth) noexcept;
std::string_view to_string(Durability durability) noexcept;
std::string_view to_string(StoreKind kind) noexcept;

/// How a webhook proves itself to its receiver: Dataverse's three auth types, or none.
enum class WebhookAuth { none, http_header, webhook_key, http_query_string };
/// "none", "http-header", "webhook-key", "http-query-string".
std::string_view to_string(WebhookAuth auth) noexcept;

/// Where and how a `contract: webhook` endpoint POSTs its contexts.
struct Webhook {
  std::string url;  ///< http:// or https://, as registered (without the auth query)
  WebhookAuth auth = WebhookAuth::none;
  /// Secret values: the headers of http_header, the query pairs of http_query_string, or
  /// {"code", key} for webhook_key. Never logged.
  std::vector<std::pair<std::string, std::string>> auth_values;
  /// Secret: the key that signs each body (webhook-signature header) when set, as bytes: the
  /// registration's `signature.secret` decoded once, "whsec_<base64>" being the key in base64 as
  /// Standard Webhooks libraries take it, any other text the key as typed.
  std::string signing_key;

  bool operator==(const Webhook&) const = default;
};

/// Who deletes a claim-checked blob: nobody (a lifecycle rule on the container expires it), or
/// whoever confirms delivery: the host after a webhook's 2xx or a two-way reply, the listener
/// after it completes a queue's message.
enum class ClaimCheckDeletion { never, after_confirm };
/// "never" or "after-confirm".
std::string_view to_string(ClaimCheckDeletion deletion) noexcept;

/// Where `size_policy: claim-check` puts a body over the limit: an Azure Blob Storage container.
struct ClaimCheck {
  /// The storage account: its connection string (key or SAS), resolved from ${env:..} or
  /// ${file:..} and parsed. Holds secrets: print it with str(), which masks them.
  azure::StorageConnectionString account;
  std::string container = "stepline-claims";
  ClaimCheckDeletion deletion = ClaimCheckDeletion::never;
  SourceLocation where;

  bool operator==(const ClaimCheck&) const = default;
};

/// How failed posts are retried; visible and documented, unlike an opaque platform schedule.
struct RetryPolicy {
  int max_attempts = 10;
  std::chrono::milliseconds base_delay{std::chrono::seconds(5)};
  std::chrono::milliseconds max_delay{std::chrono::minutes(15)};
  double jitter = 0.2;                   ///< ± fraction of each delay

  bool operator==(const RetryPolicy&) const = default;
};

/// A service endpoint as load() leaves it: every value parsed and checked once, so what uses it
/// (the endpoint poster, `stepline registration show`) reads typed values and never re-parses.
struct ServiceEndpoint {
  std::string name;
  Contract contract = Contract::queue;
  std::string format = "dataverse-json";  ///< a registered format's name (format::format_names())
  /// The connection string, resolved from ${env:..} or ${file:..} and parsed. Holds secrets:
  /// print it with str(), which masks them.
  azure::ConnectionString connection;
  /// The entity posted to: `path`, else the connection string's EntityPath; a queue, topic or
  /// hub name, or "hub/Partitions/<id>".
  std::string path;
  UserClaim user_claim = UserClaim::user_id;
  AuthMechanism auth = AuthMechanism::cbs;
  RetryPolicy retry;
  std::size_t max_message_size = 0;  ///< 0 = contract default (256 KiB; 1 MiB for event hubs)
  SizePolicy size_policy = SizePolicy::truncate;
  Ordering order = Ordering::none;
  std::string partition_key;  ///< event hubs; empty = primary entity id
  std::string reply_to;       ///< two-way; empty = a dynamic reply address
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  /// contract webhook: the URL, auth and signing (connection and path are then empty).
  std::optional<Webhook> webhook;
  /// size_policy claim-check: where bodies over the limit go.
  std::optional<ClaimCheck> claim_check;
  SourceLocation where;

  /// Every field compared, so a cache keyed on an endpoint cannot miss a field added later.
  bool operator==(const ServiceEndpoint&) const = default;
};

enum class ImageKind { pre, post, both };
/// "pre", "post" or "both".
std::string_view to_string(ImageKind kind) noexcept;

struct StepImage {
  std::string alias;
  ImageKind kind = ImageKind::pre;
  std::vector<std::string> columns;  ///< empty = every column
  SourceLocation where;
};

struct Step {
  Guid id;  ///< from `id:`, else derived from the name (stable)
  std::string name;
  std::string message;  ///< "Create", "Update", "Delete", or a custom message
  std::string entity;   ///< table logical name; empty = any table
  Stage stage = Stage::post_operation;
  Mode mode = Mode::synchronous;
  int rank = 1;
  std::vector<std::string> filtering_attributes;  ///< Update only; empty = any change
  std::string plugin_type;                        ///< handler: a plug-in type name, or
  std::string endpoint;  ///< handler: a service endpoint name (exactly one is set)
  std::string unsecure_configuration;
  std::string secure_configuration;  ///< secret
  std::vector<StepImage> images;
  bool enabled = true;
  bool can_be_bypassed = true;
  bool auto_delete = false;              ///< async: delete the system job when it succeeds
  std::optional<Guid> run_as;            ///< impersonated user; empty = the calling user
  IsolationMode isolation = IsolationMode::none;  ///< process = run in a worker process
  /// How long one execution may take; enforced for isolated steps (the worker is killed) and for
  /// async steps in process (the job fails and its worker thread is abandoned).
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  SourceLocation where;
  SourceLocation handler_where;  ///< the `plugin:` or `endpoint:` value naming the handler
};

/// A key that lets a client call `stepline serve`'s HTTP intake as `Authorization: Bearer KEY`.
struct ApiKey {
  std::string name;  ///< shown in logs instead of the key
  std::string key;   ///< secret: resolved from ${env:..} or ${file:..}, never logged
  Guid user;         ///< the calling user of its requests (host.default_user_id if unset)
  bool may_impersonate = false;  ///< whether MSCRMCallerID may name another user
  SourceLocation where;
};

/// How the Web API names a table and reads the columns whose type JSON cannot tell.
struct WebApiTable {
  std::string name;  ///< logical name, e.g. "account"
  std::string set;   ///< entity set name in URLs, e.g. "accounts"; empty = the usual plural
  /// Column name → kind: money, decimal, optionset, multioptionset, datetime, guid, bigint, …
  std::vector<std::pair<std::string, ValueKind>> columns;
  SourceLocation where;
};

/// The `http:` section: `stepline serve` takes operations over HTTP when it is present.
struct HttpSettings {
  bool enabled = false;
  std::string address = "127.0.0.1";
  int port = 8080;
  std::size_t body_limit = 1024 * 1024;
  int workers = 8;          ///< threads that run operations
  std::size_t queue = 256;  ///< requests waiting for a worker before 503
  std::size_t max_connections = 1024;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};  ///< to read one request
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};     ///< keep-alive
  std::filesystem::path tls_certificate;  ///< PEM; with tls_key, the intake speaks HTTPS
  std::filesystem::path tls_key;          ///< PEM, unencrypted
  std::vector<ApiKey> api_keys;           ///< none = no authentication (loopback only)
  std::vector<WebApiTable> tables;
  SourceLocation where;
  SourceLocation listen_where;
};

struct Registration {
  HostSettings host;
  HttpSettings http;
  std::vector<PluginLibrary> plugins;
  std::vector<ServiceEndpoint> endpoints;
  std::vector<Step> steps;
  std::vector<std::filesystem::path>
      files;                      ///< every YAML file read (the root first, then includes)
  std::vector<Problem> warnings;  ///< doubtful but loadable settings, for the host to log

  const Step* find_step(std::string_view name) const;
  const ServiceEndpoint* find_endpoint(std::string_view name) const;
};

}  // namespace stepline::registration
