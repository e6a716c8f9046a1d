#pragma once
// The seam between "a publish happened" and "who receives it". The local adapter fans out to
// this node's workers; a Redis adapter (later) also forwards to other nodes and aggregates
// channel counts and presence members over the cluster.

#include <cstdint>
#include <memory>
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
  std::string data;             ///< delivered as a JSON string (HTTP API semantics)
  channels::ConnId except = 0;  ///< this connection does not receive it (0 = none)
};

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
  /// Subscription count of a channel (cluster-wide in a clustered adapter). Any thread.
  [[nodiscard]] virtual std::size_t subscription_count(std::size_t app_index,
                                                       std::string_view channel) = 0;
  /// Distinct presence users of a channel. Any thread.
  [[nodiscard]] virtual std::size_t user_count(std::size_t app_index, std::string_view channel) = 0;
  /// Presence user ids of a channel. Any thread.
  [[nodiscard]] virtual std::vector<std::string> user_ids(std::size_t app_index,
                                                          std::string_view channel) = 0;
  /// Occupied channels whose name starts with prefix, with their subscription/user counts.
  struct ChannelInfo {
    std::string name;
    std::size_t subscription_count;
    std::size_t user_count;
  };
  [[nodiscard]] virtual std::vector<ChannelInfo> channels(std::size_t app_index,
                                                          std::string_view prefix) = 0;
};

}  // namespace server
