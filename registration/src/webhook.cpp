#include "webhook.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <stepline/azure/digest.hpp>
#include <stepline/azure/storage_connection_string.hpp>
#include <stepline/text.hpp>

#include "references.hpp"

namespace stepline::registration::detail {
namespace {

using text::lower;

// RFC 9110 token characters: what a header name may be made of.
bool is_token(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool has_control_characters(std::string_view value) {
  return std::any_of(value.begin(), value.end(),
                     [](unsigned char c) { return c < 0x20 ? c != '\t' : c == 0x7f; });
}

struct UrlParts {
  std::string scheme, userinfo, host, query;
  bool fragment = false;
};

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return parts;
  parts.scheme = lower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    parts.fragment = true;
    rest = rest.substr(0, hash);
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    parts.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    parts.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  if (!authority.empty() && authority.front() == '[')
    parts.host = std::string(authority.substr(1, authority.find(']') - 1));
  else
    parts.host = std::string(authority.substr(0, authority.find(':')));
  parts.host = lower(parts.host);
  return parts;
}

bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// The names in a query string ("a=1&b=2" -> a, b), lower case.
std::vector<std::string> query_names(std::string_view query) {
  std::vector<std::string> names;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    names.push_back(lower(pair.substr(0, pair.find('='))));
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
  }
  return names;
}

// A key written into the file travels wherever the file goes.
void warn_if_written(const SourceLocation& where, const std::string& field, std::string_view raw,
                     yaml::Problems& problems, std::string_view what) {
  if (!raw.empty() && raw.find("${") == std::string_view::npos)
    problems.warning(where, field + ": the " + std::string(what) +
                                " is written in the registration file; read it with "
                                "${env:NAME} or ${file:PATH} so the file can be shared");
}

void read_url(yaml::Mapping& m, const std::filesystem::path& folder, Webhook& hook,
              yaml::Problems& problems) {
  if (!m.require("url", "add url: https://HOST/PATH, where the receiver takes POSTs")) return;
  auto raw = m.text("url");
  if (!raw) return;
  auto url = resolve_references(*raw, folder, m.where("url"), "url", problems);
  if (!url) return;
  UrlParts parts = split_url(*url);
  const auto where = m.where("url");
  if (parts.scheme != "https" && parts.scheme != "http") {
    problems.error(where,
                   "url: must start with https:// (or http:// for a receiver on this "
                   "machine)");
    return;
  }
  if (parts.host.empty()) {
    problems.error(where, "url: names no host; write https://HOST/PATH");
    return;
  }
  if (!parts.userinfo.empty()) {
    problems.error(where,
                   "url: has a user and password before '@'; remove them and give the "
                   "credential under auth: (type: http-header)");
    return;
  }
  if (parts.fragment) {
    problems.error(where, "url: has a '#' fragment, which is never sent; remove it");
    return;
  }
  if (has_control_characters(*url) || url->find(' ') != std::string::npos) {
    problems.error(where, "url: has spaces or control characters; percent-encode them");
    return;
  }
  if (parts.scheme == "http" && !is_loopback(parts.host))
    problems.warning(
        where, "url: http:// sends the context unencrypted to " + parts.host + "; use https://");
  for (const auto& name : query_names(parts.query))
    if (name == "code" || name == "sig")
      problems.warning(where, "url: the query has '" + name +
                                  "', a key written where anyone who reads the registration or a "
                                  "log sees it; move it under auth: (type: webhook-key or "
                                  "http-query-string) with ${env:NAME}");
  hook.url = std::move(*url);
}

// headers: or query: of auth, a mapping of names to (secret) values.
void read_pairs(yaml::Mapping& auth, std::string_view key, const std::filesystem::path& folder,
                bool headers, const std::string& url_query, Webhook& hook,
                yaml::Problems& problems) {
  const yaml::Node& node = auth.node(key);
  if (!node.is_map() || node.map_size() == 0) {
    problems.error(auth.where(key),
                   auth.field(key) + ": expected a mapping of " +
                       (headers ? "header names" : "query names") + " to values, e.g. " +
                       (headers ? "x-api-key: ${env:RECEIVER_KEY}" : "sig: ${env:RECEIVER_SIG}"));
    return;
  }
  const auto in_url = query_names(url_query);
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < node.map_size(); ++i) {
    const yaml::Node& name_node = node.key(i);
    const yaml::Node& value_node = node.value(i);
    const SourceLocation where = yaml::location_of(auth.where().file, name_node);
    if (!name_node.is_scalar() || name_node.text.empty()) {
      problems.error(where, auth.field(key) + ": names must be plain, non-empty words");
      continue;
    }
    const std::string& name = name_node.text;
    const std::string field = auth.field(key) + "." + name;
    // Header names are case-insensitive; query names are compared as the receiver reads them.
    const std::string identity = headers ? lower(name) : name;
    if (std::find(seen.begin(), seen.end(), identity) != seen.end()) {
      problems.error(where, field + ": '" + name + "' appears twice; keep one");
      continue;
    }
    seen.push_back(identity);
    if (headers && !is_token(name)) {
      problems.error(where, field + ": '" + name +
                                "' is not a valid header name (letters, "
                                "digits and !#$%&'*+-.^_`|~ only)");
      continue;
    }
    if (headers && is_reserved_webhook_header(name)) {
      problems.error(where, field + ": Stepline sets the " + name +
                                " header itself; choose another header name");
      continue;
    }
    if (!headers && std::find(in_url.begin(), in_url.end(), lower(name)) != in_url.end()) {
      problems.error(
          where, field + ": the url already has '" + name + "' in its query; keep it in one place");
      continue;
    }
    if (!value_node.is_scalar()) {
      problems.error(where, field + ": expected a single value");
      continue;
    }
    const std::string& raw = value_node.text;
    warn_if_written(where, field, raw, problems, headers ? "header value" : "query value");
    auto value = resolve_references(raw, folder, where, field, problems);
    if (!value) continue;
    if (has_control_characters(*value)) {
      problems.error(where, field +
                                ": the value has a line break or control character; a "
                                "header value is one line");
      continue;
    }
    hook.auth_values.emplace_back(name, std::move(*value));
  }
}

