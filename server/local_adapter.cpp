#include "server/local_adapter.hpp"

#include <chrono>
#include <vector>

#include "protocol/channel.hpp"
#include "protocol/messages.hpp"
#include "server/hub.hpp"
#include "server/webhooks.hpp"

namespace server {

void LocalAdapter::publish(const PublishRequest& request, Worker* caller, PublishDone done) {
  for (const std::string& channel : request.channels) {
    // Encode once per channel (the frame names its channel); shared by every subscriber.
    deliver(request.app_index, channel, protocol::api_event(request.event, channel, request.data),
            request.except, caller);
  }
  if (done) done(true);
}

namespace {

/// Numbers (or mirrors, with a cluster's `id`) a channel message and fans it out.
void keep_and_send(ReplayBuffer& replay, std::size_t app_index, std::string_view channel,
                   std::string_view json, const MessageIdentity* id,
                   const std::function<void(const DialectFrames&)>& send) {
  if (id != nullptr) {
    (void)replay.insert(app_index, channel, *id, json, send);
  } else {
    replay.publish(app_index, channel, json, send);
  }
}

}  // namespace

void LocalAdapter::deliver(std::size_t app_index, std::string_view channel, std::string json,
                           channels::ConnId except, Worker* caller, const MessageIdentity* id) {
  AppRuntime& app = hub_.app_at(app_index);
  SharedFrame frame = make_text_frame(json);
  const auto kind = protocol::classify_channel(channel);
  if (kind.is_server_to_user) {
    // #server-to-user-<id>: every signed-in socket of that user, subscribed or not (§7.3).
    const std::string_view user = channel.substr(protocol::server_to_user_prefix.size());
    std::vector<channels::ConnId> conns;
    {
      std::lock_guard lock(hub_.state_mutex());
      conns = hub_.registry().user_connections(app.app->id, user);
    }
    std::erase(conns, except);
    hub_.send_to_connections(conns, frame, caller);
    return;
  }
  if (kind.is_cache) {
    std::lock_guard lock(hub_.state_mutex());
    hub_.registry().set_cached(app.app->id, channel, json,
                               std::chrono::steady_clock::now() + hub_.config().cache_ttl);
  }
  auto track = std::make_shared<BroadcastTrack>(hub_.broadcast_latency(), app_index,
                                                broadcast_channel_type(channel),
                                                static_cast<int>(hub_.workers().size()));
  if (ReplayBuffer* replay = hub_.replay()) {
    // Recovery on: the message gets its serial and identity; V1 keeps its bytes.
    keep_and_send(*replay, app_index, channel, json, id, [&](const DialectFrames& frames) {
      hub_.fan_out(app_index, channel, frames, except, caller, track);
    });
    return;
  }
  hub_.fan_out(app_index, channel, frame, except, caller, std::move(track));
}

void LocalAdapter::deliver_client_event(std::size_t app_index, std::string_view channel,
                                        std::string_view json, channels::ConnId except,
                                        Worker* caller, const MessageIdentity* id) {
  if (ReplayBuffer* replay = hub_.replay()) {
    keep_and_send(*replay, app_index, channel, json, id, [&](const DialectFrames& frames) {
      hub_.fan_out(app_index, channel, frames, except, caller);
    });
    return;
  }
  hub_.fan_out(app_index, channel, make_text_frame(json), except, caller);
}

void LocalAdapter::broadcast_client_event(std::size_t app_index, std::string_view channel,
                                          std::string_view json, channels::ConnId except,
                                          std::string_view except_socket_id, Worker* caller) {
  (void)except_socket_id;
  deliver_client_event(app_index, channel, json, except, caller);
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

std::vector<PresenceUserId> LocalAdapter::user_ids(std::size_t app_index,
                                                   std::string_view channel) {
  std::lock_guard lock(hub_.state_mutex());
  std::vector<PresenceUserId> out;
  for (const auto& m : hub_.registry().members(hub_.app_at(app_index).app->id, channel)) {
    out.push_back({std::string(m.user_id), m.user_id_numeric});
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

// ============================================================================================
// Membership (called with the state mutex held)
// ============================================================================================

void LocalAdapter::joined(std::size_t app_index, std::string_view channel,
                          const channels::JoinResult& res) {
  Webhooks& wh = hub_.webhooks();
  if (res.channel_occupied) wh.channel_event(app_index, "channel_occupied", channel);
  wh.channel_event(app_index, "subscription_count", channel, std::nullopt, res.subscription_count);
}

bool LocalAdapter::presence_joined(const PresenceJoin& who, const channels::JoinResult* res,
                                   MembersCallback done) {
  (void)done;  // the registry is the answer: the caller reads it under the same lock
  if (res == nullptr) return false;
  Webhooks& wh = hub_.webhooks();
  if (res->channel_occupied) wh.channel_event(who.app_index, "channel_occupied", who.channel);
  if (res->member_added) {
    wh.member_event(who.app_index, "member_added", who.channel, who.user_id, who.user_id_numeric);
    // member_added reaches the others before the joiner's subscription_succeeded. Decisions
    // made under the state mutex are always posted (never delivered inline), so every worker
    // receives them in decision order.
    DialectFrames frames = make_dialect_frames(
        protocol::member_added(who.channel, who.user_id, who.user_info, who.user_id_numeric));
    frames.member_decision = hub_.next_member_decision();
    hub_.fan_out(who.app_index, who.channel, frames, who.conn, nullptr);
  }
  return false;
}

void LocalAdapter::left(std::size_t app_index, std::string_view channel, channels::ConnId conn,
                        const channels::LeaveResult& res) {
  if (!res.was_subscribed) return;
  Webhooks& wh = hub_.webhooks();
  if (res.member_removed) {
    wh.member_event(app_index, "member_removed", channel, res.user_id, res.user_id_numeric);
    DialectFrames frames =
        make_dialect_frames(protocol::member_removed(channel, res.user_id, res.user_id_numeric));
    frames.member_decision = hub_.next_member_decision();
    hub_.fan_out(app_index, channel, frames, conn, nullptr);
  }
  if (!protocol::classify_channel(channel).is_presence) {
    wh.channel_event(app_index, "subscription_count", channel, std::nullopt,
                     res.subscription_count);
  }
  if (res.channel_vacated) wh.channel_event(app_index, "channel_vacated", channel);
}

void LocalAdapter::user_online_changed(std::size_t app_index, std::string_view user_id,
                                       bool online) {
  // One frame for every signed-in socket of every watcher.
  const auto watchers =
      hub_.registry().watcher_connections(hub_.app_at(app_index).app->id, user_id);
  if (watchers.empty()) return;
  hub_.send_to_connections(
      watchers, make_dialect_frames(protocol::watchlist_event(user_id, online)), nullptr);
}

bool LocalAdapter::users_online(std::size_t app_index, std::vector<std::string> user_ids,
                                OnlineCallback done) {
  (void)app_index, (void)user_ids, (void)done;
  return false;  // the registry is the answer: the caller reads it under the same lock
}

void LocalAdapter::claim_key(std::size_t app_index, std::string_view key, ClaimCallback done) {
  done(hub_.idempotency()->claim(hub_.app_at(app_index).app->id, key));
}

void LocalAdapter::complete_key(std::size_t app_index, std::string_view key, std::string body) {
  hub_.idempotency()->complete(hub_.app_at(app_index).app->id, key, std::move(body));
}

void LocalAdapter::release_key(std::size_t app_index, std::string_view key) {
  hub_.idempotency()->release(hub_.app_at(app_index).app->id, key);
}

void LocalAdapter::notify_watchers(std::size_t app_index, std::string_view user_id,
                                   const std::string& frame_json) {
  std::vector<channels::ConnId> watchers;
  {
    std::lock_guard lock(hub_.state_mutex());
    watchers = hub_.registry().watcher_connections(hub_.app_at(app_index).app->id, user_id);
  }
  if (!watchers.empty())
    hub_.send_to_connections(watchers, make_dialect_frames(frame_json), nullptr);
}

}  // namespace server
