#pragma once
// The single-node adapter: publishes fan out to this node's workers; counts come from the local
// registry. The Redis adapter (later) implements the same interface across nodes.

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
  std::size_t subscription_count(std::size_t app_index, std::string_view channel) override;
  std::size_t user_count(std::size_t app_index, std::string_view channel) override;
  std::vector<std::string> user_ids(std::size_t app_index, std::string_view channel) override;
  std::vector<ChannelInfo> channels(std::size_t app_index, std::string_view prefix) override;

 private:
  Hub& hub_;
};

}  // namespace server
