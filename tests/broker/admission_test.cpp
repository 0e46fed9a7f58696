// Admission bookkeeping: per-address and unauthenticated limits, the counters, timeouts.
#include <doctest/doctest.h>

#include "admission.hpp"

using namespace stepline::broker;

TEST_CASE("admission counts connections per address and until they authenticate") {
  ConnectionLimits limits;
  limits.max_connections_per_address = 2;
  limits.max_unauthenticated_connections = 3;
  limits.authentication_timeout = Millis(1000);
  Counters counters;
  Admission admission(limits, counters);
  int a = 0, b = 0, c = 0, d = 0, e = 0;
  using V = Admission::Verdict;
  CHECK(admission.admit(&a, "10.0.0.1", 0) == V::admitted);
  CHECK(admission.admit(&b, "10.0.0.1", 0) == V::admitted);
  CHECK(admission.admit(&c, "10.0.0.1", 0) == V::too_many_from_address);
  CHECK(admission.refused(&c));
  CHECK(admission.admit(&d, "10.0.0.2", 0) == V::admitted);
  CHECK(admission.admit(&e, "10.0.0.3", 0) == V::too_many_unauthenticated);
  CHECK(counters.connections_refused_per_address == 1);
  CHECK(counters.connections_refused_unauthenticated == 1);

  admission.authenticated(&a);
  admission.authenticated(&a);  // twice counts once
  CHECK(admission.is_authenticated(&a));
  CHECK(admission.unauthenticated() == 2);
  CHECK(admission.overdue(999).empty());
  CHECK(admission.overdue(1000).size() == 2);  // b and d; a has authenticated

  admission.closed(&c);  // a refused one frees nothing it never held
  admission.closed(&e);
  admission.closed(&b);
  int f = 0;
  CHECK(admission.admit(&f, "10.0.0.1", 5) == V::admitted);  // b's place
  CHECK(admission.unauthenticated() == 2);
  CHECK(!admission.known(&b));
}
