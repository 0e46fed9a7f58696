// A TCP proxy on 127.0.0.1 in front of a test server, for connections that break under a client:
// it forwards bytes both ways until told to cut every connection (each end gets a reset, as from
// a dropped route) or to stall them (bytes are held, not lost, and the sockets stay open, as on a
// network that stops answering), and to resume. New connections are accepted throughout; while
// stalled they are held too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace stepline::test {

class TcpProxy {
 public:
  /// Listens on a free port of 127.0.0.1 and forwards to 127.0.0.1:`target_port`.
  explicit TcpProxy(int target_port);
  /// Closes every connection and stops.
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  /// Resets every open connection, both ends; returns how many there were.
  std::size_t cut();
  /// Stops forwarding (reading) on every connection until resume().
  void stall();
  void resume();

  /// Connections accepted so far.
  std::size_t accepted() const { return accepted_.load(); }
  /// Bytes forwarded so far, both ways.
  std::size_t forwarded() const { return forwarded_.load(); }

 private:
  void run();

  int port_ = 0;
  int target_port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};  ///< a pipe: commands wake the forwarding thread
  std::atomic<std::size_t> accepted_{0}, forwarded_{0};
  std::atomic<bool> stalled_{false}, stopping_{false};
  std::atomic<int> cuts_requested_{0};
  std::mutex mutex_;
  std::condition_variable cut_done_;
  std::size_t last_cut_ = 0;  ///< connections the last cut reset, under mutex_
  int cuts_done_ = 0;         ///< under mutex_
  std::thread thread_;
};

}  // namespace stepline::test
