#include "listener.hpp"

#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <proton/connection_options.hpp>
#include <proton/receiver.hpp>
#include <proton/source.hpp>
#include <proton/ssl.hpp>
#include <proton/transport.hpp>

#include <stepline/format/binary.hpp>

namespace samples {

ListenerOptions parse_options(int argc, char** argv, const std::string& description,
                              const std::string& entity) {
  CLI::App app{description};
  std::string connection;
  ListenerOptions o;
  o.entity = entity;
  app.add_option("entity", o.entity, "the entity to read from")->capture_default_str();
  app.add_option("--connection", connection,
                 "connection string; default $STEPLINE_LISTENER_CONNECTION, then "
                 "$STEPLINE_BROKER_CONNECTION");
  app.add_option("--count", o.count, "exit after this many messages");
  app.add_option("--timeout", o.timeout, "exit with status 1 after this many seconds");
  try {
    app.parse(argc, argv);
    for (const char* name : {"STEPLINE_LISTENER_CONNECTION", "STEPLINE_BROKER_CONNECTION"}) {
      if (connection.empty() && std::getenv(name)) connection = std::getenv(name);
    }
    if (connection.empty())
      throw CLI::ValidationError("--connection",
                                 "give a connection string or set "
                                 "STEPLINE_LISTENER_CONNECTION");
    o.connection = stepline::azure::ConnectionString::parse(connection);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  } catch (const std::exception& e) {
    std::cerr << app.get_name() << ": " << e.what() << "\n";
    std::exit(2);
  }
  return o;
}

namespace {

// json and dataverse-json share application/json: Dataverse's member names are PascalCase.
stepline::format::Format format_of(const std::string& type, const std::string& text) {
  using stepline::format::Format;
  for (Format f : {Format::xml, Format::cloudevents, Format::binary})
    if (type == stepline::format::content_type(f)) return f;
  return text.find("\"MessageName\"") != std::string::npos ? Format::dataverse_json : Format::json;
}

// Strings, amounts and numbers as they are; other kinds by their kind's name.
std::string text_of(const stepline::Value& value) {
  if (auto s = value.get_if<std::string>()) return *s;
  if (auto m = value.get_if<stepline::Money>()) return m->value.str();
  if (auto i = value.get_if<std::int32_t>()) return std::to_string(*i);
  return "(" + std::string(stepline::to_string(value.kind())) + ")";
}

}  // namespace

stepline::ExecutionContext read_context(const proton::message& message) {
  using namespace stepline::format;
  const proton::value& body = message.body();
  if (body.type() == proton::MAP) return binary::from_amqp_value(body);
  std::string text;
  if (body.type() == proton::BINARY) {
    auto bytes = proton::get<proton::binary>(body);
    text.assign(bytes.begin(), bytes.end());
  } else {
    text = proton::get<std::string>(body);
  }
  return parse_any_format(text, format_of(message.content_type(), text));
}

std::string summary(const stepline::ExecutionContext& c) {
  std::ostringstream out;
  out << c.message_name << " " << c.primary_entity_name << " " << c.primary_entity_id.str()
      << " stage " << static_cast<int>(c.stage) << " " << stepline::to_string(c.mode) << " depth "
      << c.depth;
  auto values = [&](const char* label, const stepline::ParameterCollection& values) {
    out << " | " << label << ":";
    for (const auto& [name, value] : values) out << " " << name << "=" << text_of(value);
  };
  for (const auto& [alias, image] : c.pre_entity_images) values(alias.c_str(), image.attributes);
  if (!c.shared_variables.empty()) values("shared", c.shared_variables);
  return out.str();
}

int Listener::run() {
  proton::container container(*this);
  // The timeout runs on its own thread: a Proton timer would keep run() going after the last
  // message until it fired. container::stop() is safe to call from any thread.
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false, timed_out = false;
  std::thread watchdog([&] {
    if (options_.timeout <= 0) return;
    std::unique_lock lock(mutex);
    auto limit = std::chrono::duration<double>(options_.timeout);
    if (finished.wait_for(lock, limit, [&] { return done; })) return;
    timed_out = true;
    container.stop();
  });
  container.run();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  finished.notify_one();
  watchdog.join();
  if (timed_out) std::cerr << "timeout: " << received_ << " of " << options_.count << " messages\n";
  return failed_ || timed_out || (options_.count > 0 && received_ < options_.count) ? 1 : 0;
}

void Listener::received() {
  if (++received_ == options_.count) connection_.close();
}

void Listener::on_container_start(proton::container& c) {
  const auto& cs = options_.connection;
  proton::connection_options co;
  // SASL PLAIN with the policy's name and key, as Service Bus accepts it; without TLS (only the
  // local emulator) Proton must be told that sending the key in the clear is intended.
  co.sasl_enabled(true)
      .sasl_allowed_mechs("PLAIN")
      .sasl_allow_insecure_mechs(!cs.uses_tls())
      .user(cs.shared_access_key_name)
      .password(cs.shared_access_key)
      .virtual_host(cs.host);
  // amqps to Azure: the system's trust store and a host name check.
  if (cs.uses_tls()) co.ssl_client_options(proton::ssl_client_options());
  connection_ = c.connect(cs.host + ":" + std::to_string(cs.effective_port()), co);
}

void Listener::on_transport_error(proton::transport& t) {
  std::cerr << "connection failed: " << t.error().what() << "\n";
  failed_ = true;
}
void Listener::on_connection_error(proton::connection& c) {
  std::cerr << "connection closed: " << c.error().what() << "\n";
  failed_ = true;
}
void Listener::on_receiver_error(proton::receiver& r) {
  std::cerr << r.source().address() << ": " << r.error().what() << "\n";
  failed_ = true;
  r.connection().close();
}

}  // namespace samples
