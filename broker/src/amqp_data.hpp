// Reading the AMQP values the broker needs from Proton-C's data trees and endpoints: a text
// value, an Event Hubs consumer's selector filter, a disposition's info map and
// properties-to-modify, a lock token from a delivery tag, a link's name and addresses.
#pragma once

#include <map>
#include <string>

#include <proton/scalar.hpp>

#include "queue.hpp"

struct pn_data_t;
struct pn_link_t;
struct pn_terminus_t;
struct pn_condition_t;
struct pn_delivery_t;

namespace stepline::broker {

/// The current value as text when it is a string or a symbol; otherwise empty.
std::string text_of(pn_data_t* d);
/// The selector string of an Event Hubs consumer's source filter
/// (apache.org:selector-filter:string), or empty.
std::string selector_of(pn_link_t* l);
/// The string values of a condition's info map (dead-letter reason and description).
std::map<std::string, std::string> info_map(pn_condition_t* cond);
/// The scalar values of a map (a modified outcome's properties-to-modify).
std::map<std::string, proton::scalar> scalar_map(pn_data_t* d);
/// The lock token a delivery tag carries; false when the tag is not one.
bool token_of(pn_delivery_t* d, LockToken& token);
std::string link_name(pn_link_t* l);
std::string terminus_address(pn_terminus_t* t);

}  // namespace stepline::broker
