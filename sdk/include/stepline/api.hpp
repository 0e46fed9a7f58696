// Visibility and version macros shared by every SDK header.
#pragma once

#include <stepline/version.hpp>  // STEPLINE_SDK_VERSION, generated from the project version

// SDK classes keep default visibility so that type information and vtables are shared between
// the host and plug-ins built with -fvisibility=hidden.
#define STEPLINE_API __attribute__((visibility("default")))
