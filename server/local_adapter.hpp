#pragma once
// The single-node adapter: publishes fan out to this node's workers; counts, presence members
// and "online" come from this node's registry (queries answered inline), and a registry change
// causes its webhooks and member / watchlist events here. RedisAdapter uses it for this node's
// own deliveries and its fallback answers.

#include "server/adapter.hpp"

namespace server {

class Hub;

class LocalAdapter final : public Adapter {
 public:
  explicit LocalAdapter(Hub& hub) : hub_(hub) {}
  void publish(const PublishRequest& request, Worker* caller, PublishDone done) override;
  void broadcast(std::size_t app_index, std::string_view channel,
                 const std::shared_ptr<const std::string>& frame, channels::ConnId except,
                 Worker* caller) override;
  void broadcast_client_event(std::size_t app_index, std::string_view channel,
                              std::string_view json, channels::ConnId except,
                              std::string_view except_socket_id, Worker* caller) override;
  /// Queries: `done` runs inline with the local registry's answer.
  void query_channel(std::size_t app_index, std::string_view channel, CountsCallback done) override;
  void query_users(std::size_t app_index, std::string_view channel, UsersCallback done) override;
  void query_channels(std::size_t app_index, std::string_view prefix,
                      std::function<void(std::vector<ChannelInfo>)> done) override;

  // The same answers as values (the state mutex is taken briefly). Any thread.
  /// Subscription count and distinct presence users of (app, channel) on this node.
  [[nodiscard]] ChannelCounts counts(std::size_t app_index, std::string_view channel);
  /// Presence user ids of (app, channel) on this node.
  [[nodiscard]] std::vector<PresenceUserId> user_ids(std::size_t app_index,
                                                     std::string_view channel);
  /// This node's occupied channels of the app whose name starts with `prefix`.
  [[nodiscard]] std::vector<ChannelInfo> channels(std::size_t app_index, std::string_view prefix);

  void joined(std::size_t app_index, std::string_view channel,
              const channels::JoinResult& res) override;
  bool presence_joined(const PresenceJoin& who, const channels::JoinResult* res,
                       MembersCallback done) override;
  void left(std::size_t app_index, std::string_view channel, channels::ConnId conn,
            const channels::LeaveResult& res) override;
  void user_online_changed(std::size_t app_index, std::string_view user_id, bool online) override;
  bool users_online(std::size_t app_index, std::vector<std::string> user_ids,
                    OnlineCallback done) override;
  /// Idempotency keys in this node's IdempotencyCache (`done` inline).
  void claim_key(std::size_t app_index, std::string_view key, ClaimCallback done) override;
  void complete_key(std::size_t app_index, std::string_view key, std::string body) override;
  void release_key(std::size_t app_index, std::string_view key) override;

  /// Delivers one encoded event (JSON of a pusher event) to this node's recipients of (app,
  /// channel): the signed-in sockets of the user of a #server-to-user- channel, otherwise the
  /// subscribers; stores it first on a cache channel. With recovery on it gets its V2 identity:
  /// `id` when the cluster gave it one (the replay buffer mirrors it), else this node's. Any
  /// thread.
  void deliver(std::size_t app_index, std::string_view channel, std::string json,
               channels::ConnId except, Worker* caller, const MessageIdentity* id = nullptr);
  /// Delivers a client event (its JSON) to this node's subscribers of (app, channel) except
  /// `except`, with its V2 identity when recovery is on (as `deliver`). Any thread.
  void deliver_client_event(std::size_t app_index, std::string_view channel, std::string_view json,
                            channels::ConnId except, Worker* caller,
                            const MessageIdentity* id = nullptr);
  /// Sends a watchlist event (its JSON) to every local watcher of `user_id`. Any thread, not
  /// under the state mutex.
  void notify_watchers(std::size_t app_index, std::string_view user_id,
                       const std::string& frame_json);

 private:
  Hub& hub_;
};

}  // namespace server
