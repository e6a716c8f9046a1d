#pragma once
// The Pusher connection on top of a WebSocket transport (server/ws_transport.hpp): admission
// (protocol.md §1.2), the pusher:* events of the client (subscribe per channel kind,
// unsubscribe, client events, sign-in and watchlists), liveness pings, and the teardown that
// leaves every channel. What a registry change causes beyond this connection (webhooks, member
// and watchlist events, on this node or the cluster) is the adapter's (server/adapter.hpp).
// The methods live in three files: ws_session.cpp (life cycle, dispatch, errors),
// ws_session_channels.cpp (subscriptions and client events), ws_session_signin.cpp.
// Threading: every member function runs on the owning worker's thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/registry.hpp"
#include "protocol/channel.hpp"
#include "protocol/messages.hpp"
#include "protocol/socket_id.hpp"
#include "server/adapter.hpp"
#include "server/errors.hpp"
#include "server/rate_limit.hpp"
#include "server/ws_transport.hpp"

namespace server {

class Worker;
struct AppRuntime;
enum class AuthFailure : std::uint8_t;

/// What the HTTP stage learned from the upgrade request.
struct UpgradeInfo {
  std::string app_key;
  std::string origin;
  std::string accept_key;    ///< Sec-WebSocket-Accept value
  std::string remote;        ///< peer address, for logs and per-IP limits
  bool ip_over_cap = false;  ///< max_connections_per_ip reached: refuse with 4100
  bool ip_tracked = false;   ///< holds a per-IP slot (release it when the connection ends)
  /// `?protocol=2` on the upgrade: Sockudo's protocol V2 (`sockudo:` prefixes).
  protocol::Dialect dialect = protocol::Dialect::v1;
  /// `echo_messages` (echo_control): a V2 connection receives its own client events.
  bool echo_messages = true;
};

class WsSession final : public WsTransport {
 public:
  WsSession(Worker& worker, tcp::socket socket, std::unique_ptr<TlsChannel> tls = nullptr);
  /// A plain connection from the fast accept path (Handshake): `fd` is non-blocking and has
  /// TCP_NODELAY (inherited from the listener); `in_epoll`: it is already in the worker's epoll
  /// set (registered by the handshake), so the transport re-targets it instead of adding it.
  WsSession(Worker& worker, int fd, bool in_epoll);
  ~WsSession() override;

  /// Sends the 101 response, runs the connection checks of protocol.md §1.2 and starts reading.
  /// `leftover` holds bytes the HTTP parser read past the request (early client frames).
  void start(UpgradeInfo info, std::string_view leftover);

  /// Sends `pusher:error` {code, message} for a situation of the error map (server/errors.hpp)
  /// then a close frame with the same code and reason (a close_only row: the close frame
  /// alone), leaves every channel, and finishes the close handshake in the background.
  /// Idempotent.
  void close_with_error(WsError why);

  /// Called by the worker's sweep (about twice a second): pings, pong/auth/close deadlines.
  void on_sweep(Clock::time_point now);

  [[nodiscard]] channels::ConnId id() const noexcept { return id_; }
  /// The pusher socket id as text ("" before the connection was accepted).
  [[nodiscard]] std::string socket_id() const { return accepted_ ? sid_.str() : std::string(); }
  /// The app slot of an accepted connection, or SIZE_MAX.
  [[nodiscard]] std::size_t app_index() const noexcept;

  /// The cluster's answer to a presence subscribe arrived (nullopt: use the local registry);
  /// sends subscription_succeeded if still subscribed.
  void presence_ready(const std::string& channel, std::optional<MemberList> members);
  /// The cluster's answer to a sign-in's watchlist arrived (flags per id, or nullopt: use the
  /// local registry); sends the watchlist event if still signed in as `user_id`.
  void watchlist_ready(const std::string& user_id, const std::vector<std::string>& ids,
                       const std::optional<std::vector<bool>>& online_flags);

