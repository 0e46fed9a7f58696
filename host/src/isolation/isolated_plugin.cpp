#include <stepline/host/isolation/isolated_plugin.hpp>

#include <stepline/format/json.hpp>
#include <stepline/host/catalog/plugin_catalog.hpp>
#include <stepline/host/log.hpp>
#include <stepline/host/pipeline/pipeline.hpp>
#include <stepline/host/process/child_process.hpp>

#include "callbacks.hpp"
#include "protocol.hpp"

extern char** environ;

namespace stepline::host::isolation {
namespace fs = std::filesystem;
namespace json = format::json;
using Clock = std::chrono::steady_clock;

namespace {

/// The worker is gone or unusable: it died, overran the deadline or broke the protocol.
struct WorkerLost {
  std::string what;  ///< "died with SIGSEGV (Segmentation fault)", "did not answer within 2.0 s"
};

/// The worker could not become the plug-in (library refused, constructor failed).
struct StartFailed {
  std::string why;
};

std::string seconds(std::chrono::milliseconds d) {
  return fmt::format("{:.1f} s", d.count() / 1000.0);
}

// This process's environment without the entries that hold the step's secure configuration
// (read from `${env:…}`): the worker receives it over the channel only.
std::vector<std::string> worker_environment(const std::string& secret) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto equals = entry.find('=');
    if (!secret.empty() && equals != std::string_view::npos &&
        entry.substr(equals + 1).find(secret) != std::string_view::npos)
      continue;
    out.emplace_back(entry);
  }
  return out;
}

fs::path default_program() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("stepline") : self.parent_path() / "stepline";
}

}  // namespace

/// One worker process and its framed channel.
class Worker {
 public:
  Worker(const WorkerSpec& spec, Clock::time_point deadline)
      : timeout_(spec.timeout),
        child_({spec.program.string(), "plugins", "worker", "--type", spec.plugin_type, "--step",
                spec.step_name},
               worker_environment(spec.secure_configuration)) {
    send(FrameWriter("start")
             .text("library", spec.library.string())
             .text("type", spec.plugin_type)
             .text("configuration", spec.unsecure_configuration)
             .text("secureConfiguration", spec.secure_configuration)
             .finish(),
         deadline);
    Frame answer = receive(deadline);
    if (answer.kind() == "startFailed") throw StartFailed{answer.text("message")};
    if (answer.kind() != "ready") lose("answered its start with a '" + answer.kind() + "' frame");
  }

  ~Worker() { child_.stop(std::chrono::milliseconds(200)); }

  int pid() const noexcept { return child_.pid(); }
  bool idle_and_alive() const { return !child_.readable(); }

  void send(const std::string& frame, Clock::time_point deadline) {
    check(child_.write(frame, deadline));
  }

  Frame receive(Clock::time_point deadline) {
    char prefix[4];
    check(child_.read(prefix, 4, deadline));
    std::string body(frame_length(prefix), '\0');
    check(child_.read(body.data(), body.size(), deadline));
    return Frame(std::move(body));
  }

  /// Kills the worker and reports it lost with `why`.
  [[noreturn]] void lose(const std::string& why) {
    child_.stop(std::chrono::milliseconds(0));
    throw WorkerLost{why};
  }

 private:
  void check(process::ChildProcess::Io io) {
    if (io == process::ChildProcess::Io::done) return;
    if (io == process::ChildProcess::Io::timed_out) {
      lose("did not answer within " + seconds(timeout_) +
           " (the step's timeout) and was killed; raise the step's timeout if the work "
           "really takes longer");
    }
    // Closed: the worker is ending; give it a moment to be reaped so the signal can be named.
    const process::ChildEnd end = child_.stop(std::chrono::milliseconds(500));
    throw WorkerLost{end.signal != 0 ? "died with " + end.describe()
                                     : "exited unexpectedly with " + end.describe()};
  }

  std::chrono::milliseconds timeout_;
  process::ChildProcess child_;
};

IsolatedPlugin::IsolatedPlugin(WorkerSpec spec)
    : Plugin(spec.unsecure_configuration, spec.secure_configuration), spec_(std::move(spec)) {
  if (spec_.program.empty()) spec_.program = default_program();
}

IsolatedPlugin::~IsolatedPlugin() = default;

std::vector<int> IsolatedPlugin::idle_worker_pids() const {
  std::lock_guard lock(mutex_);
  std::vector<int> pids;
  for (const auto& w : idle_) pids.push_back(w->pid());
  return pids;
}

