// The `cloudevents` format's reader on untrusted bodies (format_roundtrip.hpp says what is
// checked).
#include "format_roundtrip.hpp"

STEPLINE_FORMAT_FUZZER("cloudevents")
