#pragma once
// The seam between what a connection or the HTTP API does and what follows from it on the node
// or the cluster: who receives a publish, which webhooks and member events a subscription
// change causes, and the counts the HTTP API reports. LocalAdapter (server/local_adapter.hpp)
// answers for one node; RedisAdapter (server/redis_adapter.hpp) for a cluster of nodes sharing
// a Redis (docs/CLUSTER.md).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/registry.hpp"
#include "server/errors.hpp"
#include "server/idempotency.hpp"
#include "server/replay_buffer.hpp"

namespace server {

class Worker;

/// One event to publish on one or more channels of one app.
struct PublishRequest {
  std::size_t app_index = 0;
  std::vector<std::string> channels;
  std::string event;
  std::string data;              ///< delivered as a JSON string (HTTP API semantics)
  channels::ConnId except = 0;   ///< this connection does not receive it (0 = none)
  std::string except_socket_id;  ///< the same exclusion by socket id (resolved on other nodes)
};

/// One presence member as seen by the whole cluster.
struct ClusterMember {
  std::string user_id;
  std::string user_info;         ///< JSON
  bool user_id_numeric = false;  ///< the id was signed as a JSON number (protocol §5.1)
};
/// Presence members as seen by the whole cluster, each distinct user once.
using MemberList = std::vector<ClusterMember>;
/// Called once with the cluster's presence members, or nullopt when the cluster cannot answer
/// (the caller then uses its local registry). Runs on the adapter's thread.
using MembersCallback = std::function<void(std::optional<MemberList>)>;
/// Online flags of a list of user ids (same order), or nullopt when the cluster cannot answer.
using OnlineCallback = std::function<void(std::optional<std::vector<bool>>)>;

/// The joiner of a presence channel, as Adapter::presence_joined needs it.
struct PresenceJoin {
  std::size_t app_index = 0;
  std::string_view channel;
  channels::ConnId conn = 0;
  std::string_view socket_id;
  std::string_view user_id;
  std::string_view user_info;    ///< JSON
  bool user_id_numeric = false;  ///< `user_id` was signed as a JSON number (protocol §5.1)
};

/// One channel's counts as answered by Adapter::query_channel.
struct ChannelCounts {
  std::size_t subscription_count = 0;
  std::size_t user_count = 0;  ///< distinct presence users (0 for other channels)
};
using CountsCallback = std::function<void(ChannelCounts)>;
/// One presence user id as answered by Adapter::query_users, with its signed type.
struct PresenceUserId {
  std::string id;
  bool numeric = false;  ///< signed as a JSON number: listed as one (protocol §5.1)
};
/// Presence user ids as answered by Adapter::query_users.
using UsersCallback = std::function<void(std::vector<PresenceUserId>)>;

/// A channel's stream position as the cluster answers it, or nullopt when it cannot.
using PositionCallback = std::function<void(std::optional<StreamPosition>)>;
/// What a resume or a rewind asks of the cluster's history of one channel.
struct HistoryRequest {
  bool latest = false;      ///< the newest `count` messages (rewind), else those after `after`
  std::uint64_t after = 0;  ///< resume: the client's last serial
  std::uint64_t count = 0;  ///< at most this many messages
};
/// One message of the cluster's history.
struct HistoryEntry {
  std::uint64_t serial = 0;
  std::int64_t age_ms = 0;  ///< how long ago it was published
  std::string message_id;
  std::string json;  ///< the frame without identity (what V1 gets)
};
/// The cluster's history of one channel, oldest first.
struct History {
  std::optional<std::string> stream_id;      ///< nullopt: the cluster keeps no stream for it
  std::uint64_t newest = 0;                  ///< the stream's newest serial
  std::optional<std::uint64_t> oldest_kept;  ///< the oldest serial still kept (nullopt: none)
  std::vector<HistoryEntry> entries;
};
using HistoryCallback = std::function<void(std::optional<History>)>;
/// An idempotency claim as the cluster answers it (nullopt: it cannot answer).
using ClaimCallback = std::function<void(std::optional<IdempotencyCache::Claim>)>;

/// Told once whether a publish entered the cluster (true) or could not (false: Redis refused or
/// was lost before numbering it; nothing was delivered).
using PublishDone = std::function<void(bool published)>;

/// A PublishDone called once `n` results arrived, with true when all were (n == 0: at once; a
/// null `done`: nothing). Any thread.
[[nodiscard]] inline PublishDone gather_results(std::size_t n, PublishDone done) {
  if (!done) return [](bool) {};
  struct State {
    std::atomic<std::size_t> left;
    std::atomic<bool> ok{true};
    PublishDone done;
  };
  auto st = std::make_shared<State>();
  st->left.store(n + 1);
  st->done = std::move(done);
  auto one = [st](bool ok) {
    if (!ok) st->ok.store(false);
    if (st->left.fetch_sub(1) == 1) st->done(st->ok.load());
  };
  one(true);  // the extra count: with n == 0 this answers now
  return one;
}

class Adapter {
 public:
  virtual ~Adapter() = default;
  /// Publishes an HTTP-API event: encodes it once per channel, stores cache-channel events,
  /// fans out. Any thread. `caller` is the worker running this call, if any. `done` (may be
  /// null) is told once, inline or on the adapter's thread, when every channel's message is
  /// delivered locally or, numbered by a cluster, on its way to every node in order.
  virtual void publish(const PublishRequest& request, Worker* caller, PublishDone done) = 0;
  /// Delivers an already encoded frame (client events, presence member events) to every
  /// subscriber of (app, channel) except `except`. Any thread, may hold the state mutex.
  virtual void broadcast(std::size_t app_index, std::string_view channel,
                         const std::shared_ptr<const std::string>& frame, channels::ConnId except,
                         Worker* caller) = 0;
  /// Client events (their JSON): to every subscriber except `except`, also on other nodes,
  /// where `except_socket_id` is excluded (empty: nobody, a V2 sender that wants its echo).
  virtual void broadcast_client_event(std::size_t app_index, std::string_view channel,
                                      std::string_view json, channels::ConnId except,
                                      std::string_view except_socket_id, Worker* caller) = 0;
  // ---- queries (HTTP API) -------------------------------------------------------------------
  // Each query calls `done` exactly once. A local answer (LocalAdapter, or a clustered adapter
  // that cannot ask the cluster right now) is given inline on the calling thread; a clustered
  // answer on the adapter's thread, within its request timeout, with this node's local answer
  // when the cluster does not answer in time. `done` must therefore not block and must move
  // its work to the caller's thread itself (see server/http_api.cpp).

