#include "stepline/host/webhook/webhook_request.hpp"

#include <algorithm>
#include <cctype>

#include <rapidjson/document.h>

#include <stepline/format/format_error.hpp>

#include <stepline/azure/digest.hpp>
#include <stepline/azure/sas_token.hpp>
#include <stepline/format/binary.hpp>
#include <stepline/host/endpoints/endpoint_message.hpp>
#include <stepline/text.hpp>

#include "untrusted_json.hpp"

namespace stepline::host::webhook {
namespace {

using registration::ServiceEndpoint;

constexpr std::size_t max_message_length = 500;
// An error document nests two or three levels; a receiver's body is read no deeper than this.
constexpr std::size_t max_response_depth = 16;

std::string body_of(const ServiceEndpoint& endpoint, const ExecutionContext& context,
                    const endpoints::PostOptions& options) {
  const format::Format& format = format::format_named(endpoint.format);
  if (format.name == "json" && !options.json_body.empty()) return std::string(options.json_body);
  return format.write(context);
}

// The trace of the operation when it has one (the shared variable an HTTP request's traceparent
// became); otherwise one trace per request (its correlation id) and a new span per post.
std::string traceparent(const ExecutionContext& context) {
  auto it = context.shared_variables.find("traceparent");
  if (it != context.shared_variables.end())
    if (const auto* text = it->second.get_if<std::string>(); text && text->size() == 55)
      return *text;
  auto hex_of = [](const Guid& g, std::size_t bytes) {
    return azure::hex(std::string_view(reinterpret_cast<const char*>(g.bytes().data()), bytes));
  };
  const Guid trace = context.correlation_id.is_nil() ? Guid::random() : context.correlation_id;
  return "00-" + hex_of(trace, 16) + "-" + hex_of(Guid::random(), 8) + "-01";
}

// url + '?' or '&' + the auth query, values percent-encoded.
std::string url_with_auth(const registration::Webhook& hook) {
  std::string url = hook.url;
  if (hook.auth != registration::WebhookAuth::webhook_key &&
      hook.auth != registration::WebhookAuth::http_query_string)
    return url;
  for (const auto& [name, value] : hook.auth_values) {
    url += url.find('?') == std::string::npos ? '?' : '&';
    url += azure::encode_uri_component(name) + "=" + azure::encode_uri_component(value);
  }
  return url;
}

// The URL as it may be shown: no query (it may hold a key).
std::string shown_url(const ServiceEndpoint& endpoint) {
  if (!endpoint.webhook) return {};
  const std::string& url = endpoint.webhook->url;
  return url.substr(0, url.find('?'));
}

// The text as one line of UTF-8 for a job's error message: control characters become spaces,
// and it ends before a byte that is not UTF-8 and after max_message_length bytes (at a character's
// start).
std::string one_line(std::string_view text) {
  text = text.substr(0, input::invalid_utf8_at(text));
  std::string out;
  for (char c : text) {
    if (out.size() >= max_message_length && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      out += "…";
      break;
    }
    out += std::iscntrl(static_cast<unsigned char>(c)) ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string string_member(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

std::string sign(std::string_view key, std::string_view id, std::string_view timestamp,
                 std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  return "v1," + azure::base64_encode(azure::hmac_sha256(key, content));
}

WebhookRequest compose_request(const ServiceEndpoint& endpoint, const ExecutionContext& context,
                               const endpoints::PostOptions& options,
                               const format::ClaimCheck* reference,
                               std::chrono::system_clock::time_point now) {
  if (!endpoint.webhook)
    throw std::invalid_argument(endpoints::describe(endpoint) + " is not a webhook endpoint");
  const registration::Webhook& hook = *endpoint.webhook;
  const format::Format& format = format::format_named(endpoint.format);
  WebhookRequest out;
  http_client::Request& r = out.request;
  r.method = "POST";
  r.url = url_with_auth(hook);
  r.timeout = endpoint.timeout;
  std::string content_type(format.content_type);
  if (reference) {
    r.body = format::write_claim_check(*reference);
    content_type = format::claim_check_content_type;
  } else {
    r.body = body_of(endpoint, context, options);
    const std::size_t limit = endpoints::max_message_size(endpoint);
    if (r.body.size() > limit) {
      const std::string what = endpoints::describe(endpoint) + ": the context of " +
                               endpoints::describe(context) + " is " +
                               std::to_string(r.body.size()) + " bytes, over the limit of " +
                               std::to_string(limit) + " bytes";
      switch (endpoint.size_policy) {
        case registration::SizePolicy::fail:
          throw endpoints::MessageTooLarge(
              what +
                  ", and size_policy is fail; set size_policy: claim-check to send it whole "
                  "through Blob Storage, or raise max_message_size",
              r.body.size(), limit);
        case registration::SizePolicy::claim_check:
          out.oversized_body = std::move(r.body);
          return out;
        case registration::SizePolicy::truncate: {
          ExecutionContext slim = context;
          slim.parent_context.reset();
          slim.input_parameters.clear();
          slim.pre_entity_images.clear();
          slim.post_entity_images.clear();
          r.body = format.write(slim);
          out.truncated = true;
          if (r.body.size() > limit)
            throw endpoints::MessageTooLarge(
                what +
                    " even without ParentContext, InputParameters and images; write less "
                    "into OutputParameters and SharedVariables, or set size_policy: "
                    "claim-check",
                r.body.size(), limit);
        }
      }
    }
  }
  // A retried job is the same message to the receiver, which may drop it by this id; a
  // synchronous post is never retried.
  const std::string id = context.mode == Mode::asynchronous && !context.operation_id.is_nil()
                             ? context.operation_id.str()
                             : Guid::random().str();
  const std::string timestamp = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  auto& h = r.headers;
  h.emplace_back("Content-Type", std::move(content_type));
  h.emplace_back(header::organization, context.organization_name.empty()
                                           ? context.organization_id.str()
                                           : context.organization_name);
  h.emplace_back(header::entity_name, context.primary_entity_name);
  h.emplace_back(header::request_name, context.message_name);
  h.emplace_back(header::correlation_id, context.correlation_id.str());
  if (out.truncated) h.emplace_back(header::size_exceeded, "true");
  if (reference) h.emplace_back(header::claim_check, reference->url);
  h.emplace_back(header::traceparent, traceparent(context));
  h.emplace_back(header::id, id);
  h.emplace_back(header::timestamp, timestamp);
  if (!hook.signing_key.empty())
    h.emplace_back(header::signature, sign(hook.signing_key, id, timestamp, r.body));
  if (hook.auth == registration::WebhookAuth::http_header)
    for (const auto& [name, value] : hook.auth_values) h.emplace_back(name, value);
  return out;
}

std::string response_message(const http_client::Response& response) {
  std::string_view body = text::trim_start(response.body);
  if (body.empty()) return {};
  if (body.front() == '{') {
    // Whatever a receiver sends is read as untrusted JSON: valid UTF-8, bounded nesting. Anything
    // else falls back to the text's first line.
    rapidjson::Document document;
    bool parsed = true;
    try {
      input::read_json_document(body, document, max_response_depth);
    } catch (const format::FormatError&) {
      parsed = false;
    }
    if (parsed && document.IsObject()) {
      std::string message = string_member(document, "message");
      if (message.empty()) {
        auto error = document.FindMember("error");
        if (error != document.MemberEnd() && error->value.IsObject())
          message = string_member(error->value, "message");
        else
          message = string_member(document, "error");
      }
      if (message.empty()) {
        message = string_member(document, "title");
        std::string detail = string_member(document, "detail");
        if (!detail.empty()) message += (message.empty() ? "" : ": ") + detail;
      }
      if (!message.empty()) return one_line(message);
    }
  }
  return one_line(body.substr(0, body.find('\n')));
}

std::string outcome_context(const ServiceEndpoint& endpoint) {
  return endpoints::describe(endpoint) + ": POST " + shown_url(endpoint);
}

amqp::Outcome outcome_of(const ServiceEndpoint& endpoint, const http_client::Response& response) {
  return outcome_of(outcome_context(endpoint), response);
}

amqp::Outcome outcome_of(const std::string& where, const http_client::Response& response) {
  using http_client::Failure;
  switch (response.failure) {
    case Failure::none:
      break;
    case Failure::shutdown:
      return amqp::Outcome::shutdown(where + ": " + response.error);
    case Failure::connect:
    case Failure::network:
      return amqp::Outcome::failure(amqp::local_condition::network, where + ": " + response.error);
    case Failure::timeout:
      return amqp::Outcome::failure(
          amqp::local_condition::timeout,
          where + ": no answer within the endpoint's timeout (" + response.error + ")");
    case Failure::tls:
      return amqp::Outcome::failure(amqp::local_condition::tls,
                                    where + ": the receiver's certificate is not trusted (" +
                                        response.error +
                                        "); give its CA in host.tls_ca_file or fix the "
                                        "certificate");
    case Failure::invalid:
      return amqp::Outcome::failure(amqp::local_condition::configuration,
                                    where + ": " + response.error);
  }
  const long status = response.status;
  if (status >= 200 && status < 300) return amqp::Outcome::accepted(response.body);
  std::string description = where + " answered HTTP " + std::to_string(status);
  const bool transient = status == 408 || status == 429 || status >= 500;
  if (status == 401 || status == 403)
    description += " (unauthorized: the receiver refused the endpoint's credentials; check auth)";
  else if (status >= 300 && status < 400)
    description += " (a redirect, which is not followed: register the URL it points to)";
  if (std::string message = response_message(response); !message.empty())
    description += ": " + message;
  amqp::Outcome outcome;
  outcome.status = transient ? amqp::OutcomeStatus::transient : amqp::OutcomeStatus::permanent;
  outcome.condition = "http:" + std::to_string(status);
  outcome.description = std::move(description);
  if (transient && response.retry_after) outcome.retry_after = *response.retry_after;
  return outcome;
}

}  // namespace stepline::host::webhook
