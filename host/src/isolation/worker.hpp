// The worker side of `isolation: process`: `stepline plugins worker` becomes one plug-in
// (loaded through the plug-in catalog) and runs the executions its host sends on stdin, until
// the host closes the channel.
#pragma once

namespace stepline::host::isolation {

/// Serves the channel on stdin/stdout; returns the process exit status (0 when the host closed
/// the channel, 2 when the plug-in could not be started, 3 on a protocol error).
int run_worker();

}  // namespace stepline::host::isolation
