// The broker logs through the process log that the stepline host shares
// (stepline/azure/log.hpp): broker::log::info(...) and the rest are that log's functions.
#pragma once

#include <stepline/azure/log.hpp>

namespace stepline::broker {
namespace log = azure::log;
}  // namespace stepline::broker
