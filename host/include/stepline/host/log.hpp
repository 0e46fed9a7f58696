// The host logs through the process log that stepline-broker shares (stepline/azure/log.hpp):
// host::log::info(...) and the rest are that log's functions.
#pragma once

#include <stepline/azure/log.hpp>

namespace stepline::host {
namespace log = azure::log;
}  // namespace stepline::host
