// The credit responder's reply, as Samples.CheckCredit reads it: "approved", or
// "declined: <reason>" with a reason the caller can act on.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include <stepline/text.hpp>

namespace samples {

struct CreditDecision {
  bool approved = false;
  std::string reason;  ///< why it was declined; empty when approved
};

/// Reads a reply body; throws std::invalid_argument for anything else (quoting the reply).
inline CreditDecision parse_credit_decision(std::string_view reply) {
  using stepline::text::trim;
  reply = trim(reply);
  if (reply == "approved") return {true, {}};
  constexpr std::string_view declined = "declined";
  if (reply.starts_with(declined)) {
    std::string_view rest = reply.substr(declined.size());
    if (rest.empty()) return {false, "no reason given"};
    if (rest.front() == ':') {
      std::string_view reason = trim(rest.substr(1));
      return {false, std::string(reason.empty() ? "no reason given" : reason)};
    }
  }
  throw std::invalid_argument("the credit check replied '" + std::string(reply) +
                              "'; expected 'approved' or 'declined: <reason>'");
}

/// The responder's side of the same rule: orders up to `limit` are approved.
inline std::string decide_credit(double amount, double limit) {
  if (amount <= limit) return "approved";
  return fmt::format("declined: the amount {:.2f} is over the credit limit of {:.2f}", amount,
                     limit);
}

}  // namespace samples
