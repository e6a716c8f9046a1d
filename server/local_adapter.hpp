#pragma once
// The single-node adapter: publishes fan out to this node's workers; counts come from the local
// registry, answered inline. The Redis adapter implements the same interface across nodes (and
// uses this one for its local deliveries and its fallback answers).

#include "server/adapter.hpp"

namespace server {

class Hub;

class LocalAdapter final : public Adapter {
 public:
  explicit LocalAdapter(Hub& hub) : hub_(hub) {}
  void publish(const PublishRequest& request, Worker* caller) override;
  void broadcast(std::size_t app_index, std::string_view channel,
                 const std::shared_ptr<const std::string>& frame, channels::ConnId except,
                 Worker* caller) override;
  /// Queries: `done` runs inline with the local registry's answer.
  void query_channel(std::size_t app_index, std::string_view channel, CountsCallback done) override;
  void query_users(std::size_t app_index, std::string_view channel, UsersCallback done) override;
  void query_channels(std::size_t app_index, std::string_view prefix,
                      std::function<void(std::vector<ChannelInfo>)> done) override;

  // The same answers as values (the state mutex is taken briefly). Any thread.
  /// Subscription count and distinct presence users of (app, channel) on this node.
  [[nodiscard]] ChannelCounts counts(std::size_t app_index, std::string_view channel);
  /// Presence user ids of (app, channel) on this node.
  [[nodiscard]] std::vector<std::string> user_ids(std::size_t app_index, std::string_view channel);
  /// This node's occupied channels of the app whose name starts with `prefix`.
  [[nodiscard]] std::vector<ChannelInfo> channels(std::size_t app_index, std::string_view prefix);

 private:
  Hub& hub_;
};

}  // namespace server