  /// Occupied channels whose name starts with prefix, with their subscription/user counts.
  struct ChannelInfo {
    std::string name;
    std::size_t subscription_count;
    std::size_t user_count;
  };
  /// Subscription count and distinct presence users of one channel (cluster-wide in a
  /// clustered adapter). Any thread.
  virtual void query_channel(std::size_t app_index, std::string_view channel,
                             CountsCallback done) = 0;
  /// Presence user ids of a channel. Any thread.
  virtual void query_users(std::size_t app_index, std::string_view channel, UsersCallback done) = 0;
  /// Occupied channels whose name starts with `prefix`. Any thread.
  virtual void query_channels(std::size_t app_index, std::string_view prefix,
                              std::function<void(std::vector<ChannelInfo>)> done) = 0;

  // ---- membership: what follows from a registry change (docs/CLUSTER.md) -----------------
  // A session reports every registry change of its own connection here, with the state mutex
  // held, in decision order. The adapter decides what follows: the local adapter from this
  // node's registry (webhooks, member events, watchlist events to local sockets); a clustered
  // adapter from the cluster's state, for every node. Sessions never ask which one they have.

  /// False while a clustered adapter cannot reach the cluster: the HTTP API answers 503.
  [[nodiscard]] virtual bool available() const noexcept { return true; }
  /// A connection joined the non-presence channel (app, channel); `res` is the registry's
  /// answer (not already_subscribed).
  virtual void joined(std::size_t app_index, std::string_view channel,
                      const channels::JoinResult& res) = 0;
  /// A presence subscribe of connection `who.conn`. `res` is the registry's answer for a new
  /// subscription, null when the connection subscribes again to a channel it is in. Returns
  /// false when this node's registry is the joiner's member list (the caller reads it now,
  /// under the same lock); true when the list comes later through `done` (adapter thread).
  virtual bool presence_joined(const PresenceJoin& who, const channels::JoinResult* res,
                               MembersCallback done) = 0;
  /// Connection `conn` left (app, channel), by unsubscribe or disconnect.
  virtual void left(std::size_t app_index, std::string_view channel, channels::ConnId conn,
                    const channels::LeaveResult& res) = 0;
  /// Watchlists: `user_id` got its first (online) / lost its last (offline) signed-in
  /// connection on this node. The adapter tells the watchers (on every node).
  virtual void user_online_changed(std::size_t app_index, std::string_view user_id,
                                   bool online) = 0;
  /// A new sign-in's initial watchlist state. Returns false when this node's registry is the
  /// answer (the caller reads it now); true when `done` gets, on the adapter's thread, which of
  /// `user_ids` are signed in anywhere (same order), or nullopt when the cluster cannot answer.
  virtual bool users_online(std::size_t app_index, std::vector<std::string> user_ids,
                            OnlineCallback done) = 0;
  /// terminate_connections (why = terminated_by_app) or force_reconnect (why =
  /// force_reconnect) on every other node; this node closes its own.
  virtual void terminate_user(std::size_t app_index, std::string_view user_id, WsError why) {
    (void)app_index, (void)user_id, (void)why;
  }

