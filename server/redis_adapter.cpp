// The Redis adapter's life cycle, its messages between nodes and its metrics: the adapter
// thread, the two connections (server/redis_connection.hpp) and what hiredis calls back on them,
// connect / reconnect with backoff, the resync of this node's state, the heartbeat and the
// reaper, the bounded queue to the adapter thread, the {prefix}#bus envelopes. The membership
// hooks and the queries (the cluster state in Redis) are server/redis_membership.cpp.

#include "server/redis_adapter.hpp"

#include <hiredis/hiredis.h>

#include <random>

#include "protocol/channel.hpp"
#include "protocol/messages.hpp"
#include "server/clock.hpp"
#include "server/cluster_codec.hpp"
#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/redis_scripts.hpp"
#include "server/webhooks.hpp"
#include "server/worker.hpp"

namespace server {

namespace {

// Work posted to the adapter thread (and commands awaiting replies) beyond this is refused:
// publishes answer 503, state hooks are dropped and repaired by the next resync.
constexpr std::size_t max_queued = 65536;

std::string random_node_id() {
  std::random_device rd;
  std::uniform_int_distribution<std::uint64_t> dist;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(dist(rd)));
  return buf;
}

/// The settings of the driver in use (redis-cluster has its own prefix and request timeout).
AdapterSettings resolved(AdapterSettings a) {
  if (a.driver == "redis-cluster") {
    if (a.cluster_prefix) a.redis_prefix = *a.cluster_prefix;
    if (a.cluster_request_timeout) a.request_timeout = *a.cluster_request_timeout;
  }
  return a;
}

/// The TLS settings of the driver in use, and their config key for messages.
std::pair<const RedisTlsSettings&, const char*> tls_of(const AdapterSettings& a) {
  if (a.driver == "redis-cluster") return {a.cluster_tls, "adapter.cluster.tls"};
  return {a.redis_tls, "adapter.redis.tls"};
}

/// Channel traffic of a Redis Cluster is spread over this many shard channels (buckets).
constexpr std::size_t cluster_buckets = 16;

/// The endpoints to connect to: the Redis URL, or the cluster's seeds, each with the
/// credentials of the first seed that has some, TLS when any says rediss:// or tls.enabled.
std::vector<RedisEndpoint> adapter_seeds(const AdapterSettings& a) {
  std::vector<RedisEndpoint> out;
  if (a.driver != "redis-cluster") {
    out.push_back(endpoint_of(parse_redis_url(a.redis_url)));
    out.back().tls = out.back().tls || a.redis_tls.enabled;
    return out;
  }
  std::string user, pass;
  bool tls = a.cluster_tls.enabled;
  for (const std::string& seed : a.cluster_nodes) {
    out.push_back(endpoint_of(parse_cluster_seed(seed)));
    if (pass.empty() && !out.back().password.empty()) {
      user = out.back().username;
      pass = out.back().password;
    }
    tls = tls || out.back().tls;
  }
  if (out.empty()) out.push_back(RedisEndpoint{});  // refused at start-up (main.cpp)
  for (RedisEndpoint& e : out) {
    e.username = user;
    e.password = pass;
    e.tls = tls;
  }
  return out;
}

// The Lua scripts (lua_prelude, lua_sub, ...): server/redis_scripts.hpp.
using namespace redis_scripts;

}  // namespace

