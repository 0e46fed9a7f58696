// The Proton C objects behind Proton C++ wrappers, for the tests' AMQP client: it needs what
// Proton C++ 0.37 does not expose (a link's max-message-size, a disposition's condition,
// modified outcomes). This reaches into proton::internal::object, so it is written for the
// Proton version broker/CMakeLists.txt checks for; the broker itself uses Proton-C's public
// API directly and needs no such access.
#pragma once

#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/link.h>
#include <proton/session.h>
#include <proton/transport.h>

#include <proton/connection.hpp>
#include <proton/link.hpp>
#include <proton/transfer.hpp>
#include <proton/transport.hpp>

namespace stepline::broker {

template <class T>
struct Unwrap : proton::internal::object<T> {
  // A pointer to the protected accessor, named through this derived class, is allowed.
  static T* get(const proton::internal::object<T>& o) { return (o.*(&Unwrap::pn_object))(); }
};

inline pn_link_t* pn(const proton::link& l) {
  return Unwrap<pn_link_t>::get(l);
}
inline pn_delivery_t* pn(const proton::transfer& t) {
  return Unwrap<pn_delivery_t>::get(t);
}
inline pn_connection_t* pn(const proton::connection& c) {
  return Unwrap<pn_connection_t>::get(c);
}

}  // namespace stepline::broker
