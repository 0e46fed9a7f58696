// The SDK's version is the project's: one number in CMakeLists.txt, none written by hand.
#include <doctest/doctest.h>

#include <string>

#include <stepline/api.hpp>

TEST_CASE("the SDK's version is the project version CMake configured") {
  CHECK(std::string(STEPLINE_SDK_VERSION) == STEPLINE_PROJECT_VERSION);
  CHECK(std::to_string(STEPLINE_SDK_VERSION_MAJOR) + "." +
            std::to_string(STEPLINE_SDK_VERSION_MINOR) + "." +
            std::to_string(STEPLINE_SDK_VERSION_PATCH) ==
        STEPLINE_PROJECT_VERSION);
}