std::optional<std::string> redis_startup_error(const AdapterSettings& a) {
  const bool cluster = a.driver == "redis-cluster";
  const std::string key =
      cluster ? "adapter.cluster.nodes (REDIS_CLUSTER_NODES)" : "adapter.redis.url (REDIS_URL)";
  if (cluster && a.cluster_nodes.empty()) return key + ": at least one seed node is needed";
  const std::vector<RedisEndpoint> seeds = adapter_seeds(a);
  std::shared_ptr<net::ssl::context> tls;
  const auto [t, tls_key] = tls_of(a);
  if (seeds.front().tls) {
    try {
      tls = make_redis_tls_context(t, tls_key);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
  }
  for (const RedisEndpoint& e : seeds) {
    if (auto bad = redis_setup_error(e, tls, t.accept_invalid_certs, std::chrono::seconds(2))) {
      return key + ": " + (cluster ? e.host + ":" + std::to_string(e.port) + ": " : "") + *bad;
    }
  }
  return std::nullopt;
}

// ============================================================================================
// Life cycle
// ============================================================================================

RedisAdapter::RedisAdapter(Hub& hub)
    : hub_(hub),
      settings_(resolved(hub.config().adapter)),
      cluster_(settings_.driver == "redis-cluster"),
      seeds_(adapter_seeds(settings_)),
      tls_settings_(tls_of(settings_).first),
      tls_(seeds_.front().tls ? make_redis_tls_context(tls_settings_, tls_of(settings_).second)
                              : nullptr),
      node_id_(random_node_id()),
      state_prefix_(cluster_ ? "{" + settings_.redis_prefix + "}" : settings_.redis_prefix),
      bus_(state_prefix_ + "#bus"),
      buckets_(cluster_ ? make_buckets(settings_.redis_prefix, cluster_buckets)
                        : std::vector<SlotBucket>{}),
      local_(hub),
      work_(net::make_work_guard(ioc_)),
      reconnect_timer_(ioc_),
      heartbeat_timer_(ioc_),
      sequenced_(hub.replay() != nullptr),
      online_(hub.app_capacity()) {
  log::info("cluster_node", {{"node_id", node_id_},
                             {cluster_ ? "redis_cluster_seed" : "redis",
                              seeds_.front().host + ":" + std::to_string(seeds_.front().port)},
                             {"db", std::to_string(seeds_.front().db)},
                             {"tls", tls_ ? "true" : "false"},
                             {"prefix", settings_.redis_prefix}});
  net::post(ioc_, [this] {
    connect();
    schedule_heartbeat();
  });
  thread_ = std::thread([this] { ioc_.run(); });
}

RedisAdapter::~RedisAdapter() {
  net::post(ioc_, [this] {
    stopping_ = true;  // no reconnect, no heartbeat: let the thread run out of work
    reconnect_timer_.cancel();
    heartbeat_timer_.cancel();
    connected_.store(false);
    teardown();
    work_.reset();
  });
  if (thread_.joinable()) thread_.join();
}

void RedisAdapter::schedule_reconnect() {
  if (stopping_) return;
  reconnect_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, max_backoff_);
  reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) connect();
  });
}

void RedisAdapter::resync() {
  // Replace this node's contribution with the local registry's truth: correct whether Redis
  // kept the old data, lost it (restart) or another node reaped us meanwhile.
  std::vector<std::string> args = {"EVAL",   std::string(lua_prelude) + std::string(lua_resync),
                                   "0",      state_prefix_,
                                   node_id_, std::to_string(settings_.node_timeout.count())};
  {
    std::lock_guard lock(hub_.state_mutex());
    synced_seq_ = seq_;
    auto& reg = hub_.registry();
    for (std::size_t i = 0; i < hub_.app_count(); ++i) {
      const std::string& app_id = hub_.app_at(i).app->id;
      for (const std::string& ch : reg.occupied_channels(app_id, "")) {
        args.insert(args.end(),
                    {"sc", app_id, ch, ch, std::to_string(reg.subscription_count(app_id, ch))});
        if (protocol::classify_channel(ch).is_presence) {
          for (const auto& m : reg.members(app_id, ch)) {
            args.insert(args.end(), {"p", app_id, ch, std::string(m.user_id),
                                     member_value(m.user_info, m.user_id_numeric)});
          }
        }
      }
      for (const std::string& user : online_[i]) {
        args.insert(args.end(), {"on", app_id, "", user, ""});
      }
    }
  }
  synced_ = true;
  resyncs_.fetch_add(1, std::memory_order_relaxed);
  command(std::move(args), [this](std::optional<RedisValue> r) {
    if (!r) {
      // The connection failed again (on_conn_lost handles it), or Redis refused the script:
      // start over rather than stay half-connected.
      if (cmd_up_) {
        net::post(ioc_, [this, gen = generation_] { on_conn_lost(gen, "resync failed"); });
      }
      return;
    }
    backoff_ = std::chrono::milliseconds(100);
    ever_connected_ = true;
    if (!connected_.exchange(true)) {
      log::info("redis_connected",
                {{"node_id", node_id_}, {"outage_ended", outage_logged_ ? "true" : "false"}});
    }
    outage_logged_ = false;
  });
}

void RedisAdapter::schedule_heartbeat() {
  if (stopping_) return;
  heartbeat_timer_.expires_after(settings_.heartbeat_interval);
  heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    heartbeat();
    schedule_heartbeat();
  });
}

