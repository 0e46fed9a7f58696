// Test.RecordDelivery: appends the job's OperationId to the file named by the step's unsecure
// configuration, one line per run, in one write() so a killed host leaves whole lines only.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <stepline/plugin.hpp>

namespace {

class RecordDelivery : public stepline::Plugin {
 public:
  using Plugin::Plugin;

  void execute(stepline::ExecutionContext& context, stepline::Services&) override {
    // A little work per job, so that kills land while jobs are in flight.
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    std::string line = context.operation_id.str() + "\n";
    int fd = ::open(unsecure_configuration().c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) throw stepline::InvalidPluginExecution("cannot open the delivery file");
    auto written = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(line.size()))
      throw stepline::InvalidPluginExecution("short write", stepline::OperationStatus::retry);
  }
};

}  // namespace

STEPLINE_PLUGIN(RecordDelivery, "Test.RecordDelivery", "1.0.0")
