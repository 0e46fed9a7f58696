// Visibility and version macros shared by every SDK header.
#pragma once

#define STEPLINE_SDK_VERSION "0.1.0"

// SDK classes keep default visibility so that type information and vtables are shared between
// the host and plug-ins built with -fvisibility=hidden.
#define STEPLINE_API __attribute__((visibility("default")))
