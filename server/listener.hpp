#pragma once
// Accepts TCP connections and deals them round-robin to the workers; each connection starts its
// life as an HttpSession on its worker (a TLS one when a TlsContext is given).

#include <cstdint>
#include <string>

#include "server/net.hpp"

namespace server {

class Hub;
class TlsContext;

class Listener {
 public:
  /// Binds and listens (throws on failure: start-up only). Accepts on worker 0's io_context.
  /// With `tls` (outliving the listener and its sessions) every connection is TLS.
  Listener(Hub& hub, const std::string& host, std::uint16_t port, TlsContext* tls = nullptr);
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  void start();
  /// Stops accepting. Thread-safe (posts to the acceptor's executor).
  void stop();

 private:
  void do_accept();

  Hub& hub_;
  TlsContext* tls_ = nullptr;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::uint16_t port_ = 0;
  std::size_t next_worker_ = 0;
};

}  // namespace server
