#include "worker.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <mutex>

#include <stepline/format/json.hpp>
#include <stepline/host/catalog/plugin_catalog.hpp>

#include "callbacks.hpp"
#include "protocol.hpp"

namespace stepline::host::isolation {
namespace json = format::json;

namespace {

/// The host went away: nothing left to serve.
struct ChannelClosed {};

/// The blocking end of the channel (the host's socket, or any pair of pipes). The host bounds
/// every exchange with its deadline, so the worker needs none.
class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}

  void send(const std::string& frame) {
    std::string_view left = frame;
    while (!left.empty()) {
      const ssize_t n = ::write(fd_, left.data(), left.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw ChannelClosed{};
      left.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  Frame receive() {
    char prefix[4];
    read(prefix, 4);
    std::string body(frame_length(prefix), '\0');
    read(body.data(), body.size());
    return Frame(std::move(body));
  }

 private:
  void read(char* out, std::size_t size) {
    while (size > 0) {
      const ssize_t n = ::read(fd_, out, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw ChannelClosed{};
      out += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  int fd_;
};

/// The plug-in's services, each call a frame to the host and, for requests, the host's answer.
class WorkerServices final : public Services,
                             TracingService,
                             OrganizationService,
                             NotificationService {
 public:
  explicit WorkerServices(Channel& channel) : channel_(channel) {}

  TracingService& tracing() override { return *this; }
  OrganizationService& organization() override { return *this; }
  NotificationService& notification() override { return *this; }

  void write(std::string_view line) override {
    std::lock_guard lock(mutex_);
    channel_.send(FrameWriter("trace").text("line", line).finish());
  }

  Guid create(const Entity& entity) override {
    return json::read_value(call(FrameWriter("call")
                                     .text("operation", "create")
                                     .raw("entity", json::write_entity(entity))))
        .as<Guid>();
  }
  Entity retrieve(std::string_view entity_name, const Guid& id, const ColumnSet& columns) override {
    return json::read_entity(call(FrameWriter("call")
                                      .text("operation", "retrieve")
                                      .text("entityName", entity_name)
                                      .text("id", id.str())
                                      .text("columns", column_text(columns))));
  }
  void update(const Entity& entity) override {
    call(FrameWriter("call").text("operation", "update").raw("entity", json::write_entity(entity)));
  }
  void remove(std::string_view entity_name, const Guid& id) override {
    call(FrameWriter("call")
             .text("operation", "remove")
             .text("entityName", entity_name)
             .text("id", id.str()));
  }
  EntityCollection retrieve_multiple(const Query& query) override {
    Entity conditions(query.entity_name);
    for (const auto& [column, value] : query.conditions) conditions.set(column, value);
    return json::read_value(call(FrameWriter("call")
                                     .text("operation", "retrieveMultiple")
                                     .raw("conditions", json::write_entity(conditions))
                                     .text("columns", column_text(query.columns))
                                     .integer("pageSize", query.page_size)
                                     .integer("pageNumber", query.page_number)))
        .as<EntityCollection>();
  }
  OrganizationResponse execute(const OrganizationRequest& request) override {
    return {json::read_parameters(
        call(FrameWriter("call")
                 .text("operation", "execute")
                 .text("message", request.message_name)
                 .raw("parameters", json::write_parameters(request.parameters))))};
  }

  std::string post(std::string_view endpoint_name, const ExecutionContext& context) override {
    return json::read_value(call(FrameWriter("post")
                                     .text("endpoint", endpoint_name)
                                     .raw("context", json::write_context(context))))
        .as<std::string>();
  }

 private:
  /// Sends a request and waits for its answer: the value's JSON, or the host's error rethrown.
  std::string call(FrameWriter& request) {
    std::lock_guard lock(mutex_);
    channel_.send(request.finish());
    Frame answer = channel_.receive();
    if (answer.kind() == "result") return answer.json("value");
    if (answer.kind() == "error") rethrow_error(answer);
    throw ProtocolError("the host answered a call with a '" + answer.kind() + "' frame");
  }

  Channel& channel_;
  // A plug-in may call its services from threads of its own; one exchange at a time.
  std::mutex mutex_;
};

std::string changed(const ParameterCollection& before, const ParameterCollection& after) {
  return before == after ? std::string() : json::write_parameters(after);
}

void serve(Channel& channel, Plugin& plugin) {
  while (true) {
    const Frame request = channel.receive();
    if (request.kind() != "execute")
      throw ProtocolError("expected an 'execute' frame, got '" + request.kind() + "'");
    ExecutionContext context = json::read_context(request.json("context"));
    const ExecutionContext before = context;
    WorkerServices services(channel);
    std::string answer;
    try {
      plugin.execute(context, services);
      FrameWriter done("done");
      // Only what changed travels back; most steps touch one collection, if any.
      if (auto t = changed(before.input_parameters, context.input_parameters); !t.empty())
        done.raw("inputParameters", t);
      if (auto t = changed(before.output_parameters, context.output_parameters); !t.empty())
        done.raw("outputParameters", t);
      if (auto t = changed(before.shared_variables, context.shared_variables); !t.empty())
        done.raw("sharedVariables", t);
      answer = done.finish();
    } catch (const ChannelClosed&) {
      throw;
    } catch (...) {
      FrameWriter thrown("thrown");
      answer = add_error(thrown, std::current_exception()).finish();
    }
    channel.send(answer);
  }
}

}  // namespace

int run_worker() {
  // The channel leaves stdin/stdout: a plug-in that prints must not corrupt the frames, so its
  // stdout goes where its stderr goes.
  const int fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) {
    std::cerr << "stepline plugins worker: no channel on stdin\n";
    return 3;
  }
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, STDIN_FILENO);
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  // A host gone away is an end-of-file or EPIPE here, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  Channel channel(fd);
  try {
    const Frame start = channel.receive();
    if (start.kind() != "start")
      throw ProtocolError("expected a 'start' frame, got '" + start.kind() + "'");
    const std::string type = start.text("type");
    std::unique_ptr<catalog::PluginCatalog> catalog;
    std::shared_ptr<Plugin> plugin;
    try {
      catalog::CatalogSettings settings;
      settings.plugins.push_back({start.text("library"), std::nullopt, {}});
      catalog = std::make_unique<catalog::PluginCatalog>(std::move(settings));
      if (!catalog->has_type(type) && !catalog->libraries().empty() &&
          catalog->libraries().front().status == catalog::LibraryStatus::refused)
        throw std::runtime_error(catalog->libraries().front().reason);
      plugin =
          catalog->create(type, start.text("configuration"), start.text("secureConfiguration"));
    } catch (const std::exception& e) {
      channel.send(FrameWriter("startFailed").text("message", e.what()).finish());
      return 2;
    }
    channel.send(FrameWriter("ready").finish());
    serve(channel, *plugin);
  } catch (const ChannelClosed&) {
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "stepline plugins worker: " << e.what() << std::endl;
    return 3;
  }
  return 0;
}

}  // namespace stepline::host::isolation
