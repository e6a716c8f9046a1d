// WsSession, part 2: subscriptions (one path per channel kind), unsubscribe, client events.
// Registry changes are made under the hub's state mutex and reported to the adapter, which
// decides what follows (webhooks, member events; on this node or the cluster).
#include <algorithm>

#include "auth/signature.hpp"
#include "protocol/client_message.hpp"
#include "protocol/messages.hpp"
#include "server/clock.hpp"
#include "server/hub.hpp"
#include "server/webhooks.hpp"
#include "server/worker.hpp"
#include "server/ws_session.hpp"

namespace server {

namespace {

std::uint64_t kb_to_bytes(double kb) {
  return static_cast<std::uint64_t>(kb * 1024.0);
}

std::string format_kb(double kb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", kb);
  return buf;
}

}  // namespace

WsSession::Subscription* WsSession::find_subscription(std::string_view channel) {
  for (auto& s : subscriptions_) {
    if (s.channel == channel) return &s;
  }
  return nullptr;
}

void WsSession::set_index_slot(std::string_view channel, std::uint32_t slot) noexcept {
  if (Subscription* s = find_subscription(channel)) s->slot = slot;
}

void WsSession::add_subscription(const std::string& channel, std::string member_id, bool presence,
                                 bool member_id_numeric, std::uint64_t member_decision) {
  stats_->subscriptions.fetch_add(1, std::memory_order_relaxed);
  const std::uint32_t slot = worker_.index_add(app_->index, channel, this);
  subscriptions_.push_back(
      {channel, std::move(member_id), presence, member_id_numeric, slot, member_decision});
}

bool WsSession::member_event_known(std::string_view channel, std::uint64_t decision) {
  const Subscription* sub = find_subscription(channel);
  return sub != nullptr && sub->member_decision >= decision;
}

// ============================================================================================
// Subscribe
// ============================================================================================

void WsSession::handle_subscribe(std::string_view data_raw) {
  const App& app = *app_->app;
  auto sd = protocol::parse_subscribe_data(data_raw);
  if (!sd) {
    send_error(sd.code, sd.message);
    return;
  }
  const std::string& channel = sd.value->channel;
  if (auto err = protocol::validate_channel_name(channel, app.limits.max_channel_name_length)) {
    send_error(WsError::invalid_channel_name, *err);
    // Soketi's cause for a name over the limit is LimitReached 4009; other invalid names are
    // ServerError with the row's code.
    if (channel.empty()) return;  // nothing to scope it to
    const bool too_long = channel.size() > app.limits.max_channel_name_length;
    const SubscriptionRefusal r = too_long ? SubscriptionRefusal{"LimitReached", 4009}
                                           : subscription_refusal(WsError::invalid_channel_name);
    send_json(protocol::subscription_error(channel, r.type, *err, r.status));
    return;
  }
  if (sd.value->rewind_raw && !accept_rewind(channel, *sd.value->rewind_raw)) return;
  const protocol::ChannelKind kind = protocol::classify_channel(channel);
  if (kind.requires_auth() &&
      !check_channel_auth(channel, kind, sd.value->auth, sd.value->channel_data)) {
    return;
  }
  if (kind.is_server_to_user || channel.front() == '#') {
    subscribe_server_to_user(channel);
    return;
  }
  if (find_subscription(channel) == nullptr &&
      subscriptions_.size() >= app.limits.max_channels_per_connection) {
    abuse(AbuseKind::channel_limit);
    refuse_subscription(
        channel, WsError::subscription_limit,
        std::to_string(app.limits.max_channels_per_connection) + " channels per connection)");
    return;
  }
  if (kind.is_presence) {
    if (!sd.value->channel_data) {
      refuse_subscription(channel, WsError::presence_data_missing);
      return;
    }
    subscribe_presence(channel, *sd.value->channel_data);
    return;
  }
  subscribe_plain(channel, kind.requires_auth());
}

bool WsSession::check_channel_auth(const std::string& channel, const protocol::ChannelKind& kind,
                                   const std::optional<std::string>& auth,
                                   const std::optional<std::string>& channel_data) {
  if (!auth || auth->empty()) {
    log_denied(AuthFailure::signature_missing, channel, "signature missing");
    refuse_subscription(channel, WsError::signature_missing);
    return false;
  }
  const std::string_view signed_data =
      kind.is_presence && channel_data ? std::string_view(*channel_data) : std::string_view{};
  const App& app = *app_->app;
  if (!auth::verify_channel_auth(app.key, app.secret, socket_id(), channel, signed_data, *auth)) {
    log_denied(AuthFailure::signature_invalid, channel, "invalid signature");
    refuse_subscription(channel, WsError::signature_invalid);
    return false;
  }
  return true;
}

void WsSession::subscribe_server_to_user(const std::string& channel) {
  // Server-to-user events are delivered to the user's signed-in sockets, not through a
  // subscription. pusher-js subscribes to its own #server-to-user-<id> after sign-in: accept
  // exactly that one (no state), reject every other '#' channel.
  if (user_id().empty() || channel != std::string(protocol::server_to_user_prefix) + user_id()) {
    log_denied(AuthFailure::signature_invalid, channel, "server-to-user channel of another user");
    refuse_subscription(channel, WsError::foreign_server_to_user);
    return;
  }
  send_json(protocol::subscription_succeeded(channel));
}

void WsSession::subscribe_plain(const std::string& channel, bool authorized) {
  if (find_subscription(channel) == nullptr) {
    {
      std::lock_guard lock(hub_.state_mutex());
      const auto res = hub_.registry().subscribe(app_->app->id, channel, id_);
      hub_.adapter().joined(app_->index, channel, res);
    }
    add_subscription(channel, std::string(), false);
  }
  if (authorized) authorized_ = true;
  send_subscribed(channel, protocol::subscription_succeeded(channel));
  if (protocol::classify_channel(channel).is_cache) send_cache_state(channel);
}

void WsSession::subscribe_presence(const std::string& channel, const std::string& channel_data) {
  const App& app = *app_->app;
  auto pd = protocol::parse_channel_data(channel_data);
  if (!pd) {
    refuse_subscription(channel, pd.code, pd.message);
    return;
  }
  const double max_kb = app.limits.max_presence_member_size_in_kb;
  if (pd.value->user_info.size() > kb_to_bytes(max_kb)) {
    // Bytes compared against kb*1024 (stricter than Sockudo's integer-KB division by < 1 KB).
    refuse_subscription(channel, WsError::presence_member_too_big,
                        format_kb(static_cast<double>(pd.value->user_info.size()) / 1024.0) +
                            "KB) exceeds limit (" + format_kb(max_kb) + "KB)");
    return;
  }
  const bool existing = find_subscription(channel) != nullptr;
  const std::string socket = socket_id();
  const PresenceJoin who{.app_index = app_->index,
                         .channel = channel,
                         .conn = id_,
                         .socket_id = socket,
                         .user_id = pd.value->user_id,
                         .user_info = pd.value->user_info,
                         .user_id_numeric = pd.value->user_id_numeric};
  // A clustered adapter answers later: subscription_succeeded follows in presence_ready().
  auto done = [wk = &worker_, id = id_, ch = channel](std::optional<MemberList> members) {
    net::post(wk->ioc(), [wk, id, ch, members = std::move(members)]() mutable {
      if (WsSession* s = wk->find_session(id)) s->presence_ready(ch, std::move(members));
    });
  };
  bool full = false;
  bool pending = false;
  // The member's kept id type: its first join's (protocol §5.1), maybe not this socket's.
  bool kept_numeric = who.user_id_numeric;
  std::vector<protocol::PresenceMember> members;
  std::uint64_t member_decision = 0;
  {
    std::lock_guard lock(hub_.state_mutex());
    auto& reg = hub_.registry();
    if (existing) {
      pending = hub_.adapter().presence_joined(who, nullptr, std::move(done));
    } else if (reg.user_count(app.id, channel) >= app.limits.max_presence_members_per_channel) {
      full = true;  // Sockudo's rule: a full channel rejects even a user who is a member
    } else {
      const auto res =
          reg.join_presence(app.id, channel, id_, who.user_id, who.user_info, who.user_id_numeric);
      if (const auto m = reg.member_of(app.id, channel, id_)) kept_numeric = m->user_id_numeric;
      pending = hub_.adapter().presence_joined(who, &res, std::move(done));
    }
    if (!full && !pending) members = local_members(channel);
    // Member events decided up to now are in `members`; later ones reach this connection.
    member_decision = hub_.member_decisions();
  }
  if (full) {
    refuse_subscription(channel, WsError::presence_full);
    return;
  }
  if (!existing) {
    add_subscription(channel, pd.value->user_id, true, kept_numeric, pending ? 0 : member_decision);
  }
  authorized_ = true;
  if (!pending) presence_succeeded(channel, members);
}

void WsSession::refuse_subscription(const std::string& channel, WsError why,
                                    std::string_view detail) {
  const std::string message = error_message(why, detail);
  send_error(protocol::to_int(spec(why).code), message);
  const SubscriptionRefusal r = subscription_refusal(why);
  send_json(protocol::subscription_error(channel, r.type, message, r.status));
}

void WsSession::refuse_subscription(const std::string& channel, int code,
                                    std::string_view message) {
  send_error(code, message);
  send_json(protocol::subscription_error(channel, "ServerError", message, code));
}

std::vector<protocol::PresenceMember> WsSession::local_members(std::string_view channel) {
  std::vector<protocol::PresenceMember> list;
  for (const auto& m : hub_.registry().members(app_->app->id, channel)) {
    list.push_back({m.user_id, m.user_info, m.user_id_numeric});
  }
  return list;
}

void WsSession::presence_succeeded(const std::string& channel,
                                   const std::vector<protocol::PresenceMember>& members) {
  send_subscribed(channel, protocol::subscription_succeeded_presence(channel, members));
  if (protocol::classify_channel(channel).is_cache) send_cache_state(channel);
}

void WsSession::presence_ready(const std::string& channel, std::optional<MemberList> members) {
  if (!is_open() || find_subscription(channel) == nullptr) return;
  std::vector<protocol::PresenceMember> list;
  if (members) {
    Subscription* sub = find_subscription(channel);
    list.reserve(members->size());
    for (const auto& m : *members) {
      list.push_back({m.user_id, m.user_info, m.user_id_numeric});
      // The cluster's type of this socket's own member (the first join anywhere, §5.1) is the
      // one its client events carry.
      if (m.user_id == sub->member_id) sub->member_id_numeric = m.user_id_numeric;
    }
  } else {
    std::lock_guard lock(hub_.state_mutex());
    list = local_members(channel);
  }
  presence_succeeded(channel, list);
}

void WsSession::send_cache_state(const std::string& channel) {
  std::optional<std::string> cached;
  {
    std::lock_guard lock(hub_.state_mutex());
    if (auto c = hub_.registry().cached(app_->app->id, channel, Clock::now())) {
      cached = std::move(c->frame_json);
    }
  }
  if (cached) {
    send_json(*cached);
  } else {
    send_json(protocol::cache_miss(channel));
    hub_.webhooks().channel_event(app_->index, "cache_miss", channel);
  }
}

// ============================================================================================
// Unsubscribe
// ============================================================================================

void WsSession::handle_unsubscribe(std::string_view data_raw) {
  auto ch = protocol::parse_unsubscribe_channel(data_raw);
  if (!ch) {
    send_error(ch.code, ch.message);
    return;
  }
  const std::string& channel = *ch.value;
  auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                         [&](const Subscription& s) { return s.channel == channel; });
  if (it == subscriptions_.end()) return;  // not subscribed: a pure no-op (§3.5)
  {
    std::lock_guard lock(hub_.state_mutex());
    const auto res = hub_.registry().unsubscribe(app_->app->id, channel, id_);
    hub_.adapter().left(app_->index, channel, id_, res);
  }
  worker_.index_remove(app_->index, channel, this, it->slot);
  subscriptions_.erase(it);
  stats_->unsubscriptions.fetch_add(1, std::memory_order_relaxed);
}

