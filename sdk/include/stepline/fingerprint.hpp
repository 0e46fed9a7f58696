// The build fingerprint: every setting that must match between the host and a plug-in for C++
// objects to cross the boundary safely.
#pragma once

#include <boost/version.hpp>

#define STEPLINE_STR2(x) #x
#define STEPLINE_STR(x) STEPLINE_STR2(x)

#if defined(__clang__)
#define STEPLINE_COMPILER "clang-" __clang_version__
#elif defined(__GNUC__)
#define STEPLINE_COMPILER "gcc-" STEPLINE_STR(__GNUC__) "." STEPLINE_STR(__GNUC_MINOR__)
#else
#define STEPLINE_COMPILER "unknown"
#endif

#if defined(__GLIBCXX__)
#define STEPLINE_STDLIB "libstdc++-" STEPLINE_STR(__GLIBCXX__) "-cxx11abi" STEPLINE_STR(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define STEPLINE_STDLIB "libc++-" STEPLINE_STR(_LIBCPP_VERSION)
#else
#define STEPLINE_STDLIB "unknown"
#endif

/// e.g. "gcc-12.2;libstdc++-20220819-cxx11abi1;std-202002;boost-1_74"
#define STEPLINE_BUILD_FINGERPRINT \
  STEPLINE_COMPILER ";" STEPLINE_STDLIB ";std-" STEPLINE_STR(__cplusplus) ";boost-" BOOST_LIB_VERSION
