// What a webhook receiver answers: any status, headers and body (a hostile or broken receiver
// included). The outcome is always classified, and its description is one line of bounded
// length that names the endpoint and never the URL's query, where a key may be.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <stepline/host/webhook/webhook_request.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stepline;
  if (size < 2) return 0;
  host::http_client::Response response;
  response.status = 100 + (data[0] | (data[1] << 8)) % 500;
  response.body.assign(reinterpret_cast<const char*>(data) + 2, size - 2);
  registration::ServiceEndpoint endpoint;
  endpoint.name = "hook";
  endpoint.contract = registration::Contract::webhook;
  registration::Webhook hook;
  hook.url = "https://receiver.example/api?code=Zq9Xv3Kp7Lm2";
  endpoint.webhook = hook;
  const auto outcome = host::webhook::outcome_of(endpoint, response);
  const std::string message = host::webhook::response_message(response);
  // The receiver may echo anything, the key too: only a key it did not send is a leak of the URL.
  const bool echoed = response.body.find("Zq9Xv3Kp7Lm2") != std::string::npos;
  if (message.find('\n') != std::string::npos || message.size() > 600 ||
      (!echoed && outcome.description.find("Zq9Xv3Kp7Lm2") != std::string::npos) ||
      outcome.description.find('\n') != std::string::npos) {
    std::fprintf(stderr, "bad description: %s\n", outcome.description.c_str());
    std::abort();
  }
  return 0;
}
