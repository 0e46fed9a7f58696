// What every sample listener shares: the command line (connection string, --count, --timeout),
// connecting to Service Bus, Event Hubs or stepline-broker with a connection string, reading a
// posted execution context in whichever format it came, and one line of summary per context.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <proton/connection.hpp>
#include <proton/container.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver_options.hpp>

#include <stepline/azure/connection_string.hpp>
#include <stepline/execution_context.hpp>

namespace samples {

struct ListenerOptions {
  stepline::azure::ConnectionString connection;
  std::string entity;  ///< queue, subscription or hub address
  int count = 0;       ///< stop after this many messages; 0 = run until the timeout or ^C
  double timeout = 0;  ///< seconds; 0 = no limit
};

/// Parses `--connection` (else $STEPLINE_LISTENER_CONNECTION, else $STEPLINE_BROKER_CONNECTION),
/// `--count`, `--timeout` and the entity (default `entity`). Exits with usage on bad arguments.
ListenerOptions parse_options(int argc, char** argv, const std::string& description,
                              const std::string& entity);

/// The context in a message, read by its content type with the SDK's parsers (the binary format
/// as an AMQP map body, the text formats from a data section or string body). A claim-checked
/// message's context is fetched from Blob Storage and verified, with the storage account in
/// $STEPLINE_CLAIM_CHECK_CONNECTION (the SDK's claim_check component).
stepline::ExecutionContext read_context(const proton::message& message);

/// " | claim check: N bytes from URL, SHA-256 verified" for a claim-checked message, else "".
std::string claim_check_note(const proton::message& message);

/// After the message was completed: deletes its claim-checked blob when the reference leaves
/// that to the listener (claim_check.delete: after-confirm on a queue); a failure is printed.
void completed(const proton::message& message);

/// "Update account a000…02 stage 40 async depth 1 | pre: name=Fabrikam | shared: tag=samples".
std::string summary(const stepline::ExecutionContext& context);

/// Connects with the connection string and counts messages; stops after --count messages or
/// --timeout seconds. A string with a key logs in with SASL PLAIN (key name and key); one with a
/// SharedAccessSignature logs in with SASL ANONYMOUS and puts the signature on $cbs for the
/// resource it was made for, as the Azure SDKs do. TLS for amqps. Subclasses open their links in
/// open_links(), once the connection may use them, and call received() for every message they
/// handle.
class Listener : public proton::messaging_handler {
 public:
  explicit Listener(ListenerOptions options);
  ~Listener() override;
  /// Runs until done; 0 when --count messages arrived (or no count was asked), 1 otherwise.
  int run();

 protected:
  const ListenerOptions& options() const { return options_; }
  /// Counts one message and closes the connection once the count is reached.
  void received();
  /// True once --count messages were taken: a message delivered after that is released, back to
  /// the entity for another reader, rather than taken and not counted.
  bool enough() const { return options_.count > 0 && received_ >= options_.count; }
  /// Peek-lock receiving (auto-accept off: a message we fail to read is released and delivered
  /// again instead of being lost), with no more credit than --count asks for.
  proton::receiver_options peek_lock() const;
  /// Opens the subclass's links: at once after PLAIN, after the token was accepted with CBS.
  virtual void open_links(proton::connection& c) = 0;

  void on_container_start(proton::container& c) override;
  void on_connection_open(proton::connection& c) final;
  void on_transport_error(proton::transport& t) override;
  void on_connection_error(proton::connection& c) override;
  void on_receiver_error(proton::receiver& r) override;

 private:
  class CbsLogin;
  friend class CbsLogin;
  void token_refused(const std::string& why);

  ListenerOptions options_;
  std::unique_ptr<CbsLogin> cbs_;  // with a SharedAccessSignature string
  proton::connection connection_;
  int received_ = 0;
  bool failed_ = false;
};

}  // namespace samples