  // ---- Protocol V2 across the cluster (docs/CLUSTER.md) --------------------------------------
  /// True when the cluster numbers channel messages (serials, stream ids) and keeps their
  /// history: the node's ReplayBuffer is then a mirror of what it received, and positions or
  /// history it does not hold are asked with the two calls below.
  [[nodiscard]] virtual bool sequences() const noexcept { return false; }
  /// The stream position of (app, channel), starting its stream if it has none. `done` runs on
  /// the adapter's thread after every message numbered before that position was handed to the
  /// workers (and before any later one), or with nullopt when the cluster cannot answer.
  virtual void stream_position(std::size_t app_index, std::string_view channel,
                               PositionCallback done) {
    (void)app_index, (void)channel;
    done(std::nullopt);
  }
  /// The cluster's history of (app, channel). `done` runs on the adapter's thread (nullopt: the
  /// cluster did not answer within the request timeout).
  virtual void history(std::size_t app_index, std::string_view channel, HistoryRequest request,
                       HistoryCallback done) {
    (void)app_index, (void)channel, (void)request;
    done(std::nullopt);
  }
  // ---- idempotency keys of HTTP publishes (idempotency enabled) -----------------------------
  /// Claims `key` of the app: this node's IdempotencyCache (LocalAdapter, `done` inline), or
  /// the cluster's (RedisAdapter: on the adapter's thread, nullopt when Redis cannot answer).
  virtual void claim_key(std::size_t app_index, std::string_view key, ClaimCallback done) = 0;
  /// Keeps the first answer of a claimed key (a retry within the TTL gets it).
  virtual void complete_key(std::size_t app_index, std::string_view key, std::string body) = 0;
  /// Frees a claimed key whose request was refused (a retry may publish).
  virtual void release_key(std::size_t app_index, std::string_view key) = 0;

  /// Appends the adapter's Prometheus samples (text format) to `out`.
  virtual void append_metrics(std::string& out, std::string_view port_label) {
    (void)out, (void)port_label;
  }
};

}  // namespace server
