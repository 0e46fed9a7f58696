// One connection driven from bytes, without sockets: Proton's connection driver stands in for
// the proactor, and every event goes through Server::connection_event as an accepted
// connection's do. The broker's frame input can so be tested and fuzzed in-process.
#include <algorithm>
#include <cstring>

#include <proton/connection.h>
#include <proton/connection_driver.h>
#include <proton/transport.h>

#include "broker.hpp"

namespace stepline::broker {

Broker::DrivenConnection Broker::drive_connection(std::string_view input, size_t chunk) {
  pn_connection_t* c = pn_connection();
  pn_transport_t* t = pn_transport();
  configure_connection(c);
  configure_transport(t, config_, authority_);
  pn_connection_driver_t driver;
  pn_connection_driver_init(&driver, c, t);
  DrivenConnection out;
  auto run_events = [&] {
    while (pn_event_t* e = pn_connection_driver_next_event(&driver)) server_.connection_event(e);
    server_.check_undecodable(t);
    while (pn_event_t* e = pn_connection_driver_next_event(&driver)) server_.connection_event(e);
    for (pn_bytes_t w; (w = pn_connection_driver_write_buffer(&driver)).size;) {
      out.output.append(w.start, w.size);
      pn_connection_driver_write_done(&driver, w.size);
    }
  };
  run_events();
  chunk = std::max<size_t>(chunk, 1);
  while (out.taken < input.size() && !pn_connection_driver_read_closed(&driver)) {
    pn_rwbytes_t buffer = pn_connection_driver_read_buffer(&driver);
    if (!buffer.size) break;  // the broker reads no more
    size_t n = std::min({buffer.size, chunk, input.size() - out.taken});
    std::memcpy(buffer.start, input.data() + out.taken, n);
    out.taken += n;
    pn_connection_driver_read_done(&driver, n);
    run_events();
  }
  out.closed_by_broker =
      pn_connection_driver_read_closed(&driver) || pn_connection_driver_write_closed(&driver);
  // The peer goes away; the broker forgets the connection as it would a socket's.
  pn_connection_driver_read_close(&driver);
  run_events();
  pn_connection_driver_write_close(&driver);
  run_events();
  pn_connection_driver_destroy(&driver);
  return out;
}

}  // namespace stepline::broker
