#include <stepline/registration/model.hpp>

#include <algorithm>

namespace stepline::registration {

std::string_view to_string(Contract contract) noexcept {
  switch (contract) {
    case Contract::queue:
      return "queue";
    case Contract::topic:
      return "topic";
    case Contract::eventhub:
      return "eventhub";
    case Contract::twoway:
      return "twoway";
    case Contract::webhook:
      return "webhook";
  }
  return "unknown";
}

std::string_view to_string(UserClaim claim) noexcept {
  switch (claim) {
    case UserClaim::none:
      return "none";
    case UserClaim::user_id:
      return "user-id";
    case UserClaim::user_info:
      return "user-info";
  }
  return "unknown";
}

std::string_view to_string(SizePolicy policy) noexcept {
  switch (policy) {
    case SizePolicy::truncate:
      return "truncate";
    case SizePolicy::fail:
      return "fail";
    case SizePolicy::claim_check:
      return "claim-check";
  }
  return "unknown";
}

std::string_view to_string(WebhookAuth auth) noexcept {
  switch (auth) {
    case WebhookAuth::none:
      return "none";
    case WebhookAuth::http_header:
      return "http-header";
    case WebhookAuth::webhook_key:
      return "webhook-key";
    case WebhookAuth::http_query_string:
      return "http-query-string";
  }
  return "unknown";
}

std::string_view to_string(ClaimCheckDeletion deletion) noexcept {
  return deletion == ClaimCheckDeletion::never ? "never" : "after-confirm";
}

std::string_view to_string(Durability durability) noexcept {
  return durability == Durability::normal ? "normal" : "full";
}

std::string_view to_string(StoreKind kind) noexcept {
  return kind == StoreKind::sqlite ? "sqlite" : "postgresql";
}

std::string_view to_string(Ordering order) noexcept {
  return order == Ordering::none ? "none" : "per-record";
}

std::string_view to_string(AuthMechanism auth) noexcept {
  return auth == AuthMechanism::cbs ? "cbs" : "plain";
}

std::string_view to_string(ImageKind kind) noexcept {
  switch (kind) {
    case ImageKind::pre:
      return "pre";
    case ImageKind::post:
      return "post";
    case ImageKind::both:
      return "both";
  }
  return "unknown";
}

const Step* Registration::find_step(std::string_view name) const {
  auto it = std::find_if(steps.begin(), steps.end(), [&](const Step& s) { return s.name == name; });
  return it == steps.end() ? nullptr : &*it;
}

const ServiceEndpoint* Registration::find_endpoint(std::string_view name) const {
  auto it = std::find_if(endpoints.begin(), endpoints.end(),
                         [&](const ServiceEndpoint& e) { return e.name == name; });
  return it == endpoints.end() ? nullptr : &*it;
}

}  // namespace stepline::registration