  /// The dialect of this connection (fixed at the upgrade): which of a frame's two encodings
  /// the fan-out gives it.
  [[nodiscard]] bool v2() const noexcept { return dialect_ == protocol::Dialect::v2; }

  /// True while a replay guard or hold is set (Worker::deliver then asks intercept_live).
  [[nodiscard]] bool replay_guarded() const noexcept { return replay_guarded_; }
  /// A live message of a channel being replayed: held while the cluster's answer is awaited
  /// (true), skipped when it is a copy of a message just replayed (true), else false.
  [[nodiscard]] bool intercept_live(std::string_view channel, const DialectFrames& frame);

  /// A member event decided as `decision` that this connection's member list of `channel`
  /// already reflects (it was read at a later decision): not to be delivered.
  [[nodiscard]] bool member_event_known(std::string_view channel, std::uint64_t decision);

  /// The worker moved this session to position `slot` of `channel`'s subscriber vector.
  void set_index_slot(std::string_view channel, std::uint32_t slot) noexcept;

 private:
  /// One channel this connection is in, as this thread knows it.
  struct Subscription {
    std::string channel;
    std::string member_id;  ///< presence member id ("" for other channels)
    bool presence = false;
    /// The member's id is a JSON number (its kept type, protocol §5.1): client events carry
    /// `user_id` as that number.
    bool member_id_numeric = false;
    std::uint32_t slot = 0;  ///< position in the worker's subscriber vector of this channel
    /// Presence: the hub's member decision count when this connection's member list was read
    /// (member events decided up to it are already in the list).
    std::uint64_t member_decision = 0;
  };

  // ---- the transport's hooks (ws_session.cpp) ----
  void on_message(std::string_view text) override;
  bool on_ping() override;
  void on_leave() override;
  void on_terminated() override;
  void on_abuse(AbuseKind kind) override;
  void on_slow_consumer() override;

  // ---- admission, errors, teardown (ws_session.cpp) ----
  /// Queues a frame built by protocol/messages.hpp in this connection's dialect; on V2 with its
  /// own message_id (Sockudo's direct frames) unless `own_message_id` is false (ping / pong, or a
  /// frame that already has its identity).
  void send_json(std::string_view json, bool own_message_id = true);
  /// The §1.2 checks in Sockudo's order; true when the connection is accepted.
  /// The checks of §1.2 once the app is known (`app` null: unknown key), then reading starts.
  void finish_start(AppRuntime* app, const UpgradeInfo& info, std::string_view leftover);
  bool admit(AppRuntime* app, const UpgradeInfo& info);
  /// pusher:error for a parse error of the protocol layer (its own code and message).
  void send_error(int code, std::string_view message);
  /// pusher:error for a situation of the error map, its message completed by `detail`.
  void send_error(WsError why, std::string_view detail = {});
  void log_denied(AuthFailure why, std::string_view channel, std::string_view reason);
  /// Counts and (once per burst) logs an abuse event of this connection.
  void abuse(AbuseKind kind);
  /// The app's message_rate_limit: false when this inbound message must be dropped.
  [[nodiscard]] bool message_allowed();
  /// Leaves every channel, signs out, gives back the connection's counts and per-IP slot.
  void leave_everything();

