#include "server/hub.hpp"

#include <algorithm>
#include <random>

#include "protocol/ws_frame.hpp"
#include "server/local_adapter.hpp"
#include "server/redis_adapter.hpp"
#include "server/worker.hpp"
#include "server/ws_session.hpp"

namespace server {

Hub::Hub(Config config, std::unique_ptr<AppSource> app_source) : config_(std::move(config)) {
  // Room for apps added by reloads (SIGHUP), or for the database apps, without resizing
  // per-worker arrays.
  app_capacity_ = config_.app_manager.uses_database()
                      ? config_.app_manager.max_apps
                      : config_.apps.size() + std::max<std::size_t>(64, config_.apps.size());
  apps_ = std::make_unique<std::unique_ptr<AppRuntime>[]>(app_capacity_);
  broadcast_latency_ = std::make_unique<BroadcastLatency>(app_capacity_);
  if (config_.v2.recovery_enabled) {
    replay_ = std::make_unique<ReplayBuffer>(config_.v2.recovery_max_buffer_size,
                                             config_.v2.recovery_buffer_ttl,
                                             config_.v2.recovery_max_bytes);
  }
  if (config_.v2.idempotency_enabled) {
    idempotency_ = std::make_unique<IdempotencyCache>(config_.v2.idempotency_ttl, 1'000'000);
  }
  for (std::size_t i = 0; i < config_.apps.size(); ++i) {
    auto rt = std::make_unique<AppRuntime>();
    rt->app = &config_.apps[i];
    rt->index = i;
    by_key_.emplace(config_.apps[i].key, i);
    by_id_.emplace(config_.apps[i].id, i);
    apps_[i] = std::move(rt);
  }
  app_count_.store(config_.apps.size(), std::memory_order_release);
  std::size_t n = config_.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
  if (config_.adapter.driver == "redis" || config_.adapter.driver == "redis-cluster") {
    adapter_ = std::make_unique<RedisAdapter>(*this);  // docs/CLUSTER.md
  } else {
    adapter_ = std::make_unique<LocalAdapter>(*this);
  }
  webhooks_ = std::make_unique<Webhooks>(config_);
  IpLimiter::Settings ip;
  if (config_.ip_limits.rate_limit_enabled) {
    ip.max_connects = config_.ip_limits.connects_per_window;
    ip.window_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.ip_limits.connect_window)
            .count();
  }
  ip.max_concurrent = config_.ip_limits.max_connections_per_ip;
  ip_limiter_ = std::make_unique<IpLimiter>(ip);
  IpLimiter::Settings api;
  if (config_.ip_limits.rate_limit_enabled) {
    api.max_connects = config_.ip_limits.api_requests_per_window;
    api.window_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.ip_limits.api_window).count();
  }
  api_limiter_ = std::make_unique<IpLimiter>(api);
  if (config_.app_manager.uses_database()) {
    if (!app_source) app_source = make_app_source(config_.app_manager);
    directory_ =
        std::make_unique<AppDirectory>(*this, config_, std::move(app_source));
  }
}

Hub::~Hub() {
  // Stop the workers first: destroying their io_contexts frees the sessions still owned by
  // pending handlers, and those must not reach the registry being destroyed below.
  tearing_down.store(true);
  if (directory_) directory_->stop();  // it posts answers to the workers and edits app slots
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  adapter_.reset();  // its thread posts to the workers: stop it before they go
  workers_.clear();
}

AppRuntime* Hub::app_by_key(std::string_view key) noexcept {
  std::shared_lock lock(apps_mutex_);
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : apps_[it->second].get();
}

