// The worker's calls into the host's services, both ways: the host serves them (serve_callback)
// and either side turns an error frame back into the exception it stands for.
#pragma once

#include <exception>
#include <string>

#include <stepline/services.hpp>

#include "protocol.hpp"

namespace stepline::host::isolation {

/// Runs one "call" or "post" frame on `services` and returns the "result" or "error" frame.
std::string serve_callback(const Frame& request, Services& services);

/// Adds an exception's members to a "thrown" or "error" frame: InvalidPluginExecution keeps
/// its message, status and code (OperationFailed also its trace id); anything else is marked
/// unexpected.
FrameWriter& add_error(FrameWriter& frame, std::exception_ptr error);

/// Throws what an "error" or "thrown" frame describes.
[[noreturn]] void rethrow_error(const Frame& frame);

/// "*" for every column, else the names joined by commas (the pipeline's ColumnSet text).
std::string column_text(const ColumnSet& columns);
ColumnSet column_set_from(const std::string& text);

}  // namespace stepline::host::isolation
