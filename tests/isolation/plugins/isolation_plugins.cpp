// Plug-ins the isolation tests run in worker processes: each reports the process it ran in, so a
// test can tell where it ran, and the Faulty one crashes, aborts, exits, hangs or writes a hostile
// frame to the host on request.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include <stepline/plugin.hpp>

namespace {

using stepline::ExecutionContext;
using stepline::Services;
using stepline::Value;

/// Writes its process id into the Target and the shared variables, and traces a line.
class Stamp : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services& services) override {
    const int pid = static_cast<int>(::getpid());
    if (auto* target = context.target()) {
      target->set("stamped_pid", Value(pid));
      target->set("stamped_depth", Value(context.depth));
      target->set("secure_length", Value(static_cast<int>(secure_configuration().size())));
    }
    context.shared_variables.insert_or_assign("stamped_pid", Value(pid));
    services.tracing().trace("stamped {} in process {} at depth {}", context.primary_entity_name,
                             pid, context.depth);
  }
};
STEPLINE_PLUGIN(Stamp, "Tests.Stamp", "1.0.0")

/// Traces the shared variable an earlier Stamp left.
class ReadShared : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services& services) override {
    auto it = context.shared_variables.find("stamped_pid");
    services.tracing().trace("shared stamped_pid = {}",
                             it == context.shared_variables.end() ? -1 : it->second.as<int>());
  }
};
STEPLINE_PLUGIN(ReadShared, "Tests.ReadShared", "1.0.0")

/// Creates a contact named after the account, through the host's organization service.
class CreateContact : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services& services) override {
    if (context.primary_entity_name != "account") {
      services.tracing().trace("nothing to do for a {}", context.primary_entity_name);
      return;
    }
    stepline::Entity contact("contact");
    contact.set("lastname", context.target()->get("name"));
    const stepline::Guid id = services.organization().create(contact);
    context.shared_variables.insert_or_assign("contact_id", Value(id.str()));
    const stepline::Entity back =
        services.organization().retrieve("contact", id, stepline::ColumnSet::all());
    services.tracing().trace("created contact {} at depth {}",
                             back.get_as<std::string>("lastname").value_or("?"),
                             back.get_as<int>("stamped_depth").value_or(0));
  }
};
STEPLINE_PLUGIN(CreateContact, "Tests.CreateContact", "1.0.0")

/// Rejects an account named "reject me", with its own message and error code.
class Reject : public stepline::Plugin {
 public:
  using Plugin::Plugin;
  void execute(ExecutionContext& context, Services&) override {
    if (context.target() && context.target()->get_as<std::string>("name") == "reject me")
      throw stepline::InvalidPluginExecution("accounts may not be called 'reject me'",
                                             stepline::OperationStatus::failed, 4242);
  }
};
STEPLINE_PLUGIN(Reject, "Tests.Reject", "1.0.0")

/// Fails the way the Target's "fault" attribute says: segv, abort, exit, hang or throw.
class Faulty : public stepline::Plugin {
 public:
  using Plugin::Plugin;

  /// Writes a trace frame whose line is 100,000 nested arrays to the worker's channel to the host
  /// (its one socket), as plug-in code that found it could.
  static void write_deep_frame() {
    const std::string body =
        R"({"kind":"trace","line":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
    std::string frame(4, '\0');
    for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((body.size() >> (8 * (3 - i))) & 0xff);
    frame += body;
    for (int fd = 3; fd < 1024; ++fd) {
      struct stat st;
      if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
      for (std::size_t sent = 0; sent < frame.size();) {
        const ssize_t n = ::write(fd, frame.data() + sent, frame.size() - sent);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
      }
      return;
    }
  }

  void execute(ExecutionContext& context, Services&) override {
    const auto fault = context.target()->get_as<std::string>("fault").value_or("");
    if (fault == "segv") {
      ::raise(SIGSEGV);
    } else if (fault == "abort") {
      std::abort();
    } else if (fault == "exit") {
      ::_exit(7);
    } else if (fault == "hang") {
      std::this_thread::sleep_for(std::chrono::hours(1));
    } else if (fault == "throw") {
      throw std::runtime_error("the worker's plug-in threw");
    } else if (fault == "deep-frame") {
      write_deep_frame();
      std::this_thread::sleep_for(std::chrono::hours(1));
    }
    context.target()->set("survived_in", Value(static_cast<int>(::getpid())));
  }
};
STEPLINE_PLUGIN(Faulty, "Tests.Faulty", "1.0.0")

}  // namespace