AppRuntime* Hub::app_by_id(std::string_view id) noexcept {
  std::shared_lock lock(apps_mutex_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : apps_[it->second].get();
}

std::optional<AppRuntime*> Hub::find_app(AppLookup by, std::string_view value) {
  AppRuntime* rt = by == AppLookup::key ? app_by_key(value) : app_by_id(value);
  if (rt != nullptr && rt->removed.load()) rt = nullptr;
  if (directory_ == nullptr) return rt;
  AppDirectoryStats& stats = directory_->stats();
  if (rt != nullptr) {
    stats.hits.fetch_add(1, std::memory_order_relaxed);
    return rt;
  }
  // Bounded input: an overlong value cannot be an app (Sockudo's columns are VARCHAR(255)).
  if (value.empty() || value.size() > 255 || directory_->known_unknown(by, value)) {
    stats.negative.fetch_add(1, std::memory_order_relaxed);
    return static_cast<AppRuntime*>(nullptr);
  }
  return std::nullopt;
}

void Hub::ask_database(AppLookup by, std::string_view value, net::io_context& ioc,
                       AppDirectory::Done done) {
  directory_->lookup(by, value, ioc, std::move(done));
}

AppRuntime* Hub::upsert_locked(const App& app, std::size_t& next, std::vector<Close>& closes,
                               ReloadResult* out) {
  auto it = by_id_.find(app.id);
  AppRuntime* rt = nullptr;
  if (it != by_id_.end()) {
    rt = apps_[it->second].get();
  } else {
    // A removed app that comes back keeps its slot.
    for (std::size_t i = 0; i < next; ++i) {
      if (apps_[i]->removed.load() && apps_[i]->app->id == app.id) rt = apps_[i].get();
    }
  }
  if (rt == nullptr && next == app_capacity_) return nullptr;
  const App* snap = snapshots_.emplace_back(std::make_unique<const App>(app)).get();
  if (rt == nullptr) {
    auto fresh_rt = std::make_unique<AppRuntime>();
    fresh_rt->app = snap;
    fresh_rt->index = next;
    rt = fresh_rt.get();
    apps_[next++] = std::move(fresh_rt);
    if (out) out->added.push_back(app.id);
  } else {
    const App* old = rt->app.get();
    if (rt->removed.load()) {
      if (out) out->added.push_back(app.id);
    } else {
      if (out) out->updated.push_back(app.id);
      if (old->enabled && !app.enabled) {
        if (out) out->disabled.push_back(app.id);
        closes.push_back({rt->index, WsError::app_disabled_by_reload});
      }
    }
    if (old->key != app.key) {
      auto k = by_key_.find(old->key);
      if (k != by_key_.end() && k->second == rt->index) by_key_.erase(k);
    }
    rt->app = snap;
    rt->removed.store(false);
  }
  by_key_[app.key] = rt->index;
  by_id_[app.id] = rt->index;
  return rt;
}

void Hub::post_closes(const std::vector<Close>& closes) {
  for (const Close& c : closes) {
    for (auto& w : workers_) {
      net::post(w->ioc(), [wp = w.get(), c] { wp->close_app_sessions(c.index, c.why); });
    }
  }
}

AppRuntime* Hub::upsert_app(const App& app) {
  std::vector<Close> closes;
  AppRuntime* rt = nullptr;
  {
    std::unique_lock lock(apps_mutex_);
    std::size_t next = app_count_.load(std::memory_order_relaxed);
    rt = upsert_locked(app, next, closes, nullptr);
    app_count_.store(next, std::memory_order_release);
  }
  post_closes(closes);
  return rt;
}

void Hub::remove_app(std::string_view id) {
  std::vector<Close> closes;
  {
    std::unique_lock lock(apps_mutex_);
    auto d = by_id_.find(id);
    if (d == by_id_.end()) return;
    const std::size_t i = d->second;
    AppRuntime& rt = *apps_[i];
    by_id_.erase(d);
    auto k = by_key_.find(rt.app->key);
    if (k != by_key_.end() && k->second == i) by_key_.erase(k);
    if (!rt.removed.exchange(true)) closes.push_back({i, WsError::app_removed});
  }
  post_closes(closes);
}

std::vector<std::string> Hub::database_app_ids() const {
  std::shared_lock lock(apps_mutex_);
  std::vector<std::string> ids;
  ids.reserve(by_id_.size());
  for (const auto& [id, index] : by_id_) ids.push_back(id);
  return ids;
}

ReloadResult Hub::reload(const Config& fresh) {
  ReloadResult out;
  // Node-level settings are fixed at start.
  const Config& cur = config_;
  auto check = [&](bool same, const char* name) {
    if (!same) out.not_applied.emplace_back(name);
  };
  check(cur.host == fresh.host, "host");
  check(cur.port == fresh.port, "port");
  check(cur.workers == fresh.workers, "workers");
  check(cur.ssl.enabled == fresh.ssl.enabled && cur.ssl.cert_path == fresh.ssl.cert_path &&
            cur.ssl.key_path == fresh.ssl.key_path && cur.ssl.ca_path == fresh.ssl.ca_path &&
            cur.ssl.passphrase == fresh.ssl.passphrase,
        "ssl");
  check(cur.metrics_enabled == fresh.metrics_enabled && cur.metrics_host == fresh.metrics_host &&
            cur.metrics_port == fresh.metrics_port,
        "metrics");
  check(cur.max_connections == fresh.max_connections, "max_connections");
  check(cur.activity_timeout == fresh.activity_timeout && cur.pong_timeout == fresh.pong_timeout &&
            cur.handshake_timeout == fresh.handshake_timeout &&
            cur.close_timeout == fresh.close_timeout &&
            cur.shutdown_grace == fresh.shutdown_grace &&
            cur.user_authentication_timeout == fresh.user_authentication_timeout,
        "timeouts");
  check(cur.send_queue_max_bytes == fresh.send_queue_max_bytes &&
            cur.send_queue_max_messages == fresh.send_queue_max_messages &&
            cur.websocket_max_payload_kb == fresh.websocket_max_payload_kb &&
            cur.http_request_limit_bytes() == fresh.http_request_limit_bytes(),
        "send_queue/websocket/http_api limits");

  std::vector<Close> closes;
  {
    std::unique_lock lock(apps_mutex_);
    std::vector<bool> seen(app_capacity_, false);
    const std::size_t count = app_count_.load(std::memory_order_relaxed);
    std::size_t next = count;
    for (const App& app : fresh.apps) {
      AppRuntime* rt = upsert_locked(app, next, closes, &out);
      if (rt == nullptr) {
        out.not_applied.push_back("app " + app.id + " (no app slot left)");
        continue;
      }
      seen[rt->index] = true;
    }
    // Publish the new slots before anyone can look them up through the maps.
    app_count_.store(next, std::memory_order_release);
    for (std::size_t i = 0; i < count; ++i) {
      AppRuntime& rt = *apps_[i];
      if (seen[i] || rt.removed.load()) continue;
      rt.removed.store(true);
      out.removed.push_back(rt.app->id);
      closes.push_back({i, WsError::app_removed});
      auto k = by_key_.find(rt.app->key);
      if (k != by_key_.end() && k->second == i) by_key_.erase(k);
      auto d = by_id_.find(rt.app->id);
      if (d != by_id_.end() && d->second == i) by_id_.erase(d);
    }
  }
  post_closes(closes);
  return out;
}

Worker& Hub::worker_for(channels::ConnId id) noexcept {
  return *workers_[static_cast<std::size_t>(id >> 48) % workers_.size()];
}

protocol::SocketId Hub::register_socket(channels::ConnId id) {
  // Socket ids: two independent uniform integers in [0, 10^10] (protocol.md §1.4), from a
  // per-thread generator seeded by the OS CSPRNG; redrawn on the (rare) collision.
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  std::uniform_int_distribution<std::uint64_t> dist(0, protocol::SocketId::max_part);
  std::lock_guard lock(state_mutex_);
  for (;;) {
    const protocol::SocketId sid{dist(rng), dist(rng)};
    if (sockets_.emplace(sid, id).second) return sid;
  }
}

void Hub::unregister_socket(const protocol::SocketId& socket_id) {
  std::lock_guard lock(state_mutex_);
  sockets_.erase(socket_id);
}

std::optional<channels::ConnId> Hub::conn_of_socket_locked(std::string_view text) const {
  const auto sid = protocol::SocketId::parse(text);
  if (!sid) return std::nullopt;
  auto it = sockets_.find(*sid);
  if (it == sockets_.end()) return std::nullopt;
  return it->second;
}

void Hub::fan_out(std::size_t app_index, std::string_view channel, const DialectFrames& frame,
                  channels::ConnId except, Worker* caller, std::shared_ptr<BroadcastTrack> track) {
  for (auto& w : workers_) {
    if (w.get() == caller) {
      const std::size_t n = w->deliver(app_index, channel, frame, except);
      if (track) track->delivered(n);
      continue;
    }
    // One post per worker: the worker fans out to its own sessions.
    net::post(w->ioc(), [wp = w.get(), app_index, ch = std::string(channel), frame, except, track] {
      const std::size_t n = wp->deliver(app_index, ch, frame, except);
      if (track) track->delivered(n);
    });
  }
}

void Hub::send_to_connections(const std::vector<channels::ConnId>& conns,
                              const DialectFrames& frame, Worker* caller) {
  const auto send = [](WsSession* s, const DialectFrames& f) {
    s->enqueue(f.for_dialect(s->v2()));
  };
  for (channels::ConnId id : conns) {
    Worker& w = worker_for(id);
    if (&w == caller) {
      if (WsSession* s = w.find_session(id)) send(s, frame);
      continue;
    }
    net::post(w.ioc(), [wp = &w, id, frame, send] {
      if (WsSession* s = wp->find_session(id)) send(s, frame);
    });
  }
}

void Hub::close_connections(const std::vector<channels::ConnId>& conns, WsError why) {
  for (channels::ConnId id : conns) {
    Worker& w = worker_for(id);
    net::post(w.ioc(), [wp = &w, id, why] {
      if (WsSession* s = wp->find_session(id)) s->close_with_error(why);
    });
  }
}

}  // namespace server
