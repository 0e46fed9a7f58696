#include "listener.hpp"

#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <proton/binary.hpp>
#include <proton/connection_options.hpp>
#include <proton/delivery.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/source.hpp>
#include <proton/ssl.hpp>
#include <proton/transport.hpp>
#include <proton/uuid.hpp>

#include <stepline/azure/cbs.hpp>
#include <stepline/azure/names.hpp>
#include <stepline/azure/sas_token.hpp>
#include <stepline/claim_check/blob_reader.hpp>
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

// The format whose content type the message carries; json and dataverse-json share
// application/json, and Dataverse's member names are PascalCase.
const stepline::format::Format& format_of(const proton::message& message) {
  using namespace stepline::format;
  const std::string& type = message.content_type();
  for (std::string_view name : format_names()) {
    const Format& f = format_named(name);
    if (type == f.content_type && type != "application/json") return f;
  }
  const proton::value& body = message.body();
  std::string text;
  if (body.type() == proton::BINARY) {
    auto bytes = proton::get<proton::binary>(body);
    text.assign(bytes.begin(), bytes.end());
  } else if (body.type() == proton::STRING) {
    text = proton::get<std::string>(body);
  }
  return format_named(text.find("\"MessageName\"") != std::string::npos ? "dataverse-json"
                                                                        : "json");
}

// Strings, amounts and numbers as they are; other kinds by their kind's name.
std::string text_of(const stepline::Value& value) {
  if (auto s = value.get_if<std::string>()) return *s;
  if (auto m = value.get_if<stepline::Money>()) return m->value.str();
  if (auto i = value.get_if<std::int32_t>()) return std::to_string(*i);
  return "(" + std::string(stepline::to_string(value.kind())) + ")";
}

}  // namespace

namespace {

// The text of a data-section or string body; empty for an AMQP map.
std::string body_text(const proton::message& message) {
  const proton::value& body = message.body();
  if (body.type() == proton::BINARY) {
    auto bytes = proton::get<proton::binary>(body);
    return std::string(bytes.begin(), bytes.end());
  }
  if (body.type() == proton::STRING) return proton::get<std::string>(body);
  return {};
}

// One reader for the process, made at the first claim check.
stepline::claim_check::BlobReader& blob_reader() {
  static std::unique_ptr<stepline::claim_check::BlobReader> reader = [] {
    const char* account = std::getenv("STEPLINE_CLAIM_CHECK_CONNECTION");
    if (!account)
      throw std::runtime_error(
          "a claim-checked message: set STEPLINE_CLAIM_CHECK_CONNECTION to the storage account's "
          "connection string to read it");
    return std::make_unique<stepline::claim_check::BlobReader>(account);
  }();
  return *reader;
}

}  // namespace

stepline::ExecutionContext read_context(const proton::message& message) {
  using namespace stepline::format;
  // A claim check's body is the reference; the context is read from Blob Storage in the format
  // the reference names.
  const std::string text = body_text(message);
  if (!is_claim_check(text)) return read_body(message, format_of(message));
  return parse_any_format(text, "json", blob_reader());
}

std::string claim_check_note(const proton::message& message) {
  auto reference = stepline::format::read_claim_check(body_text(message));
  if (!reference) return {};
  return " | claim check: " + std::to_string(reference->size) + " bytes from " + reference->url +
         ", SHA-256 verified";
}

void completed(const proton::message& message) {
  // The message is completed already: a blob left behind is only storage, so say it and go on.
  try {
    auto reference = stepline::format::read_claim_check(body_text(message));
    if (reference && reference->delete_after_read) blob_reader().remove(*reference);
  } catch (const std::exception& e) {
    std::cerr << "could not delete the claim-checked blob: " << e.what() << "\n";
  }
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
  if (const auto* target = c.target())
    out << " | target: " << target->attributes.size() << " attributes";
  for (const auto& [alias, image] : c.pre_entity_images) values(alias.c_str(), image.attributes);
  if (!c.shared_variables.empty()) values("shared", c.shared_variables);
  return out.str();
}

// Puts the connection string's SharedAccessSignature on $cbs for the resource it was made for,
// then lets the listener open its links. Its two links have this handler, so the listener's own
// on_message never sees the $cbs reply.
class Listener::CbsLogin : public proton::messaging_handler {
 public:
  CbsLogin(Listener& listener, std::string token) : listener_(listener), token_(std::move(token)) {
    audience_ = stepline::azure::SasToken::parse(token_).resource;
  }

  void start(proton::connection& c) {
    connection_ = c;
    const std::string reply_to = "cbs-reply-" + proton::uuid::random().str();
    request_.token = token_;
    request_.audience = audience_;
    request_.message_id = proton::uuid::random().str();
    request_.reply_to = reply_to;
    replies_ = c.open_receiver(std::string(stepline::azure::node::cbs),
                               proton::receiver_options().name(reply_to).handler(*this));
    sender_ = c.open_sender(std::string(stepline::azure::node::cbs),
                            proton::sender_options().handler(*this));
  }

  void on_sendable(proton::sender& s) override {
    if (sent_) return;
    sent_ = true;
    s.send(request_.to_message());
  }

  void on_message(proton::delivery&, proton::message& m) override {
    auto response = stepline::azure::cbs::PutTokenResponse::from_message(m);
    sender_.close();
    replies_.close();
    if (!response.ok()) {
      listener_.token_refused("$cbs refused the token for " + audience_ + ": " +
                              std::to_string(response.status_code) + " " +
                              response.status_description);
      return;
    }
    listener_.open_links(connection_);
  }

  void on_receiver_error(proton::receiver& r) override {
    listener_.token_refused("$cbs: " + r.error().what());
  }
  void on_sender_error(proton::sender& s) override {
    listener_.token_refused("$cbs: " + s.error().what());
  }

 private:
  Listener& listener_;
  std::string token_, audience_;
  stepline::azure::cbs::PutTokenRequest request_;
  proton::connection connection_;
  proton::sender sender_;
  proton::receiver replies_;
  bool sent_ = false;
};

Listener::Listener(ListenerOptions options) : options_(std::move(options)) {
  if (options_.connection.has_signature())
    cbs_ = std::make_unique<CbsLogin>(*this, options_.connection.shared_access_signature);
}

Listener::~Listener() = default;

void Listener::on_connection_open(proton::connection& c) {
  if (cbs_)
    cbs_->start(c);
  else
    open_links(c);
}

void Listener::token_refused(const std::string& why) {
  std::cerr << why << "\n";
  failed_ = true;
  connection_.close();
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

proton::receiver_options Listener::peek_lock() const {
  auto o = proton::receiver_options().auto_accept(false);
  if (options_.count > 0 && options_.count < 10) o.credit_window(options_.count);
  return o;
}

void Listener::received() {
  if (++received_ == options_.count) connection_.close();
}

void Listener::on_container_start(proton::container& c) {
  const auto& cs = options_.connection;
  proton::connection_options co;
  co.sasl_enabled(true).virtual_host(cs.host);
  if (cbs_) {
    co.sasl_allowed_mechs("ANONYMOUS");  // the signature goes to $cbs once the connection is open
  } else {
    // SASL PLAIN with the policy's name and key, as Service Bus accepts it; without TLS (only the
    // local emulator) Proton must be told that sending the key in the clear is intended.
    co.sasl_allowed_mechs("PLAIN")
        .sasl_allow_insecure_mechs(!cs.uses_tls())
        .user(cs.shared_access_key_name)
        .password(cs.shared_access_key);
  }
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