  // ---- subscriptions and client events (ws_session_channels.cpp) ----
  void handle_subscribe(std::string_view data_raw);
  /// A refused subscription of `channel`: the row's connection-level pusher:error (Sockudo's)
  /// and the channel-scoped pusher:subscription_error (server/errors.hpp).
  void refuse_subscription(const std::string& channel, WsError why, std::string_view detail = {});
  /// The same for a parse error of the protocol layer (its code and message): ServerError.
  void refuse_subscription(const std::string& channel, int code, std::string_view message);
  /// #server-to-user-<id>: only the signed-in user's own, and no state.
  void subscribe_server_to_user(const std::string& channel);
  /// Public, private and private-encrypted channels (auth already checked).
  void subscribe_plain(const std::string& channel, bool authorized);
  void subscribe_presence(const std::string& channel, const std::string& channel_data);
  /// The signature of a private or presence subscribe; false (error sent) when it fails.
  bool check_channel_auth(const std::string& channel, const protocol::ChannelKind& kind,
                          const std::optional<std::string>& auth,
                          const std::optional<std::string>& channel_data);
  /// Queues subscription_succeeded with `members`, and the cache state on a cache channel.
  void presence_succeeded(const std::string& channel,
                          const std::vector<protocol::PresenceMember>& members);
  /// The presence members of (app, channel) in this node's registry. Holds: state mutex.
  [[nodiscard]] std::vector<protocol::PresenceMember> local_members(std::string_view channel);
  void handle_unsubscribe(std::string_view data_raw);
  void handle_client_event(std::string_view event, std::string_view channel, bool has_channel,
                           std::string_view data_raw);
  /// pusher:error of a refused client event, carrying `channel` (when the event named one) so
  /// that pusher-js also hands it to the channel.
  void refuse_client_event(std::string_view channel, WsError why, std::string_view detail = {});
  /// Cache channels: the cached event or pusher:cache_miss, after subscription_succeeded.
  void send_cache_state(const std::string& channel);
  [[nodiscard]] Subscription* find_subscription(std::string_view channel);
  /// Records a new subscription on this thread: the session's list, the worker's fan-out index
  /// and the app's counter (the registry is updated by the caller).
  void add_subscription(const std::string& channel, std::string member_id, bool presence,
                        bool member_id_numeric = false, std::uint64_t member_decision = 0);

