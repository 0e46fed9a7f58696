// A descriptor written by hand instead of the SDK's, to build libraries this host must refuse
// (another ABI version, another toolchain). Being a strong definition, it wins over the weak one
// that <stepline/plugin.hpp> puts in the plug-in's other source file.
#include <stepline/plugin_abi.h>
#include <stepline/api.hpp>
#include <stepline/fingerprint.hpp>

#ifndef TEST_ABI_MAJOR
#define TEST_ABI_MAJOR STEPLINE_ABI_MAJOR
#endif
#ifndef TEST_ABI_MINOR
#define TEST_ABI_MINOR STEPLINE_ABI_MINOR
#endif
#ifdef TEST_FOREIGN_TOOLCHAIN
#define TEST_FINGERPRINT "gcc-4.8;libstdc++-20130531-cxx11abi0;std-201103L;boost-1_55"
#else
#define TEST_FINGERPRINT STEPLINE_BUILD_FINGERPRINT
#endif

extern "C" __attribute__((visibility("hidden"), weak))
const stepline_plugin_type* const __start_slptypes[];
extern "C" __attribute__((visibility("hidden"), weak))
const stepline_plugin_type* const __stop_slptypes[];

extern "C" __attribute__((visibility("default")))
const stepline_descriptor stepline_descriptor_v1 = {TEST_ABI_MAJOR,
                                                    TEST_ABI_MINOR,
                                                    sizeof(stepline_descriptor),
                                                    STEPLINE_SDK_VERSION,
                                                    TEST_FINGERPRINT,
                                                    __start_slptypes,
                                                    __stop_slptypes,
                                                    {}};