void RedisAdapter::heartbeat() {
  if (!state_ready()) return;
  // A command connection that stopped answering (Redis hung, a half-open socket) is dropped and
  // reconnected, which bounds what waits for it.
  const auto now = std::chrono::steady_clock::now();
  if (pending_ > 0 && now - last_reply_ > std::max<std::chrono::milliseconds>(
                                              settings_.request_timeout, settings_.node_timeout)) {
    net::post(ioc_,
              [this, gen = generation_] { on_conn_lost(gen, "no reply within the timeout"); });
    return;
  }
  command(script(lua_heartbeat, {std::to_string(settings_.node_timeout.count())}),
          [this](std::optional<RedisValue> r) {
            if (r && as_int(*r) == 0 && state_ready()) {
              // Another node reaped us (we were silent too long): put our state back.
              log::warn("cluster_node_was_reaped", {{"node_id", node_id_}});
              resync();
            }
          });
  share_connection_counts();
  command(script(lua_reap, {bus_}), [this](std::optional<RedisValue> r) {
    if (!r || r->kind != RedisValue::Kind::array) return;
    const auto& e = r->elements;
    for (std::size_t i = 0; i + 3 < e.size(); i += 4) {
      const std::string& kind = e[i].str;
      if (kind == "n") {
        reaped_nodes_.fetch_add(1, std::memory_order_relaxed);
        log::warn("cluster_node_reaped", {{"dead_node", e[i + 1].str}, {"by", node_id_}});
        continue;
      }
      AppRuntime* app = hub_.app_by_id(e[i + 1].str);
      if (app == nullptr) continue;
      if (kind == "r" || kind == "R") {
        emit_member_webhook(app->index, "member_removed", e[i + 2].str, e[i + 3].str, kind == "R");
      } else if (kind == "v") {
        emit_webhook(app->index, "channel_vacated", e[i + 2].str);
      }
    }
  });
}