void read_auth(yaml::Mapping& m, const std::filesystem::path& folder, Webhook& hook,
               yaml::Problems& problems) {
  if (!m.has("auth")) return;
  if (!m.node("auth").is_map()) {
    problems.error(m.where("auth"),
                   "auth: a webhook's auth is a mapping, e.g. {type: webhook-key, key: "
                   "${env:FUNCTION_KEY}}; cbs and plain are for AMQP endpoints");
    return;
  }
  yaml::Mapping auth(m.node("auth"), m.where().file, "the auth of " + m.what(), "auth.",
                     {"type", "key", "headers", "query"}, problems);
  if (!auth.ok()) return;
  if (!auth.require("type", "add type: http-header, webhook-key or http-query-string")) return;
  auto type =
      auth.choice<WebhookAuth>("type", {{"http-header", WebhookAuth::http_header},
                                        {"webhook-key", WebhookAuth::webhook_key},
                                        {"http-query-string", WebhookAuth::http_query_string},
                                        {"HttpHeader", WebhookAuth::http_header},
                                        {"WebhookKey", WebhookAuth::webhook_key},
                                        {"HttpQueryString", WebhookAuth::http_query_string},
                                        {"none", WebhookAuth::none}});
  if (!type) return;
  hook.auth = *type;
  const std::string_view wanted = *type == WebhookAuth::webhook_key         ? "key"
                                  : *type == WebhookAuth::http_header       ? "headers"
                                  : *type == WebhookAuth::http_query_string ? "query"
                                                                            : "";
  for (std::string_view key : {"key", "headers", "query"})
    if (auth.has(key) && key != wanted)
      problems.error(
          auth.where(key),
          auth.field(key) + ": type " + std::string(to_string(*type)) + " takes " +
              (wanted.empty() ? std::string("nothing else") : "'" + std::string(wanted) + "'") +
              "; remove it or change the type");
  const std::string url_query = split_url(hook.url).query;
  switch (*type) {
    case WebhookAuth::none:
      break;
    case WebhookAuth::webhook_key: {
      if (!auth.require("key", "add key: ${env:NAME}, the function or host key sent as ?code="))
        break;
      auto raw = auth.text("key");
      if (!raw) break;
      warn_if_written(auth.where("key"), "auth.key", *raw, problems, "key");
      auto key = resolve_references(*raw, folder, auth.where("key"), "auth.key", problems);
      if (!key) break;
      const auto in_url = query_names(url_query);
      if (std::find(in_url.begin(), in_url.end(), "code") != in_url.end())
        problems.error(auth.where("key"),
                       "auth.key: the url already has code= in its query; remove it from the "
                       "url");
      else if (key->empty())
        problems.error(auth.where("key"), "auth.key: the key is empty");
      else
        hook.auth_values.emplace_back("code", std::move(*key));
      break;
    }
    case WebhookAuth::http_header:
      if (auth.require("headers", "add headers: with one or more NAME: VALUE lines"))
        read_pairs(auth, "headers", folder, true, url_query, hook, problems);
      break;
    case WebhookAuth::http_query_string:
      if (auth.require("query", "add query: with one or more NAME: VALUE lines"))
        read_pairs(auth, "query", folder, false, url_query, hook, problems);
      break;
  }
}