std::unique_ptr<Worker> IsolatedPlugin::acquire(Clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    while (!idle_.empty()) {
      auto worker = std::move(idle_.back());
      idle_.pop_back();
      if (worker->idle_and_alive()) return worker;
      // Died or spoke while idle (killed from outside, a plug-in thread gone wrong): replace it.
    }
  }
  return std::make_unique<Worker>(spec_, deadline);
}

void IsolatedPlugin::release(std::unique_ptr<Worker> worker) {
  {
    std::lock_guard lock(mutex_);
    if (idle_.size() < spec_.max_idle_workers) {
      idle_.push_back(std::move(worker));
      return;
    }
  }
  // One too many: it stops here, outside the lock.
}

void IsolatedPlugin::execute(ExecutionContext& context, Services& services) {
  const auto deadline = Clock::now() + spec_.timeout;
  const std::string who =
      "plug-in process for step '" + spec_.step_name + "' (" + spec_.plugin_type + ")";
  std::unique_ptr<Worker> worker;
  try {
    worker = acquire(deadline);
    worker->send(FrameWriter("execute").raw("context", json::write_context(context)).finish(),
                 deadline);
    while (true) {
      Frame frame = worker->receive(deadline);
      const std::string& kind = frame.kind();
      if (kind == "trace") {
        services.tracing().write(frame.text("line"));
      } else if (kind == "call" || kind == "post") {
        worker->send(serve_callback(frame, services), deadline);
      } else if (kind == "done") {
        if (frame.has("inputParameters"))
          context.input_parameters = json::read_parameters(frame.json("inputParameters"));
        if (frame.has("outputParameters"))
          context.output_parameters = json::read_parameters(frame.json("outputParameters"));
        if (frame.has("sharedVariables"))
          context.shared_variables = json::read_parameters(frame.json("sharedVariables"));
        release(std::move(worker));
        return;
      } else if (kind == "thrown") {
        release(std::move(worker));
        rethrow_error(frame);
      } else {
        worker->lose("sent an unexpected '" + kind + "' frame");
      }
    }
  } catch (const WorkerLost& lost) {
    log::error("{} {}", who, lost.what);
    throw pipeline::OperationFailed(
        who + " " + lost.what + "; the operation failed and the next one starts a new process",
        pipeline::error_code::unexpected);
  } catch (const StartFailed& failed) {
    throw pipeline::OperationFailed(who + " could not start the plug-in: " + failed.why,
                                    pipeline::error_code::configuration);
  } catch (const ProtocolError& e) {
    // `worker` still holds the process when the frame came from it: drop it with the reason.
    log::error("{} broke the worker protocol: {}", who, e.what());
    worker.reset();
    throw pipeline::OperationFailed(
        who + " sent a frame that could not be read (" + e.what() +
            "); the worker was stopped and the next operation starts a new one",
        pipeline::error_code::unexpected);
  } catch (const std::system_error& e) {
    throw pipeline::OperationFailed(
        who + " could not be started: " + e.what() +
            "; check that the stepline executable is installed beside the host",
        pipeline::error_code::configuration);
  }
}

std::shared_ptr<Plugin> create_plugin(const catalog::PluginCatalog& catalog,
                                      const registration::Step& step) {
  if (step.isolation != IsolationMode::process)
    return catalog.create(step.plugin_type, step.unsecure_configuration, step.secure_configuration);
  if (!catalog.has_type(step.plugin_type))  // the catalog's own message says what to check
    return catalog.create(step.plugin_type, step.unsecure_configuration, step.secure_configuration);
  WorkerSpec spec;
  for (const auto& library : catalog.libraries()) {
    if (library.status != catalog::LibraryStatus::loaded || !library.description) continue;
    for (const auto& t : library.description->types)
      if (t.name == step.plugin_type)
        spec.library = library.loaded_from.empty() ? library.file : library.loaded_from;
  }
  spec.step_name = step.name;
  spec.plugin_type = step.plugin_type;
  spec.program = catalog.settings().scanner;
  spec.unsecure_configuration = step.unsecure_configuration;
  spec.secure_configuration = step.secure_configuration;
  spec.timeout = step.timeout;
  return std::make_shared<IsolatedPlugin>(std::move(spec));
}

std::shared_ptr<Plugin> CatalogPlugins::create(const std::string& type, const std::string& unsecure,
                                               const std::string& secure) {
  return catalog_.create(type, unsecure, secure);
}

std::shared_ptr<Plugin> CatalogPlugins::create_for(const registration::Step& step) {
  return create_plugin(catalog_, step);
}

}  // namespace stepline::host::isolation
