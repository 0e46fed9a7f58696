#include "amqp_data.hpp"

#include <cstring>

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/terminus.h>
#include <proton/timestamp.hpp>

namespace stepline::broker {

std::string text_of(pn_data_t* d) {
  switch (pn_data_type(d)) {
    case PN_STRING: {
      auto b = pn_data_get_string(d);
      return std::string(b.start, b.size);
    }
    case PN_SYMBOL: {
      auto b = pn_data_get_symbol(d);
      return std::string(b.start, b.size);
    }
    default:
      return {};
  }
}

std::string selector_of(pn_link_t* l) {
  pn_data_t* f = pn_terminus_filter(pn_link_remote_source(l));
  if (!f) return {};
  pn_data_rewind(f);
  if (!pn_data_next(f) || pn_data_type(f) != PN_MAP) return {};
  std::string selector;
  pn_data_enter(f);
  while (selector.empty() && pn_data_next(f)) {  // key
    if (!pn_data_next(f)) break;                 // value
    if (pn_data_type(f) == PN_DESCRIBED) {
      pn_data_enter(f);
      pn_data_next(f);  // descriptor
      if (pn_data_next(f)) selector = text_of(f);
      pn_data_exit(f);
    } else {
      selector = text_of(f);
    }
  }
  pn_data_exit(f);
  return selector;
}

std::map<std::string, std::string> info_map(pn_condition_t* cond) {
  std::map<std::string, std::string> out;
  pn_data_t* d = pn_condition_info(cond);
  if (!d) return out;
  pn_data_rewind(d);
  if (!pn_data_next(d) || pn_data_type(d) != PN_MAP) return out;
  pn_data_enter(d);
  while (pn_data_next(d)) {
    std::string key = text_of(d);
    if (!pn_data_next(d)) break;
    out[key] = text_of(d);
  }
  pn_data_exit(d);
  return out;
}

std::map<std::string, proton::scalar> scalar_map(pn_data_t* d) {
  std::map<std::string, proton::scalar> out;
  if (!d) return out;
  pn_data_rewind(d);
  if (!pn_data_next(d) || pn_data_type(d) != PN_MAP) return out;
  pn_data_enter(d);
  while (pn_data_next(d)) {
    std::string key = text_of(d);
    if (!pn_data_next(d)) break;
    switch (pn_data_type(d)) {
      case PN_STRING:
        out[key] = text_of(d);
        break;
      case PN_SYMBOL:
        out[key] = proton::symbol(text_of(d));
        break;
      case PN_BOOL:
        out[key] = pn_data_get_bool(d);
        break;
      case PN_INT:
        out[key] = pn_data_get_int(d);
        break;
      case PN_LONG:
        out[key] = int64_t(pn_data_get_long(d));
        break;
      case PN_UINT:
        out[key] = pn_data_get_uint(d);
        break;
      case PN_ULONG:
        out[key] = uint64_t(pn_data_get_ulong(d));
        break;
      case PN_DOUBLE:
        out[key] = pn_data_get_double(d);
        break;
      case PN_TIMESTAMP:
        out[key] = proton::timestamp(pn_data_get_timestamp(d));
        break;
      default:
        break;  // other types are not application property values the SDKs send
    }
  }
  pn_data_exit(d);
  return out;
}

bool token_of(pn_delivery_t* d, LockToken& token) {
  pn_delivery_tag_t tag = pn_delivery_tag(d);
  if (tag.size != token.size()) return false;
  std::memcpy(token.data(), tag.start, token.size());
  return true;
}

std::string link_name(pn_link_t* l) {
  return pn_link_name(l) ? pn_link_name(l) : "";
}

std::string terminus_address(pn_terminus_t* t) {
  const char* a = pn_terminus_get_address(t);
  return a ? a : "";
}

}  // namespace stepline::broker