void read_signature(yaml::Mapping& m, const std::filesystem::path& folder, Webhook& hook,
                    yaml::Problems& problems) {
  if (!m.has("signature")) return;
  yaml::Mapping signature(m.node("signature"), m.where().file, "the signature of " + m.what(),
                          "signature.", {"secret"}, problems);
  if (!signature.ok()) return;
  if (!signature.require("secret", "add secret: ${env:NAME}, the key shared with the receiver"))
    return;
  auto raw = signature.text("secret");
  if (!raw) return;
  warn_if_written(signature.where("secret"), "signature.secret", *raw, problems, "secret");
  auto secret =
      resolve_references(*raw, folder, signature.where("secret"), "signature.secret", problems);
  if (!secret) return;
  std::string key = std::move(*secret);
  if (key.starts_with("whsec_")) {
    auto decoded = azure::base64_decode(std::string_view(key).substr(6));
    if (!decoded) {
      problems.error(signature.where("secret"),
                     "signature.secret: after whsec_ comes the key in base64, and this is not "
                     "base64; generate one with: echo whsec_$(openssl rand -base64 32)");
      return;
    }
    key = std::move(*decoded);
  }
  if (key.size() < 16) {
    problems.error(signature.where("secret"),
                   "signature.secret: the key has " + std::to_string(key.size()) +
                       " bytes; use at least 16 (32 random bytes are usual: echo whsec_$(openssl "
                       "rand -base64 32))");
    return;
  }
  hook.signing_key = std::move(key);
}

bool valid_container_name(std::string_view name) {
  if (name.size() < 3 || name.size() > 63 || name.front() == '-' || name.back() == '-')
    return false;
  if (name.find("--") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '-';
  });
}

}  // namespace

bool is_reserved_webhook_header(std::string_view name) {
  static constexpr std::array<std::string_view, 12> reserved = {"content-type",
                                                                "content-length",
                                                                "content-encoding",
                                                                "host",
                                                                "transfer-encoding",
                                                                "connection",
                                                                "expect",
                                                                "traceparent",
                                                                "webhook-id",
                                                                "webhook-timestamp",
                                                                "webhook-signature",
                                                                "x-ms-correlation-request-id"};
  std::string l = lower(name);
  return l.starts_with("x-ms-dynamics-") || l.starts_with("x-stepline-") ||
         std::find(reserved.begin(), reserved.end(), l) != reserved.end();
}