std::vector<std::string> RedisAdapter::script(std::string_view body,
                                              std::initializer_list<std::string> args) {
  std::vector<std::string> out = {"EVAL", std::string(lua_prelude) + std::string(body), "0",
                                  state_prefix_, node_id_};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

bool RedisAdapter::post(std::function<void()> fn) {
  if (queued_.fetch_add(1, std::memory_order_relaxed) >= max_queued) {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  net::post(ioc_, [this, fn = std::move(fn)] {
    queued_.fetch_sub(1, std::memory_order_relaxed);
    fn();
  });
  return true;
}

bool RedisAdapter::available() const noexcept {
  return connected_.load(std::memory_order_relaxed) &&
         queued_.load(std::memory_order_relaxed) < max_queued;
}

// ============================================================================================
// Messages between nodes
// ============================================================================================

void RedisAdapter::publish_envelope(std::string envelope, const std::string& bus) {
  if (!connected_.load(std::memory_order_relaxed)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  (void)post([this, &bus, env = std::move(envelope)]() mutable {
    command({"PUBLISH", bus, std::move(env)}, [](std::optional<RedisValue>) {});
  });
}

void RedisAdapter::publish(const PublishRequest& request, Worker* caller, PublishDone done) {
  AppRuntime& app = hub_.app_at(request.app_index);
  std::size_t numbered = 0;
  if (sequenced_) {
    for (const std::string& channel : request.channels) {
      numbered += protocol::classify_channel(channel).is_server_to_user ? 0 : 1;
    }
  }
  // Answered once Redis numbered every message (a publish answered 200 is ordered before the
  // next one its caller sends, whichever node that reaches); without numbering, at once.
  PublishDone each = numbered > 0 ? gather_results(numbered, std::move(done)) : nullptr;
  for (const std::string& channel : request.channels) {
    std::string json = protocol::api_event(request.event, channel, request.data);
    if (sequenced_ && !protocol::classify_channel(channel).is_server_to_user) {
      publish_sequenced(request.app_index, channel, std::move(json), request.except,
                        request.except_socket_id, each);
      continue;
    }
    local_.deliver(request.app_index, channel, json, request.except, caller);
    publish_envelope(cluster::encode({cluster::MsgType::event, node_id_, app.app->id, channel,
                                      std::move(json), request.except_socket_id}),
                     channel_bus(app.app->id, channel));
  }
  if (numbered == 0 && done) done(true);
}

void RedisAdapter::broadcast(std::size_t app_index, std::string_view channel,
                             const std::shared_ptr<const std::string>& frame,
                             channels::ConnId except, Worker* caller) {
  local_.broadcast(app_index, channel, frame, except, caller);
}

void RedisAdapter::broadcast_client_event(std::size_t app_index, std::string_view channel,
                                          std::string_view json, channels::ConnId except,
                                          std::string_view except_socket_id, Worker* caller) {
  if (sequenced_) {
    publish_sequenced(app_index, channel, std::string(json), except, std::string(except_socket_id));
    return;
  }
  local_.deliver_client_event(app_index, channel, json, except, caller);
  const std::string& app_id = hub_.app_at(app_index).app->id;
  publish_envelope(cluster::encode({cluster::MsgType::event, node_id_, app_id, std::string(channel),
                                    std::string(json), std::string(except_socket_id)}),
                   channel_bus(app_id, channel));
}

void RedisAdapter::terminate_user(std::size_t app_index, std::string_view user_id, WsError why) {
  publish_envelope(cluster::encode({cluster::MsgType::terminate, node_id_,
                                    hub_.app_at(app_index).app->id, std::string(user_id),
                                    why == WsError::force_reconnect ? "reconnect" : "", ""}),
                   bus_);
}

void RedisAdapter::on_bus_message(std::string_view payload) {
  auto e = cluster::decode(payload);
  if (!e) {
    log::warn("cluster_bad_message", {{"bytes", std::to_string(payload.size())}});
    return;
  }
  received_messages_.fetch_add(1, std::memory_order_relaxed);
  // Events and terminate commands were already handled locally by their origin; member and
  // watchlist events are decided in Redis and delivered from the bus on every node, origin too.
  const bool local_first =
      e->type == cluster::MsgType::event || e->type == cluster::MsgType::terminate;
  if (local_first && e->origin == node_id_) return;
  AppRuntime* app = hub_.app_by_id(e->app_id);
  if (app == nullptr) return;
  channels::ConnId except = 0;
  if (!e->except_socket.empty()) {
    std::lock_guard lock(hub_.state_mutex());
    if (auto c = hub_.conn_of_socket_locked(e->except_socket)) except = *c;
  }
  switch (e->type) {
    case cluster::MsgType::event:
      if (sequenced_ && !protocol::classify_channel(e->target).is_server_to_user) {
        // From a node with recovery off (all nodes should agree): not numbered, not mirrored.
        hub_.fan_out(app->index, e->target, make_text_frame(e->payload), except, nullptr);
        break;
      }
      local_.deliver(app->index, e->target, std::move(e->payload), except, nullptr);
      break;
    case cluster::MsgType::sequenced:
      on_sequenced(app->index, e->target, e->payload, except);
      break;
    case cluster::MsgType::position:
      on_position(app->index, e->target, e->payload, e->origin == node_id_);
      break;
    case cluster::MsgType::member:
      hub_.fan_out(app->index, e->target, make_dialect_frames(e->payload), except, nullptr);
      break;
    case cluster::MsgType::watchlist:
      local_.notify_watchers(app->index, e->target, e->payload);
      break;
    case cluster::MsgType::terminate: {
      std::vector<channels::ConnId> conns;
      {
        std::lock_guard lock(hub_.state_mutex());
        conns = hub_.registry().user_connections(app->app->id, e->target);
      }
      hub_.close_connections(
          conns, e->payload == "reconnect" ? WsError::force_reconnect : WsError::terminated_by_app);
      break;
    }
  }
}

void RedisAdapter::emit_webhook(std::size_t app_index, std::string_view name,
                                std::string_view channel, std::optional<std::string_view> user_id,
                                std::optional<std::uint64_t> count) {
  hub_.webhooks().channel_event(app_index, name, channel, user_id, count);
}

void RedisAdapter::emit_member_webhook(std::size_t app_index, std::string_view name,
                                       std::string_view channel, std::string_view user_id,
                                       bool user_id_numeric) {
  hub_.webhooks().member_event(app_index, name, channel, user_id, user_id_numeric);
}

// ============================================================================================
// Metrics
// ============================================================================================

void RedisAdapter::append_metrics(std::string& out, std::string_view port_label) {
  auto one = [&](std::string_view name, std::string_view type, std::string_view help,
                 std::uint64_t value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    out.append(name).append("{").append(port_label).append("} ");
    out.append(std::to_string(value)).append("\n");
  };
  auto load = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  one("sockudo_horizontal_adapter_sent_requests", "counter", "Commands sent to Redis",
      load(sent_requests_));
  one("sockudo_horizontal_adapter_received_responses", "counter", "Replies received from Redis",
      load(received_responses_));
  one("sockudo_horizontal_adapter_received_requests", "counter",
      "Messages received from other nodes (bus)", load(received_messages_));
  one("sockudo_horizontal_adapter_uncomplete_promises", "counter",
      "Redis requests that failed or timed out", load(failed_requests_));
  one("pushcore_horizontal_adapter_connected", "gauge", "1 while the node is connected to Redis",
      connected_.load(std::memory_order_relaxed) ? 1 : 0);
  one("pushcore_horizontal_adapter_outages_total", "counter", "Redis outages (one per outage)",
      load(outages_));
  one("pushcore_horizontal_adapter_dropped_total", "counter",
      "Cross-node messages or state updates dropped (Redis down or queue full)", load(dropped_));
  one("pushcore_horizontal_adapter_resyncs_total", "counter",
      "Times this node re-asserted its whole state in Redis", load(resyncs_));
  one("pushcore_horizontal_adapter_reaped_nodes_total", "counter",
      "Dead nodes whose state this node removed", load(reaped_nodes_));
  one("pushcore_horizontal_adapter_queued", "gauge", "Work queued for the adapter thread",
      queued_.load(std::memory_order_relaxed));
  one("pushcore_horizontal_adapter_redirects_total", "counter",
      "Redis Cluster MOVED / ASK redirects followed", load(redirects_));
}

}  // namespace server
