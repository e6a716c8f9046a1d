#pragma once
// One worker = one thread running one io_context. Sessions are pinned to a worker for life, so
// everything here is touched only by that thread (no locks), except `ioc()` / `post()` and the
// relaxed atomic counters read by the metrics endpoint.

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "channels/registry.hpp"
#include "protocol/client_message.hpp"
#include "server/abuse.hpp"
#include "server/errors.hpp"
#include "server/hub.hpp"
#include "server/net.hpp"
#include "server/send_queue.hpp"

namespace server {

class WsSession;
class WsTransport;
class Handshake;
class Listener;

/// Per-app counters of one worker (Sockudo's metric names, summed over workers at scrape time).
/// Relaxed atomics: the owning worker writes, the metrics endpoint reads.
struct AppCounters {
  std::atomic<std::uint64_t> new_connections{0};
  std::atomic<std::uint64_t> disconnections{0};
  std::atomic<std::uint64_t> connection_errors{0};
  std::atomic<std::uint64_t> rx_bytes{0};
  std::atomic<std::uint64_t> tx_bytes{0};
  std::atomic<std::uint64_t> ws_messages_received{0};
  std::atomic<std::uint64_t> ws_messages_sent{0};
  std::atomic<std::uint64_t> http_calls{0};
  std::atomic<std::uint64_t> http_rx_bytes{0};
  std::atomic<std::uint64_t> http_tx_bytes{0};
  std::atomic<std::uint64_t> subscriptions{0};
  std::atomic<std::uint64_t> unsubscriptions{0};
  std::atomic<std::uint64_t> rate_limit_checks{0};
  std::atomic<std::uint64_t> rate_limit_triggered{0};
};

/// Why an authentication attempt was denied (label of pushcore_auth_failures_total).
enum class AuthFailure : std::uint8_t {
  signature_missing,
  signature_invalid,
  signin_invalid,
  api_request,
  origin,
  count_
};

/// Node-level counters of one worker.
struct WorkerCounters {
  std::atomic<std::uint64_t> connections_opened{0};  ///< every upgraded socket
  std::atomic<std::uint64_t> connections_closed{0};
  std::atomic<std::uint64_t> slow_consumers_closed{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(AuthFailure::count_)>
      auth_failures{};
  void auth_failed(AuthFailure why) noexcept {
    auth_failures[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  }
};

class Worker {
 public:
  Worker(Hub& hub, std::size_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  [[nodiscard]] net::io_context& ioc() noexcept { return ioc_; }
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  [[nodiscard]] Hub& hub() noexcept { return hub_; }
  [[nodiscard]] WorkerCounters& counters() noexcept { return counters_; }
  /// Abuse counters and once-per-burst logging (note() on the owning thread only).
  [[nodiscard]] AbuseLog& abuse() noexcept { return abuse_; }
  /// Counters of app `index`; index == app_capacity() is the slot for sockets with no valid app.
  [[nodiscard]] AppCounters& app_counters(std::size_t index) noexcept {
    return app_counters_[index];
  }
  [[nodiscard]] bool on_this_thread() const noexcept {
    return std::this_thread::get_id() == thread_id_;
  }

  /// Starts the thread (runs the io_context until stop()).
  void start();
  void stop();
  void join();

  // ---- everything below: owning thread only ----------------------------------------------

  /// A fresh connection id, unique node-wide (worker index in the top bits).
  [[nodiscard]] channels::ConnId next_conn_id() noexcept;
  /// The worker owns its sessions from add_session() until remove_session(); a removed session
  /// stays alive until the running handler returns (it may be the caller).
  void add_session(std::shared_ptr<WsSession> s);
  void remove_session(WsSession* s);
  /// Registers a session's socket with the worker's edge-triggered epoll set (EPOLLIN |
  /// EPOLLOUT); readiness is reported through WsTransport::on_io. False if epoll_ctl failed.
  /// Closing the socket removes it (see unwatch()).
  [[nodiscard]] bool watch(int fd, WsTransport* s) noexcept;
  void unwatch(int fd) noexcept;
  /// Re-targets a descriptor already in the set (a handshake's) to session `s`.
  [[nodiscard]] bool rewatch(int fd, WsTransport* s) noexcept;
  /// A handshake waiting for the rest of its request head (edge-triggered EPOLLIN).
  [[nodiscard]] bool watch_handshake(int fd, Handshake* h) noexcept;
  /// The plain listener's descriptor (level-triggered EPOLLIN): Listener::on_ready accepts.
  [[nodiscard]] bool watch_listener(int fd, Listener* l) noexcept;

  /// A connection accepted by the plain listener's fast path: starts its HTTP stage here (see
  /// server/handshake.hpp). Takes ownership of `fd`.
  void adopt_connection(int fd, bool ipv6, std::string remote);
  /// The handshake is over (upgraded, handed to Beast, or closed): freed after the handler.
  void end_handshake(Handshake* h);
  [[nodiscard]] WsSession* find_session(channels::ConnId id) const noexcept;
  [[nodiscard]] std::size_t session_count() const noexcept { return sessions_.size(); }

  /// Local fan-out index: which of this worker's sessions are in (app, channel). index_add
  /// returns the session's slot in the channel's vector; removal is O(1) by that slot (the
  /// session moved into it is told its new slot through WsSession::set_index_slot).
  [[nodiscard]] std::uint32_t index_add(std::size_t app_index, std::string_view channel,
                                        WsSession* s);
  void index_remove(std::size_t app_index, std::string_view channel, WsSession* s,
                    std::uint32_t slot);

  /// Enqueues `frame` (its V2 encoding to V2 sessions, when it has one) on every local
  /// subscriber of (app, channel) except `except`; returns how many got it.
  std::size_t deliver(std::size_t app_index, std::string_view channel, const DialectFrames& frame,
                      channels::ConnId except);

  /// Cork: remember that `s` has queued output; one posted flush per burst writes them all.
  void mark_dirty(std::shared_ptr<WsTransport> s);

  /// Closes every session with 4200 (graceful shutdown).
  void close_all_for_shutdown();
  /// Closes every session of app slot `app_index` with `code` (reload: app removed/disabled).
  void close_app_sessions(std::size_t app_index, WsError why);

  [[nodiscard]] protocol::ClientMessageParser& parser() noexcept { return parser_; }
  /// Read scratch shared by all sessions of this worker (data is consumed before the next read).
  [[nodiscard]] std::vector<std::uint8_t>& scratch() noexcept { return scratch_; }

  /// Steady-clock time of the last sweep tick (coarse "now" for sessions).
  [[nodiscard]] std::chrono::steady_clock::time_point now() const noexcept {
    return std::chrono::steady_clock::now();
  }

 private:
  void flush_dirty();
  void arm_poll();
  void poll_ready();
  void reap();
  void schedule_sweep();
  void sweep();

  Hub& hub_;
  std::size_t index_;
  net::io_context ioc_{1};
  net::executor_work_guard<net::io_context::executor_type> work_;
  // The sessions' sockets live in this epoll set, not in Asio's reactor: an idle connection
  // then costs one kernel epoll item instead of Asio's per-descriptor state plus a pending wait
  // operation (~450 B of user memory), and a read or write wait costs no epoll_ctl. The set's
  // own fd is waited on through the io_context (one pending operation per worker).
  net::posix::stream_descriptor poll_fd_;
  std::thread thread_;
  std::thread::id thread_id_;
  net::steady_timer sweep_timer_;
  WorkerCounters counters_;
  AbuseLog abuse_;
  std::unique_ptr<AppCounters[]> app_counters_;
  std::uint64_t next_id_ = 1;
  std::uint64_t sweeps_ = 0;

  std::unordered_map<channels::ConnId, std::shared_ptr<WsSession>> sessions_;
  std::vector<std::shared_ptr<WsSession>> graveyard_;   ///< removed, freed after the handler
  std::vector<std::unique_ptr<Handshake>> handshakes_;  ///< Handshake::slot indexes it
  std::vector<std::unique_ptr<Handshake>> handshake_graveyard_;
  bool reap_posted_ = false;
  /// One harvested batch of readiness events (dispatched in a posted turn; more are taken in
  /// later turns).
  std::array<epoll_event, 256> events_{};
  bool dispatch_pending_ = false;
  using ChannelSubs =
      std::unordered_map<std::string, std::vector<WsSession*>, StringHash, std::equal_to<>>;
  std::vector<ChannelSubs> subs_;  // per app index

  std::vector<std::shared_ptr<WsTransport>> dirty_;
  std::vector<std::shared_ptr<WsTransport>> flushing_;
  bool flush_posted_ = false;

  protocol::ClientMessageParser parser_;
  std::vector<std::uint8_t> scratch_;
};

}  // namespace server
