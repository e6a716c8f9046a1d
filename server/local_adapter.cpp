#include "server/local_adapter.hpp"

#include <chrono>
#include <vector>

#include "protocol/channel.hpp"
#include "protocol/messages.hpp"
#include "server/hub.hpp"

namespace server {

void LocalAdapter::publish(const PublishRequest& request, Worker* caller) {
  AppRuntime& app = hub_.app_at(request.app_index);
  for (const std::string& channel : request.channels) {
    // Encode once per channel (the frame names its channel); shared by every subscriber.
    std::string json = protocol::api_event(request.event, channel, request.data);
    SharedFrame frame = make_text_frame(json);
    const auto kind = protocol::classify_channel(channel);
    if (kind.is_server_to_user) {
      // #server-to-user-<id>: every signed-in socket of that user, subscribed or not (§7.3).
      const std::string_view user =
          std::string_view(channel).substr(protocol::server_to_user_prefix.size());
      std::vector<channels::ConnId> conns;
      {
        std::lock_guard lock(hub_.state_mutex());
        conns = hub_.registry().user_connections(app.app->id, user);
      }
      std::erase(conns, request.except);
      hub_.send_to_connections(conns, frame, caller);
      continue;
    }
    if (kind.is_cache) {
      std::lock_guard lock(hub_.state_mutex());
      hub_.registry().set_cached(app.app->id, channel, std::move(json),
                                 std::chrono::steady_clock::now() + hub_.config().cache_ttl);
    }
    hub_.fan_out(request.app_index, channel, frame, request.except, caller);
  }
}

void LocalAdapter::broadcast(std::size_t app_index, std::string_view channel,
                             const std::shared_ptr<const std::string>& frame,
                             channels::ConnId except, Worker* caller) {
  hub_.fan_out(app_index, channel, frame, except, caller);
}

ChannelCounts LocalAdapter::counts(std::size_t app_index, std::string_view channel) {
  std::lock_guard lock(hub_.state_mutex());
  const std::string& app_id = hub_.app_at(app_index).app->id;
  return {hub_.registry().subscription_count(app_id, channel),
          hub_.registry().user_count(app_id, channel)};
}

std::vector<std::string> LocalAdapter::user_ids(std::size_t app_index, std::string_view channel) {
  std::lock_guard lock(hub_.state_mutex());
  std::vector<std::string> out;
  for (const auto& m : hub_.registry().members(hub_.app_at(app_index).app->id, channel)) {
    out.emplace_back(m.user_id);
  }
  return out;
}

std::vector<Adapter::ChannelInfo> LocalAdapter::channels(std::size_t app_index,
                                                         std::string_view prefix) {
  std::lock_guard lock(hub_.state_mutex());
  const std::string& app_id = hub_.app_at(app_index).app->id;
  std::vector<ChannelInfo> out;
  for (const std::string& name : hub_.registry().occupied_channels(app_id, prefix)) {
    out.push_back({name, hub_.registry().subscription_count(app_id, name),
                   hub_.registry().user_count(app_id, name)});
  }
  return out;
}

void LocalAdapter::query_channel(std::size_t app_index, std::string_view channel,
                                 CountsCallback done) {
  done(counts(app_index, channel));
}

void LocalAdapter::query_users(std::size_t app_index, std::string_view channel,
                               UsersCallback done) {
  done(user_ids(app_index, channel));
}

void LocalAdapter::query_channels(std::size_t app_index, std::string_view prefix,
                                  std::function<void(std::vector<ChannelInfo>)> done) {
  done(channels(app_index, prefix));
}

}  // namespace server
