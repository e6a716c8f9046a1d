#pragma once
// Accepts TCP connections on the main port and deals them round-robin to the workers.
//  - Plain (no TLS): the listening descriptor sits in worker 0's own epoll set; accept4 hands out
//    non-blocking descriptors (TCP_NODELAY inherited from the listener) that start as a
//    Handshake on their worker (server/handshake.hpp) without ever entering Asio's reactor.
//  - TLS: Asio's acceptor; each connection starts as a TlsHttpSession.

#include <cstdint>
#include <string>

#include "server/net.hpp"

namespace server {

class Hub;
class TlsContext;

class Listener {
 public:
  /// Binds and listens (throws on failure: start-up only). Accepts on worker 0's thread.
  /// With `tls` (outliving the listener and its sessions) every connection is TLS.
  Listener(Hub& hub, const std::string& host, std::uint16_t port, TlsContext* tls = nullptr);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  void start();
  /// Stops accepting. Thread-safe (posts to worker 0).
  void stop();

  /// Plain mode: the listening descriptor is readable (worker 0's epoll pass).
  void on_ready();

 private:
  void do_accept();
  /// Plain mode: (re-)registers the listening descriptor with worker 0's epoll set.
  void watch();

  Hub& hub_;
  TlsContext* tls_ = nullptr;
  tcp::acceptor acceptor_;  ///< TLS mode (and, in plain mode, only to bind)
  int fd_ = -1;             ///< plain mode: the listening descriptor (owned, non-blocking)
  bool ipv6_ = false;
  net::steady_timer retry_timer_;
  std::uint16_t port_ = 0;
  std::size_t next_worker_ = 0;
};

}  // namespace server
