#pragma once
// A WebSocket connection after the HTTP upgrade. Beast parsed the upgrade request; from here on
// this class owns RFC 6455 framing on the raw TCP socket:
//  - the socket is a plain fd in the worker's edge-triggered epoll set (Worker::watch), not an
//    Asio socket: readiness arrives through on_io();
//  - reads: read non-blocking into the worker's scratch buffer until the socket is drained, parse
//    and unmask frames in place; only a partial frame is copied into the session (Cold::inbuf);
//  - writes: one bounded SendQueue of shared pre-encoded frames and a single writer that sends
//    everything queued with one gathered non-blocking write, waiting only under backpressure.
// Control frames (pong, close) go through the same writer. Timers are a per-worker sweep, so an
// idle connection holds no timer object.
// With TLS (a TlsChannel from the HTTP stage) the model is the same: ciphertext is read
// non-blocking into the scratch buffer and decrypted there; queued frames are encrypted in
// batches into the channel's output buffer, written non-blocking. The plain path only tests
// `tls_` once per read and per flush.
// Threading: every member function runs on the owning worker's thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/registry.hpp"
#include "protocol/socket_id.hpp"
#include "protocol/ws_frame.hpp"
#include "server/errors.hpp"
#include "server/hub.hpp"
#include "server/net.hpp"
#include "server/send_queue.hpp"
#include "server/tls.hpp"
#include "server/worker.hpp"

namespace server {

class Worker;

/// What the HTTP stage learned from the upgrade request.
struct UpgradeInfo {
  std::string app_key;
  std::string origin;
  std::string accept_key;    ///< Sec-WebSocket-Accept value
  std::string remote;        ///< peer address, for logs and per-IP limits
  bool ip_over_cap = false;  ///< max_connections_per_ip reached: refuse with 4100
  bool ip_tracked = false;   ///< holds a per-IP slot (release it when the connection ends)
};

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  using Clock = std::chrono::steady_clock;

  WsSession(Worker& worker, tcp::socket socket, std::unique_ptr<TlsChannel> tls = nullptr);
  /// A plain connection from the fast accept path (Handshake): `fd` is non-blocking and has
  /// TCP_NODELAY (inherited from the listener); `in_epoll`: it is already in the worker's epoll
  /// set (registered by the handshake), so start() re-targets it instead of adding it.
  WsSession(Worker& worker, int fd, bool in_epoll);
  ~WsSession();
  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  /// Sends the 101 response, runs the connection checks of protocol.md §1.2 and starts reading.
  /// `leftover` holds bytes the HTTP parser read past the request (early client frames).
  void start(UpgradeInfo info, std::string_view leftover);

  /// Queues one shared frame (data path). Never tears down synchronously: a consumer over its
  /// budget is scheduled for close with 4100.
  void enqueue(const SharedFrame& frame);

  /// Sends `pusher:error` {code, message} then a close frame with the same code and reason,
  /// leaves every channel, and finishes the close handshake in the background. Idempotent.
  void close_with_error(std::uint16_t code, std::string_view message);
  /// The same for a situation of the error map (server/errors.hpp); a close_only row sends the
  /// close frame alone.
  void close_with_error(WsError why);

  /// Called by the worker's flush pass.
  void flush();
  /// Called by the worker's epoll pass: `events` is the epoll mask (EPOLLIN, EPOLLOUT, ...).
  void on_io(std::uint32_t events);
  /// Called by the worker's sweep (about twice a second): pings, pong/auth/close deadlines.
  void on_sweep(Clock::time_point now);

  [[nodiscard]] channels::ConnId id() const noexcept { return id_; }
  /// The pusher socket id as text ("" before the connection was accepted).
  [[nodiscard]] std::string socket_id() const { return accepted_ ? sid_.str() : std::string(); }
  [[nodiscard]] bool is_open() const noexcept { return state_ == State::open; }
  /// The app slot of an accepted connection, or SIZE_MAX.
  [[nodiscard]] std::size_t app_index() const noexcept {
    return app_ != nullptr ? app_->index : static_cast<std::size_t>(-1);
  }

  /// Cluster mode: the cluster's answer to a presence subscribe arrived (nullopt: use the
  /// local registry); sends subscription_succeeded if still subscribed. Owning thread.
  void presence_ready(const std::string& channel, std::optional<MemberList> members);

  /// The worker moved this session to position `slot` of `channel`'s subscriber vector.
  void set_index_slot(std::string_view channel, std::uint32_t slot) noexcept;

  bool dirty = false;  ///< in the worker's dirty list (owned by Worker)

 private:
  enum class State : std::uint8_t { handshake, open, closing, closed };

  /// One channel this connection is in, as this thread knows it.
  struct Subscription {
    std::string channel;
    std::string member_id;  ///< presence member id ("" for other channels)
    bool presence = false;
    std::uint32_t slot = 0;  ///< position in the worker's subscriber vector of this channel
  };

  // ---- I/O ----
  /// Reads until the socket is drained (or for a few rounds, then continues in a posted handler).
  void read_ready();
  /// The kernel send buffer is full: wait for EPOLLOUT (a consumer over budget is shed).
  void wait_writable();
  void process_bytes(std::uint8_t* data, std::size_t size);
  /// Handles one complete frame; returns false when the session stopped reading.
  bool on_frame(const protocol::FrameHeader& h, std::uint8_t* payload);
  void on_message(std::string_view text);
  void queue_control(protocol::Opcode op, std::string_view payload);
  /// Pushes a budget-counted frame; sheds the connection when it is a slow consumer.
  void push_counted(const SharedFrame& frame);
  void shed_slow_consumer();
  void queue_json(std::string_view json);
  // ---- TLS variants of the I/O above ----
  /// Decrypts everything buffered in tls_ and processes it; false when the session stopped.
  bool decrypt_tls();
  void flush_tls();
  /// Writes tls_'s pending ciphertext; false when it waits for writability or terminated.
  bool write_tls_out();
  void close_frame_only(WsError why);
  void begin_close(std::uint16_t code, std::string_view reason);
  /// Abrupt end (I/O error, peer gone, deadline): leave channels, close the socket.
  void terminate();
  void leave_everything();

