// The Proton C objects behind Proton C++ wrappers. The broker needs a few things Proton C++
// 0.37 does not expose: link max-message-size and settle modes, modified outcomes, disposition
// conditions and refusing an attach with a null terminus.
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