  // ---- protocol V2 recovery and rewind (ws_session_recovery.cpp) ----
  /// Sends subscription_succeeded (`json`), in V2 with recovery on carrying the channel's
  /// position (stream_id, serial) so the client can resume from it, then serves a pending
  /// resume or rewind of the channel.
  void send_subscribed(const std::string& channel, std::string json);
  void handle_resume(std::string_view data_raw);
  /// A subscribe's `rewind` (V2, replay buffer on): noted for after subscription_succeeded;
  /// false (error sent, no subscription) when it cannot be served.
  bool accept_rewind(const std::string& channel, std::string_view rewind_raw);
  /// One channel of a resume (subscribed): replays or fails it, appending its report.
  void resume_channel(const std::string& channel, const std::optional<std::string>& stream_id,
                      std::uint64_t serial);
  /// Notes that `channel` was replayed up to `serial` (Worker::deliver then skips live copies).
  void guard_replayed(const std::string& channel, std::uint64_t serial);
  /// Cluster (Adapter::sequences): holds the channel's live messages while its position or
  /// history is asked; nests. `release_hold` sends the held ones after `after_serial` once the
  /// last holder releases.
  void hold_live(const std::string& channel);
  void release_hold(const std::string& channel, std::uint64_t after_serial);
  /// True when the channel's hold overflowed (its live messages went out unheld).
  [[nodiscard]] bool hold_overflowed(const std::string& channel) const;
  /// The position the cluster answered for a subscription_succeeded that waited for it.
  void subscribed_at(const std::string& channel, const std::string& json,
                     std::optional<StreamPosition> pos);
  /// After subscription_succeeded: the channel's rewind and waiting resume, if any.
  void after_subscribed(const std::string& channel);
  /// Reports one resume channel from what a buffer or the cluster found.
  void conclude_resume(const std::string& channel, const std::optional<std::string>& stream_id,
                       const ReplayLookup& found);
  /// resume_failed for a channel whose continuity cannot be checked (`reason`).
  void report_unverifiable(const std::string& channel, const std::optional<std::string>& stream_id,
                           std::string_view reason);
  /// Sends resume_failed (`data`: its fields) and notes it for resume_success.
  void send_resume_failed(const std::string& channel, const std::string& data,
                          std::string_view code);
  /// The cluster's history for a resume channel (Adapter::history).
  void resumed_from_cluster(const std::string& channel, const std::optional<std::string>& stream_id,
                            std::uint64_t serial, std::optional<History> history);
  /// The cluster's history for a rewind.
  void rewound_from_cluster(const std::string& channel, std::uint64_t count,
                            std::optional<std::uint64_t> seconds, std::optional<History> history);
  /// Sends a rewind's messages and its rewind_complete.
  void send_rewind(const std::string& channel, const std::vector<ReplayEntry>& entries,
                   bool truncated_by_limit, bool truncated_by_retention);
  /// Sends resume_success once no channel of the resume waits for its subscription.
  void finish_resume(bool deadline_passed);
  /// The rewind of a new subscription: history, then rewind_complete.
  void rewind_channel(const std::string& channel);
  /// Protocol V2 state of a connection that asked for a resume or rewind (allocated then).
  struct Recovery {
    /// channel -> serial of the last message replayed to this connection
    std::vector<std::pair<std::string, std::uint64_t>> guards;
    struct Position {
      std::string channel;
      std::optional<std::string> stream_id;
      std::uint64_t serial = 0;
    };
    std::vector<Position> pending;  ///< resume positions waiting for their subscription
    std::string recovered, failed;  ///< resume_success's arrays so far (JSON members)
    bool resuming = false;
    Clock::time_point resume_deadline{};
    struct Rewind {
      std::string channel;
      std::uint64_t count = 0;
      std::optional<std::uint64_t> seconds;
    };
    std::vector<Rewind> rewinds;  ///< rewinds waiting for their subscription_succeeded
    /// Channels whose live messages wait for the cluster's answer (position or history).
    struct Hold {
      std::string channel;
      std::vector<DialectFrames> frames;
      int holders = 0;
      std::uint64_t after = 0;  ///< the held messages up to this serial were replayed
      bool overflowed = false;  ///< too many held: sent on, the replay cannot be in order
    };
    std::vector<Hold> holds;
    std::size_t awaiting = 0;  ///< resume channels waiting for the cluster's history
    /// Subscribed channels whose subscription_succeeded waits for the cluster's position.
    std::vector<std::string> positioning;
  };
  [[nodiscard]] Recovery& recovery();

  // ---- sign-in (ws_session_signin.cpp) ----
  void handle_signin(std::string_view data_raw);
  [[nodiscard]] const std::string& user_id() const noexcept {
    static const std::string none;
    return user_id_ ? *user_id_ : none;
  }

  Hub& hub_;
  AppRuntime* app_ = nullptr;
  channels::ConnId id_ = 0;
  protocol::SocketId sid_;  ///< valid once accepted_
  std::string remote_;
  bool accepted_ = false;    ///< passed the §1.2 checks (connection_established sent)
  bool counted_ = false;     ///< counted in node/app connection totals
  bool registered_ = false;  ///< in the worker's session table and the hub's socket map
  bool authorized_ = false;  ///< signed in, or completed a private/presence subscription
  bool ping_outstanding_ = false;
  protocol::Dialect dialect_ = protocol::Dialect::v1;
  bool echo_messages_ = false;  ///< V2 with echo_messages: receives its own client events
  bool replay_guarded_ = false;
  std::unique_ptr<Recovery> recovery_;
  bool ip_tracked_ = false;               ///< holds a per-IP connection slot (IpLimiter)
  std::unique_ptr<std::string> user_id_;  ///< the signed-in user (null: none)
  std::vector<Subscription> subscriptions_;
  Clock::time_point connected_at_{};
  Clock::time_point ping_sent_at_{};
  FixedWindow client_events_;  ///< max_client_events_per_second
  FixedWindow messages_;       ///< message_rate_limit (noted: the window's 4301 was sent)
};

}  // namespace server
