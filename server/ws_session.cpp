// WsSession, part 1: life cycle. Admission (§1.2), the dispatch of pusher:* events, errors,
// liveness, and the teardown that leaves every channel.
#include "server/ws_session.hpp"

#include "protocol/client_message.hpp"
#include "protocol/messages.hpp"
#include "protocol/origin.hpp"
#include "server/clock.hpp"
#include "server/errors.hpp"
#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/worker.hpp"

namespace server {

WsSession::WsSession(Worker& worker, tcp::socket socket, std::unique_ptr<TlsChannel> tls)
    : WsTransport(worker, std::move(socket), std::move(tls)), hub_(worker.hub()) {}

WsSession::WsSession(Worker& worker, int fd, bool in_epoll)
    : WsTransport(worker, fd, in_epoll), hub_(worker.hub()) {}

WsSession::~WsSession() {
  // Normally terminate() already ran. The worker owns started sessions, so otherwise this is the
  // worker's teardown (or a session that never started): the transport releases the socket.
  if (!closed() && !hub_.tearing_down.load(std::memory_order_relaxed)) leave_everything();
}

std::size_t WsSession::app_index() const noexcept {
  return app_ != nullptr ? app_->index : static_cast<std::size_t>(-1);
}

// ============================================================================================
// Start-up: 101 response, the checks of protocol.md §1.2, connection_established.
// ============================================================================================

void WsSession::start(UpgradeInfo info, std::string_view leftover) {
  remote_ = std::move(info.remote);
  dialect_ = info.dialect;
  echo_messages_ = info.dialect == protocol::Dialect::v2 && info.echo_messages;
  ip_tracked_ = info.ip_tracked;
  id_ = worker_.next_conn_id();
  worker_.add_session(std::static_pointer_cast<WsSession>(shared_from_this()));
  worker_.counters().connections_opened.fetch_add(1, std::memory_order_relaxed);
  stats_ = &worker_.app_counters(hub_.app_capacity());
  open(info.accept_key);
  connected_at_ = last_activity();
  // A database app not in memory yet: the checks wait for the directory (bounded by
  // app_manager.lookup_timeout_ms), and nothing is read meanwhile, so early frames stay queued
  // in the socket (the bytes already read are kept).
  if (const auto found = hub_.find_app(AppLookup::key, info.app_key)) {
    finish_start(*found, info, leftover);
    return;
  }
  const std::string key = info.app_key;
  hub_.ask_database(AppLookup::key, key, worker_.ioc(),
                    [self = std::static_pointer_cast<WsSession>(shared_from_this()),
                     info = std::move(info), early = std::string(leftover)](AppRuntime* app) {
                      self->finish_start(app, info, early);
                    });
}

void WsSession::finish_start(AppRuntime* app, const UpgradeInfo& info, std::string_view leftover) {
  // Closed while its app was being looked up (a drain, a slow consumer of nothing): no checks.
  if (closed() || closing()) return;
  if (!admit(app, info)) stats_->connection_errors.fetch_add(1, std::memory_order_relaxed);
  begin_reading(leftover);
}

bool WsSession::admit(AppRuntime* app, const UpgradeInfo& info) {
  // Checks in Sockudo's order, each answered with an error frame then a close (§1.2 [deviate]).
  app_ = app;
  // Removed by a reload between the lookup and now: as unknown (its sockets are being closed).
  if (app_ != nullptr && app_->removed.load()) app_ = nullptr;
  if (app_ != nullptr) stats_ = &worker_.app_counters(app_->index);
  const Config& cfg = hub_.config();
  if (app_ == nullptr) {
    log::info("connection_refused", {{"reason", "unknown app key"}, {"remote", remote_}});
    close_with_error(WsError::app_not_found);
    return false;
  }
  if (!app_->app->enabled) {
    close_with_error(WsError::app_disabled);
    return false;
  }
  if (!protocol::origin_allowed(app_->app->allowed_origins, info.origin)) {
    log::info(
        "connection_refused",
        {{"app_id", app_->app->id}, {"reason", "origin not allowed"}, {"origin", info.origin}});
    worker_.counters().auth_failed(AuthFailure::origin);
    close_with_error(WsError::origin_not_allowed);
    return false;
  }
  if (info.ip_over_cap) {
    worker_.abuse().note(
        AbuseKind::ip_connections,
        {{"remote", remote_}, {"limit", std::to_string(cfg.ip_limits.max_connections_per_ip)}});
    close_with_error(WsError::over_capacity);
    return false;
  }
  if (cfg.max_connections != 0 &&
      hub_.connections.fetch_add(1, std::memory_order_relaxed) >= cfg.max_connections) {
    hub_.connections.fetch_sub(1, std::memory_order_relaxed);
    close_with_error(WsError::over_capacity);
    return false;
  }
  if (cfg.max_connections == 0) hub_.connections.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t app_max = app_->app->limits.max_connections;
  // Cluster-wide (docs/CLUSTER.md): the other nodes' connections as of the last heartbeat.
  if (app_max != 0 && app_->connections.fetch_add(1, std::memory_order_relaxed) +
                              app_->remote_connections.load(std::memory_order_relaxed) >=
                          app_max) {
    app_->connections.fetch_sub(1, std::memory_order_relaxed);
    hub_.connections.fetch_sub(1, std::memory_order_relaxed);
    close_with_error(app_->app->quota_close_code == code_of(WsError::over_capacity)
                         ? WsError::over_capacity
                         : WsError::app_over_quota);
    return false;
  }
  if (app_max == 0) app_->connections.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  accepted_ = true;
  stats_->new_connections.fetch_add(1, std::memory_order_relaxed);
  sid_ = hub_.register_socket(id_);
  registered_ = true;
  send_json(protocol::connection_established(
      socket_id(), static_cast<std::uint64_t>(cfg.activity_timeout.count())));
  return true;
}

void WsSession::send_json(std::string_view json, bool own_message_id) {
  if (dialect_ != protocol::Dialect::v2) {
    queue_json(json);
  } else if (own_message_id) {
    queue_json(protocol::to_v2(protocol::with_identity(json, uuid_v4())));
  } else {
    queue_json(protocol::to_v2(json));
  }
}

// ============================================================================================
// The transport's hooks
// ============================================================================================

void WsSession::on_message(std::string_view text) {
  stats_->ws_messages_received.fetch_add(1, std::memory_order_relaxed);
  if (!registered_) return;  // refused connection waiting for its close handshake
  if (!message_allowed()) return;
  auto parsed = worker_.parser().parse(text);
  if (!parsed) {
    send_error(parsed.code, parsed.message);
    return;
  }
  const protocol::ClientMessage& msg = *parsed.value;
  std::string_view event = msg.event;
  std::string_view name;
  if (event.starts_with("pusher:")) {
    name = event.substr(7);
  } else if (event.starts_with("sockudo:")) {
    name = event.substr(8);
  } else if (event.starts_with("client-")) {
    handle_client_event(event, msg.channel ? std::string_view(*msg.channel) : std::string_view{},
                        msg.channel.has_value(), msg.data_raw);
    return;
  } else {
    return;  // unknown events are ignored (§0)
  }
  if (name == "ping") {
    ping_outstanding_ = false;
    send_json(protocol::pong(), false);  // Sockudo: no message_id on ping/pong
  } else if (name == "pong") {
    ping_outstanding_ = false;
  } else if (name == "subscribe") {
    handle_subscribe(msg.data_raw);
  } else if (name == "unsubscribe") {
    handle_unsubscribe(msg.data_raw);
  } else if (name == "signin") {
    handle_signin(msg.data_raw);
  } else if (name == "resume") {
    handle_resume(msg.data_raw);
  }
}

bool WsSession::on_ping() {
  ping_outstanding_ = false;  // a WebSocket ping also proves liveness (§2.3)
  return message_allowed();
}

void WsSession::on_leave() {
  leave_everything();
}

void WsSession::on_terminated() {
  worker_.remove_session(this);
}

void WsSession::on_abuse(AbuseKind kind) {
  abuse(kind);
}

void WsSession::on_slow_consumer() {
  log::warn("slow_consumer_closed",
            {{"app_id", app_ ? app_->app->id : ""}, {"socket_id", socket_id()}});
  close_with_error(WsError::slow_consumer);
}

// ============================================================================================
// Errors and limits
// ============================================================================================

void WsSession::send_error(int code, std::string_view message) {
  send_json(protocol::error(code, message));
}

void WsSession::send_error(WsError why, std::string_view detail) {
  send_error(protocol::to_int(spec(why).code), error_message(why, detail));
}

void WsSession::close_with_error(WsError why) {
  if (!is_open()) return;
  const WsErrorSpec& e = spec(why);
  if (e.delivery == Delivery::close_only) {
    close_frame_only(why);
    return;
  }
  send_json(protocol::error(protocol::to_int(e.code), e.message));
  begin_close(protocol::to_uint(e.code), e.message);
}

void WsSession::log_denied(AuthFailure why, std::string_view channel, std::string_view reason) {
  worker_.counters().auth_failed(why);
  // One structured line per denied attempt; never the auth string or the secret.
  log::warn("auth_denied", {{"app_id", app_->app->id},
                            {"socket_id", socket_id()},
                            {"channel", std::string(channel)},
                            {"reason", std::string(reason)},
                            {"remote", remote_}});
}

void WsSession::abuse(AbuseKind kind) {
  worker_.abuse().note(kind, {{"app_id", app_ ? app_->app->id : std::string()},
                              {"socket_id", socket_id()},
                              {"remote", remote_}});
}

bool WsSession::message_allowed() {
  // Sockudo's optional app-level message_rate_limit: every inbound message (and WebSocket
  // ping) counts, fixed window of message_rate_window_seconds. Over it, the message is dropped;
  // the first drop of a window gets one 4301 error frame (a flood is not answered frame for
  // frame), or with terminate_on_limit the connection is closed with 4301.
  if (app_ == nullptr) return true;
  const AppLimits& lim = app_->app->limits;
  if (lim.message_rate_limit == 0) return true;
  const auto window =
      std::chrono::seconds(static_cast<std::int64_t>(lim.message_rate_window_seconds));
  if (messages_.take(Clock::now(), window, lim.message_rate_limit)) return true;
  abuse(AbuseKind::message_rate);
  if (lim.message_rate_terminate) {
    if (is_open()) close_with_error(WsError::rate_limit_terminate);
    return false;
  }
  if (!messages_.noted && is_open()) {
    messages_.noted = true;
    send_error(WsError::client_event_rate);
  }
  return false;
}

// ============================================================================================
// Timers and teardown
// ============================================================================================

void WsSession::on_sweep(Clock::time_point now) {
  if (!is_open()) {
    sweep_close(now);
    return;
  }
  const Config& cfg = hub_.config();
  if (ping_outstanding_) {
    if (now - ping_sent_at_ >= cfg.pong_timeout) {
      close_with_error(WsError::pong_timeout);
      return;
    }
  } else if (registered_ && now - last_activity() >= cfg.activity_timeout) {
    ping_outstanding_ = true;
    ping_sent_at_ = now;
    send_json(protocol::ping(), false);
  }
  if (recovery_ && recovery_->resuming && now >= recovery_->resume_deadline) finish_resume(true);
  if (registered_ && app_->app->enable_user_authentication && !authorized_ &&
      now - connected_at_ >= cfg.user_authentication_timeout) {
    close_with_error(WsError::signin_timeout);
  }
}

void WsSession::leave_everything() {
  if (registered_) {
    registered_ = false;
    Adapter& adapter = hub_.adapter();
    {
      std::lock_guard lock(hub_.state_mutex());
      auto& reg = hub_.registry();
      for (auto& [channel, res] : reg.unsubscribe_all(app_->app->id, id_)) {
        adapter.left(app_->index, channel, id_, res);
      }
      if (!user_id().empty()) {
        const auto res = reg.sign_out(app_->app->id, id_);
        if (res.went_offline && res.user_id && app_->app->enable_watchlist_events) {
          adapter.user_online_changed(app_->index, *res.user_id, false);
        }
      }
    }
    for (const auto& s : subscriptions_) worker_.index_remove(app_->index, s.channel, this, s.slot);
    stats_->unsubscriptions.fetch_add(subscriptions_.size(), std::memory_order_relaxed);
    subscriptions_.clear();
    hub_.unregister_socket(sid_);
  }
  if (counted_) {
    counted_ = false;
    // Counted when the connection leaves (not when its socket closes, which can be a close
    // handshake later) and before the gauge drops: a scrape that sees sockudo_connected fall
    // also sees the disconnection.
    stats_->disconnections.fetch_add(1, std::memory_order_relaxed);
    hub_.connections.fetch_sub(1, std::memory_order_relaxed);
    app_->connections.fetch_sub(1, std::memory_order_relaxed);
  }
  if (ip_tracked_) {
    ip_tracked_ = false;
    hub_.ip_limiter().release(remote_, steady_ms());
  }
}

}  // namespace server
