#pragma once
// The seam between "a publish happened" and "who receives it". The local adapter fans out to
// this node's workers; the Redis adapter (server/redis_adapter.hpp) also forwards to other nodes
// and aggregates channel counts and presence members over the cluster.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/registry.hpp"

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

/// Presence members (user id, user info JSON) as seen by the whole cluster.
using MemberList = std::vector<std::pair<std::string, std::string>>;
/// Called once with the cluster's presence members, or nullopt when the cluster cannot answer
/// (the caller then uses its local registry). Runs on the adapter's thread.
using MembersCallback = std::function<void(std::optional<MemberList>)>;

/// One channel's counts as answered by Adapter::query_channel.
struct ChannelCounts {
  std::size_t subscription_count = 0;
  std::size_t user_count = 0;  ///< distinct presence users (0 for other channels)
};
using CountsCallback = std::function<void(ChannelCounts)>;
/// Presence user ids as answered by Adapter::query_users.
using UsersCallback = std::function<void(std::vector<std::string>)>;

class Adapter {
 public:
  virtual ~Adapter() = default;
  /// Publishes an HTTP-API event: encodes it once per channel, stores cache-channel events,
  /// fans out. Any thread. `caller` is the worker running this call, if any.
  virtual void publish(const PublishRequest& request, Worker* caller) = 0;
  /// Delivers an already encoded frame (client events, presence member events) to every
  /// subscriber of (app, channel) except `except`. Any thread, may hold the state mutex.
  virtual void broadcast(std::size_t app_index, std::string_view channel,
                         const std::shared_ptr<const std::string>& frame, channels::ConnId except,
                         Worker* caller) = 0;
  /// Client events: like broadcast, also to other nodes, where `except_socket_id` is excluded.
  virtual void broadcast_client_event(std::size_t app_index, std::string_view channel,
                                      const std::shared_ptr<const std::string>& frame,
                                      channels::ConnId except, std::string_view except_socket_id,
                                      Worker* caller) {
    (void)except_socket_id;
    broadcast(app_index, channel, frame, except, caller);
  }
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

  // ---- clustered adapters (docs/CLUSTER.md) ------------------------------------------------
  /// True when several nodes share state: sessions then leave cluster-wide decisions
  /// (occupied/vacated, presence first join/last leave, their webhooks and member events) to
  /// the hooks below instead of deciding from the local registry.
  [[nodiscard]] virtual bool clustered() const noexcept { return false; }
  /// False while a clustered adapter cannot reach the cluster: the HTTP API answers 503.
  [[nodiscard]] virtual bool available() const noexcept { return true; }
  /// The hooks are called with the state mutex held, in decision order.
  /// This node's subscription count of (app, channel) is now `local_count`.
  virtual void subscription_changed(std::size_t app_index, std::string_view channel,
                                    std::size_t local_count) {
    (void)app_index, (void)channel, (void)local_count;
  }
  /// A presence subscribe: `local_first` when the user is new on this node. `done` gets the
  /// cluster members (the joiner's subscription_succeeded snapshot).
  virtual void presence_joined(std::size_t app_index, std::string_view channel,
                               std::string_view user_id, std::string_view user_info,
                               std::string_view socket_id, bool local_first, MembersCallback done) {
    (void)app_index, (void)channel, (void)user_id, (void)user_info, (void)socket_id;
    (void)local_first;
    done(std::nullopt);
  }
  /// The user's last connection on this node left the presence channel.
  virtual void presence_left(std::size_t app_index, std::string_view channel,
                             std::string_view user_id) {
    (void)app_index, (void)channel, (void)user_id;
  }
  /// Watchlists: `user_id` got its first (online) / lost its last (offline) signed-in
  /// connection on this node. The adapter notifies the watchers on every node.
  virtual void user_online_changed(std::size_t app_index, std::string_view user_id, bool online) {
    (void)app_index, (void)user_id, (void)online;
  }
  /// Which of `user_ids` are signed in anywhere in the cluster (same order); nullopt when the
  /// cluster cannot answer. `done` runs on the adapter's thread.
  virtual void users_online(std::size_t app_index, std::vector<std::string> user_ids,
                            std::function<void(std::optional<std::vector<bool>>)> done) {
    (void)app_index, (void)user_ids;
    done(std::nullopt);
  }
  /// terminate_connections on every other node (this node closes its own).
  virtual void terminate_user(std::size_t app_index, std::string_view user_id) {
    (void)app_index, (void)user_id;
  }
  /// Appends the adapter's Prometheus samples (text format) to `out`.
  virtual void append_metrics(std::string& out, std::string_view port_label) {
    (void)out, (void)port_label;
  }
};

}  // namespace server