  // ---- pusher events ----
  void handle_subscribe(std::string_view data_raw);
  void handle_unsubscribe(std::string_view data_raw);
  void handle_client_event(std::string_view event, std::string_view channel, bool has_channel,
                           std::string_view data_raw);
  void handle_signin(std::string_view data_raw);
  /// pusher:error for a parse error of the protocol layer (its own code and message).
  void send_error(int code, std::string_view message);
  /// pusher:error for a situation of the error map, its message completed by `detail`.
  void send_error(WsError why, std::string_view detail = {});
  /// Emits a webhook event for this connection's app if any webhook wants `name`. Any lock.
  void webhook(std::string_view name, std::string_view channel,
               std::optional<std::string> user_id = std::nullopt,
               std::optional<std::uint64_t> subscription_count = std::nullopt);
  /// Webhooks for one registry leave result (vacated, member removed, subscription count).
  void webhooks_for_leave(std::string_view channel, const channels::LeaveResult& res);
  /// Cluster mode: the initial watchlist state of this socket (flags per id, or nullopt: ask
  /// the local registry). Owning thread.
  void watchlist_ready(const std::string& user_id, const std::vector<std::string>& ids,
                       const std::optional<std::vector<bool>>& online_flags);
  /// Cluster mode: reports a registry leave to the adapter. Holds: state mutex.
  void cluster_leave(std::string_view channel, const channels::LeaveResult& res);
  /// Cache channels: the cached event or pusher:cache_miss, after subscription_succeeded.
  void send_cache_state(const std::string& channel);
  /// Sends a watchlist online/offline event about `user_id` to its watchers. Holds: state mutex.
  void notify_watchers(const std::string& user_id, bool online);
  void log_denied(AuthFailure why, std::string_view channel, std::string_view reason);
  [[nodiscard]] Subscription* find_subscription(std::string_view channel);
  /// Records a new subscription on this thread: the session's list, the worker's fan-out index
  /// and the app's counter (the registry is updated by the caller).
  void add_subscription(const std::string& channel, std::string member_id, bool presence);
  /// Counts and (once per burst) logs an abuse event of this connection.
  void abuse(AbuseKind kind);
  /// The app's message_rate_limit: false when this inbound message must be dropped.
  [[nodiscard]] bool message_allowed();

  Worker& worker_;
  Hub& hub_;
  int fd_ = -1;                      ///< the connection's socket (owned; non-blocking)
  std::unique_ptr<TlsChannel> tls_;  ///< null on the plain path
  AppRuntime* app_ = nullptr;
  channels::ConnId id_ = 0;
  protocol::SocketId sid_;  ///< valid once accepted_
  std::string remote_;
  State state_ = State::handshake;
  AppCounters* stats_ = nullptr;  ///< this app's counters on this worker
  bool accepted_ = false;         ///< passed the §1.2 checks (connection_established sent)
  bool counted_ = false;          ///< counted in node/app connection totals
  bool registered_ = false;       ///< in the worker's session table and the hub's socket map
  bool write_waiting_ = false;    ///< waiting for EPOLLOUT (the kernel buffer was full)
  bool read_again_ = false;       ///< a posted read continuation is pending
  bool peer_closed_ = false;      ///< the peer's close frame arrived
  bool close_sent_ = false;       ///< our close frame is queued
  bool over_budget_ = false;      ///< a 4100 close is scheduled
  bool authorized_ = false;       ///< signed in, or completed a private/presence subscription
  bool ping_outstanding_ = false;
  bool fd_prepared_ = false;  ///< non-blocking with TCP_NODELAY already (fast accept path)
  bool fd_in_epoll_ = false;  ///< registered in the worker's epoll set by the handshake

  SendQueue queue_;
  /// State most connections never need, allocated on first use (saves ~90 B per idle
  /// connection): partial frames, fragmented messages, the signed-in user.
  struct Cold {
    std::string inbuf;      ///< a partial frame carried between reads
    std::string fragments;  ///< a fragmented message being reassembled
    std::string user_id;    ///< signed-in user ("" = none)
    bool in_fragmented = false;
    protocol::Opcode fragmented_opcode = protocol::Opcode::text;
  };
  std::unique_ptr<Cold> cold_;
  Cold& cold() {
    if (!cold_) cold_ = std::make_unique<Cold>();
    return *cold_;
  }
  [[nodiscard]] bool in_fragmented() const noexcept { return cold_ && cold_->in_fragmented; }
  [[nodiscard]] const std::string& user_id() const noexcept {
    static const std::string none;
    return cold_ ? cold_->user_id : none;
  }

  std::vector<Subscription> subscriptions_;

  Clock::time_point connected_at_{};
  Clock::time_point last_activity_{};
  Clock::time_point ping_sent_at_{};
  Clock::time_point close_deadline_{};

  Clock::time_point rate_window_start_{};
  std::uint64_t rate_count_ = 0;

  bool ip_tracked_ = false;               ///< holds a per-IP connection slot (IpLimiter)
  Clock::time_point msg_window_start_{};  ///< message_rate_limit window
  std::uint64_t msg_count_ = 0;
  bool msg_limit_notified_ = false;  ///< the window's 4301 frame was sent
};

}  // namespace server