void read_webhook(yaml::Mapping& m, const std::filesystem::path& folder, ServiceEndpoint& endpoint,
                  yaml::Problems& problems) {
  Webhook hook;
  read_url(m, folder, hook, problems);
  read_auth(m, folder, hook, problems);
  read_signature(m, folder, hook, problems);
  for (std::string_view key : {"connection", "path", "reply_to", "partition_key"})
    if (m.has(key))
      problems.error(m.where(key), std::string(key) +
                                       ": webhook endpoints POST to their url: and take no " +
                                       std::string(key) + "; remove it");
  for (std::string_view key : {"user_claim", "order"})
    if (m.has(key))
      problems.warning(m.where(key),
                       std::string(key) + ": webhook posts carry no " +
                           (key == "order" ? "session or partition key" : "user claim properties") +
                           "; remove it");
  endpoint.webhook = std::move(hook);
}

void read_claim_check(yaml::Mapping& m, const std::filesystem::path& folder, ServiceEndpoint& e,
                      yaml::Problems& problems) {
  const bool wanted = e.size_policy == SizePolicy::claim_check;
  if (!m.has("claim_check")) {
    if (wanted)
      problems.error(m.where("size_policy"),
                     "size_policy: claim-check needs a claim_check: block with connection: "
                     "${env:NAME} (an Azure Storage connection string) and container:");
    return;
  }
  if (!wanted)
    problems.warning(m.where("claim_check"),
                     "claim_check: is used only with size_policy: claim-check; set it or remove "
                     "the block");
  yaml::Mapping block(m.node("claim_check"), m.where().file, "the claim_check of " + m.what(),
                      "claim_check.", {"connection", "container", "delete"}, problems);
  if (!block.ok()) return;
  ClaimCheck claim;
  claim.where = block.where();
  if (block.require("connection",
                    "add connection: ${env:NAME} naming a variable that holds an Azure Storage "
                    "connection string")) {
    if (auto raw = block.text("connection")) {
      if (auto parts = azure::split_connection_string(*raw))
        for (const auto& part : *parts)
          if ((part.key == "AccountKey" || part.key == "SharedAccessSignature") &&
              part.value.find("${") == std::string::npos && !part.value.empty())
            problems.warning(block.where("connection"),
                             "claim_check.connection: the " + part.key +
                                 " is written in the registration file; read it with "
                                 "${env:NAME} or ${file:PATH} so the file can be shared");
      if (auto text = resolve_references(*raw, folder, block.where("connection"),
                                         "claim_check.connection", problems)) {
        auto complaints = azure::check_storage_connection_string(*text);
        for (const auto& complaint : complaints)
          problems.error(block.where("connection"), "claim_check.connection: " + complaint);
        // Parsed once here: the poster uses the value as it is.
        if (complaints.empty()) {
          try {
            claim.account = azure::StorageConnectionString::parse(*text);
          } catch (const azure::ConnectionStringError& error) {
            problems.error(block.where("connection"),
                           std::string("claim_check.connection: ") + error.what());
          }
        }
      }
    }
  }
  if (auto v = block.text("container")) {
    if (valid_container_name(*v))
      claim.container = *v;
    else
      problems.error(block.where("container"),
                     "claim_check.container: '" + *v +
                         "' is not a container name: 3 to 63 lower-case letters, digits and "
                         "single hyphens, starting and ending with a letter or digit");
  }
  if (auto v = block.choice<ClaimCheckDeletion>(
          "delete", {{"never", ClaimCheckDeletion::never},
                     {"after-confirm", ClaimCheckDeletion::after_confirm}})) {
    claim.deletion = *v;
    if (*v == ClaimCheckDeletion::after_confirm &&
        (e.contract == Contract::topic || e.contract == Contract::eventhub))
      problems.error(block.where("delete"),
                     "claim_check.delete: after-confirm needs one reader that confirms, and a " +
                         std::string(to_string(e.contract)) +
                         " has many; use never and let a lifecycle rule on the container delete "
                         "old blobs");
  }
  e.claim_check = std::move(claim);
}

}  // namespace stepline::registration::detail
