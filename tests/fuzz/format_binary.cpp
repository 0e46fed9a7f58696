// The `binary` format's reader on untrusted bodies (format_roundtrip.hpp says what is checked).
#include "format_roundtrip.hpp"

// Naming the format links stepline_sdk_amqp, whose loading registers it.
[[maybe_unused]] static const stepline::format::Format& binary_format =
    stepline::format::binary::format();

STEPLINE_FORMAT_FUZZER("binary")