// ============================================================================================
// Client events
// ============================================================================================

void WsSession::handle_client_event(std::string_view event, std::string_view channel,
                                    bool has_channel, std::string_view data_raw) {
  const App& app = *app_->app;
  const AppLimits& lim = app.limits;
  // 1. Rate limit first: every client-* attempt counts, valid or not (fixed window).
  if (lim.max_client_events_per_second > 0) {
    stats_->rate_limit_checks.fetch_add(1, std::memory_order_relaxed);
    if (!client_events_.take(Clock::now(), std::chrono::seconds(lim.client_event_decay_seconds),
                             lim.max_client_events_per_second * lim.client_event_decay_seconds)) {
      stats_->rate_limit_triggered.fetch_add(1, std::memory_order_relaxed);
      if (lim.terminate_on_client_event_limit) {
        close_with_error(WsError::rate_limit_terminate);  // Sockudo's terminate_on_limit
      } else {
        refuse_client_event(channel, WsError::client_event_rate);
      }
      return;
    }
  }
  if (!has_channel) {
    send_error(WsError::client_event_no_channel);
    return;
  }
  if (!app.enable_client_messages) {
    refuse_client_event(channel, WsError::client_events_disabled);
    return;
  }
  if (event.size() > lim.max_event_name_length) {
    refuse_client_event(channel, WsError::client_event_name_too_long,
                        std::to_string(lim.max_event_name_length));
    return;
  }
  if (channel.size() > lim.max_channel_name_length) {
    refuse_client_event(channel, WsError::client_event_channel_too_long,
                        std::to_string(lim.max_channel_name_length));
    return;
  }
  if (!protocol::classify_channel(channel).allows_client_events()) {
    refuse_client_event(channel, WsError::client_event_wrong_channel);
    return;
  }
  const std::uint64_t max_bytes = kb_to_bytes(lim.max_event_payload_in_kb);
  if (data_raw.size() > max_bytes) {
    refuse_client_event(channel, WsError::client_event_too_big,
                        "(" + std::to_string(data_raw.size()) + " bytes) exceeds limit (" +
                            format_kb(lim.max_event_payload_in_kb) + "KB)");
    return;
  }
  const Subscription* sub = find_subscription(channel);
  if (sub == nullptr) {
    refuse_client_event(channel, WsError::client_event_not_subscribed,
                        socket_id() + " is not subscribed to channel " + std::string(channel));
    return;
  }
  std::optional<std::string_view> user_id;
  if (sub->presence) user_id = sub->member_id;
  const bool user_id_numeric = sub->presence && sub->member_id_numeric;
  if (hub_.webhooks().wants(app_->index, "client_event")) {
    WebhookEvent ev;
    ev.name = "client_event";
    ev.channel = std::string(channel);
    ev.event = std::string(event);
    ev.data = data_raw.empty() ? std::string("null") : std::string(data_raw);
    ev.socket_id = socket_id();
    if (user_id) ev.user_id = std::string(*user_id);
    ev.user_id_numeric = user_id_numeric;
    ev.time_ms = unix_ms();
    hub_.webhooks().emit(app_->index, std::move(ev));
  }
  // Relayed byte for byte to everyone else in the channel; V1 never echoes to the sender, a V2
  // sender gets its own event back unless it connected with echo_messages=false (Sockudo).
  hub_.adapter().broadcast_client_event(
      app_->index, channel,
      protocol::client_event(event, channel, data_raw, user_id, user_id_numeric),
      echo_messages_ ? 0 : id_, echo_messages_ ? std::string() : socket_id(), &worker_);
}

void WsSession::refuse_client_event(std::string_view channel, WsError why,
                                    std::string_view detail) {
  send_json(protocol::error(protocol::to_int(spec(why).code), error_message(why, detail), channel));
}

}  // namespace server
