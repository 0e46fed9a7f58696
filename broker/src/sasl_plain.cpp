// The one unit that uses Proton's SASL plug-in interface (proton/sasl_plugin.h, which Proton
// marks internal): the server side of SASL PLAIN checked against the broker's SAS policies, and
// ANONYMOUS. Proton-C's built-in SASL (without Cyrus) offers no PLAIN on the server side, and
// Cyrus would check passwords against sasldb. Because the interface may change between Proton
// releases, broker/CMakeLists.txt refuses to configure against a Proton version this file was
// not written for.
#include <cstdlib>
#include <string>
#include <string_view>

#include <proton/object.h>
#include <proton/sasl_plugin.h>

#include "auth.hpp"

namespace stepline::broker {
namespace {

// Server side of Proton's SASL plug-in interface. The built-in implementation (without Cyrus)
// offers no PLAIN on the server side, and Cyrus would check passwords against sasldb, not the
// broker's policies.
const char* list_mechanisms(pn_transport_t*) {
  return "PLAIN ANONYMOUS";
}

bool init_server(pn_transport_t* t) {
  pnx_sasl_set_desired_state(t, SASL_POSTED_MECHANISMS);
  return true;
}

bool init_client(pn_transport_t*) {
  return false;
}
void prepare_write(pn_transport_t*) {}

PN_HANDLE(SELECTED_MECHANISM)

// Proton 0.37 copies each sasl-init's mechanism into the transport and, on a second sasl-init
// (which it also takes after the AMQP header), overwrites the pointer without freeing the first:
// a peer could leak up to a frame's size per frame. Proton passes its copy here and frees only
// the last one with the transport, so the one it forgot is freed here.
void free_replaced_mechanism(pn_transport_t* t, const char* mechanism) {
  pn_record_t* record = pn_transport_attachments(t);
  pn_record_def(record, SELECTED_MECHANISM, PN_VOID);
  auto* previous = static_cast<char*>(pn_record_get(record, SELECTED_MECHANISM));
  if (previous && previous != mechanism) std::free(previous);
  pn_record_set(record, SELECTED_MECHANISM, const_cast<char*>(mechanism));
}

void process_init(pn_transport_t* t, const char* mechanism, const pn_bytes_t* recv) {
  free_replaced_mechanism(t, mechanism);
  // Proton keeps the user name pointer: pass storage that outlives the transport.
  // A sasl-init whose mechanism is not a symbol gives none.
  const std::string_view chosen = mechanism ? mechanism : "";
  const char* user = nullptr;
  if (chosen == "ANONYMOUS") {
    user = "anonymous";
  } else if (chosen == "PLAIN" && recv) {
    const auto* authority = static_cast<const Authority*>(pnx_sasl_get_context(t));
    // authzid NUL authcid NUL password
    std::string s(recv->start, recv->size);
    size_t a = s.find('\0');
    size_t b = a == std::string::npos ? a : s.find('\0', a + 1);
    if (b != std::string::npos) {
      const SasPolicy* p = authority->login(s.substr(a + 1, b - a - 1), s.substr(b + 1));
      if (p && p->name != "anonymous") user = p->name.c_str();
    }
  }
  if (user)
    pnx_sasl_set_succeeded(t, user, nullptr);
  else
    pnx_sasl_set_failed(t);
  pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
}

void process_response(pn_transport_t* t, const pn_bytes_t*) {
  pnx_sasl_set_failed(t);
  pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
}

bool process_mechanisms(pn_transport_t*, const char*) {
  return false;
}
void process_challenge(pn_transport_t*, const pn_bytes_t*) {}
void process_outcome(pn_transport_t*, const pn_bytes_t*) {}
void free_impl(pn_transport_t*) {}
bool can_encrypt(pn_transport_t*) {
  return false;
}
ssize_t max_encrypt_size(pn_transport_t*) {
  return 0;
}
ssize_t no_codec(pn_transport_t*, pn_bytes_t, pn_bytes_t*) {
  return 0;
}

const pnx_sasl_implementation broker_sasl = {
    free_impl,    list_mechanisms,  init_server,        init_client,       prepare_write,
    process_init, process_response, process_mechanisms, process_challenge, process_outcome,
    can_encrypt,  max_encrypt_size, no_codec,           no_codec};

}  // namespace

void Authority::use_sasl(pn_transport_t* t) const {
  pnx_sasl_set_implementation(t, &broker_sasl, const_cast<Authority*>(this));
}

}  // namespace stepline::broker
