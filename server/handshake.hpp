#pragma once
// The HTTP stage of a plain connection accepted by the Listener's fast path. The descriptor
// stays raw: it is read at once (on loopback and most networks the upgrade request is already
// there) and joins the worker's epoll set only if the request head is still incomplete; it
// never enters Asio's reactor. A WebSocket upgrade that protocol/http_head.hpp vouches for goes
// straight to a WsSession on the same descriptor (the shared checks in server/upgrade.hpp);
// every other request, and any head that reader leaves alone, is handed to Beast (HttpSession)
// with the bytes read so far, so HTTP API calls and odd requests are answered exactly as before.
// Threading: owned by one worker; every member runs on its thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/http_head.hpp"
#include "server/upgrade.hpp"

namespace server {

class Worker;

class Handshake {
 public:
  using Clock = std::chrono::steady_clock;

  /// Takes ownership of `fd` (non-blocking, TCP_NODELAY inherited from the listener).
  Handshake(Worker& worker, int fd, bool ipv6, std::string remote);
  ~Handshake();
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  /// Reads what has arrived; waits in the epoll set only for the rest of an incomplete head.
  void start();
  /// Readiness from the worker's epoll set.
  void on_io(std::uint32_t events);
  /// The handshake deadline (handshake_timeout from accept), checked by the worker's sweep.
  void on_sweep(Clock::time_point now);

  std::size_t slot = 0;  ///< index in the worker's handshake table (owned by Worker)

 private:
  void read();
  /// `data` holds the bytes received so far (the head at its start).
  void finish(const protocol::UpgradeHead& head, std::string_view data);
  /// Hands the connection to Beast: with `reply`, to answer it and close; otherwise to read
  /// the request from `data` on.
  void to_http(std::string_view data, std::optional<UpgradeResponse> reply = std::nullopt,
               std::string_view origin = {});
  /// Closes the connection without an answer.
  void close();
  /// The worker forgets this handshake (freed after the running handler).
  void done();

  Worker& worker_;
  int fd_;
  bool ipv6_;
  bool watched_ = false;  ///< in the worker's epoll set
  bool done_ = false;
  std::string remote_;
  std::string buf_;  ///< a partial head carried between reads
  Clock::time_point deadline_;
};

}  // namespace server
