// Test.Faulty, the plug-in of the host's fault tests: by the record's name it takes the host down
// with SIGSEGV ("crash"), never returns ("hang"), or appends the job's OperationId to the file
// named by the step's configuration ("PATH", or "PATH;MS" to take MS milliseconds first), one
// line per run in one write() so a killed host leaves whole lines only.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include <stepline/plugin.hpp>

namespace {

class Faulty : public stepline::Plugin {
 public:
  using Plugin::Plugin;

  void execute(stepline::ExecutionContext& context, stepline::Services&) override {
    const auto* target = context.target();
    const auto name = target ? target->get_as<std::string>("name").value_or("") : "";
    if (name == "crash") std::raise(SIGSEGV);
    if (name == "hang")
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    std::string file = unsecure_configuration();
    if (auto at = file.find(';'); at != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(file.substr(at + 1))));
      file.resize(at);
    }
    std::string line = context.operation_id.str() + "\n";
    int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) throw stepline::InvalidPluginExecution("cannot open the delivery file");
    auto written = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(line.size()))
      throw stepline::InvalidPluginExecution("short write", stepline::OperationStatus::retry);
  }
};

}  // namespace

STEPLINE_PLUGIN(Faulty, "Test.Faulty", "1.0.0")
