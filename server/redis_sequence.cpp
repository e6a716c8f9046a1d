// The Redis adapter, Protocol V2 across the cluster (docs/CLUSTER.md, "Protocol V2 recovery
// across nodes"): with connection recovery on, a channel message is numbered in Redis where it
// enters the cluster (one script: the channel's serial, its capped history stream, the PUBLISH
// on the bus), and every node, the origin too, delivers it from the bus in serial order while
// its ReplayBuffer mirrors it. Positions a node does not know and history its mirror does not
// hold are asked of Redis; idempotency keys live in Redis.

#include <algorithm>

#include "protocol/channel.hpp"
#include "server/cluster_codec.hpp"
#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/redis_adapter.hpp"
#include "server/redis_scripts.hpp"

namespace server {

namespace {

using namespace redis_scripts;

/// How long a channel's stream id and serial outlive its last message or subscribe: clients
/// that reconnect within it resume in the same stream (a quiet channel included).
constexpr std::int64_t stream_keep_ms = 24LL * 3600 * 1000;
/// An idempotency claim whose request never finished (its node died) frees its key after this.
constexpr std::int64_t claim_ttl_ms = 30'000;

std::string channel_key(std::string_view app_id, std::string_view channel) {
  std::string k(app_id);
  k.push_back('\0');
  k.append(channel);
  return k;
}

}  // namespace

// ============================================================================================
// Numbered messages
// ============================================================================================

void RedisAdapter::publish_sequenced(std::size_t app_index, std::string_view channel,
                                     std::string json, channels::ConnId except,
                                     std::string except_socket, PublishDone done) {
  const std::string& app_id = hub_.app_at(app_index).app->id;
  if (!connected_.load(std::memory_order_relaxed)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    if (done) {
      done(false);  // an HTTP publish: refused (503), a retry cannot deliver twice
      return;
    }
    // A client event while Redis is out: this node's subscribers still get it, without an
    // identity (nothing numbers it, so it cannot be replayed).
    hub_.fan_out(app_index, channel, make_text_frame(json), except, nullptr);
    return;
  }
  const auto& v2 = hub_.config().v2;
  std::vector<std::string> args = {"EVAL",
                                   std::string(lua_seq_publish),
                                   "0",
                                   std::string(channel_prefix(app_id, channel)),
                                   node_id_,
                                   app_id,
                                   std::string(channel),
                                   std::move(json),
                                   std::move(except_socket),
                                   uuid_v4(),
                                   uuid_v4(),
                                   std::to_string(v2.recovery_max_buffer_size),
                                   std::to_string(v2.recovery_buffer_ttl.count() * 1000),
                                   std::to_string(stream_keep_ms),
                                   channel_bus(app_id, channel)};
  auto fn = std::make_shared<PublishDone>(std::move(done));
  const bool posted = post([this, args = std::move(args), fn]() mutable {
    command(std::move(args), [this, fn](std::optional<RedisValue> r) {
      if (!r) {
        // Not numbered, so not delivered anywhere (the script runs whole or not at all).
        dropped_.fetch_add(1, std::memory_order_relaxed);
        log::warn("cluster_publish_failed", {{"node_id", node_id_}});
      }
      if (*fn) (*fn)(r.has_value());
    });
  });
  if (!posted && *fn) (*fn)(false);
}

void RedisAdapter::on_sequenced(std::size_t app_index, std::string_view channel,
                                std::string_view payload, channels::ConnId except) {
  const auto m = cluster::parse_sequenced(payload);
  if (!m) {
    log::warn("cluster_bad_message", {{"type", "S"}, {"bytes", std::to_string(payload.size())}});
    return;
  }
  if (!sequenced_) {
    // This node has recovery off: a plain event for it.
    local_.deliver(app_index, channel, std::string(m->json), except, nullptr);
    return;
  }
  const MessageIdentity id{std::string(m->stream_id), m->serial, std::string(m->message_id)};
  local_.deliver(app_index, channel, std::string(m->json), except, nullptr, &id);
}

// ============================================================================================
// Positions
// ============================================================================================

void RedisAdapter::stream_position(std::size_t app_index, std::string_view channel,
                                   PositionCallback done) {
  auto fn = std::make_shared<PositionCallback>(std::move(done));
  const bool posted = post([this, app_id = hub_.app_at(app_index).app->id,
                            ch = std::string(channel), fn]() mutable {
    if (!state_ready() || !connected_.load(std::memory_order_relaxed)) {
      (*fn)(std::nullopt);
      return;
    }
    std::string key = channel_key(app_id, ch);
    auto& waiting = positions_waiting_[key];
    waiting.push_back(std::move(*fn));
    if (waiting.size() > 1) return;  // the request in flight answers this one too
    command(
        {"EVAL", std::string(lua_seq_position), "0", std::string(channel_prefix(app_id, ch)),
         node_id_, app_id, ch, uuid_v4(), std::to_string(stream_keep_ms), channel_bus(app_id, ch)},
        [this, key](std::optional<RedisValue> r) {
          if (r) return;  // the answer comes with the `position` envelope, in bus order
          auto it = positions_waiting_.find(key);
          if (it == positions_waiting_.end()) return;
          auto callbacks = std::move(it->second);
          positions_waiting_.erase(it);
          for (auto& cb : callbacks) cb(std::nullopt);
        });
  });
  if (!posted) (*fn)(std::nullopt);
}

void RedisAdapter::on_position(std::size_t app_index, std::string_view channel,
                               std::string_view payload, bool asked_here) {
  const auto p = cluster::parse_position(payload);
  if (!p) {
    log::warn("cluster_bad_message", {{"type", "P"}, {"bytes", std::to_string(payload.size())}});
    return;
  }
  const StreamPosition pos{std::string(p->stream_id), p->serial};
  if (ReplayBuffer* replay = hub_.replay(); replay != nullptr && sequenced_) {
    replay->learn(app_index, channel, pos);
  }
  if (!asked_here) return;
  auto it = positions_waiting_.find(channel_key(hub_.app_at(app_index).app->id, channel));
  if (it == positions_waiting_.end()) return;
  auto callbacks = std::move(it->second);
  positions_waiting_.erase(it);
  for (auto& cb : callbacks) cb(pos);
}

void RedisAdapter::fail_positions() {
  auto all = std::move(positions_waiting_);
  positions_waiting_.clear();
  for (auto& [key, callbacks] : all) {
    for (auto& cb : callbacks) cb(std::nullopt);
  }
}

// ============================================================================================
// History
// ============================================================================================

void RedisAdapter::history(std::size_t app_index, std::string_view channel, HistoryRequest request,
                           HistoryCallback done) {
  const auto& v2 = hub_.config().v2;
  const std::string& app_id = hub_.app_at(app_index).app->id;
  std::vector<std::string> args = {"EVAL",
                                   std::string(lua_seq_history),
                                   "0",
                                   std::string(channel_prefix(app_id, channel)),
                                   node_id_,
                                   app_id,
                                   std::string(channel),
                                   request.latest ? "l" : "a",
                                   std::to_string(request.after),
                                   std::to_string(request.count),
                                   std::to_string(v2.recovery_buffer_ttl.count() * 1000)};
  query(std::move(args), [done = std::move(done)](std::optional<RedisValue> r) {
    if (!r || r->kind != RedisValue::Kind::array) {
      done(std::nullopt);
      return;
    }
    const auto& e = r->elements;
    History h;
    if (e.size() >= 3) {
      h.stream_id = e[0].str;
      h.newest = static_cast<std::uint64_t>(std::max<std::int64_t>(0, as_int(e[1])));
      if (e[2].kind == RedisValue::Kind::integer) {
        h.oldest_kept = static_cast<std::uint64_t>(e[2].integer);
      }
      for (std::size_t i = 3; i + 3 < e.size(); i += 4) {
        h.entries.push_back({static_cast<std::uint64_t>(as_int(e[i])), as_int(e[i + 1]),
                             e[i + 2].str, e[i + 3].str});
      }
    }
    done(std::move(h));
  });
}

// ============================================================================================
// Idempotency keys
// ============================================================================================

std::string RedisAdapter::idem_key(std::size_t app_index, std::string_view key) const {
  std::string k = settings_.redis_prefix + ":idem:" + hub_.app_at(app_index).app->id + ":";
  k.append(key);
  return k;
}

void RedisAdapter::claim_key(std::size_t app_index, std::string_view key, ClaimCallback done) {
  const std::int64_t ttl_ms = hub_.config().v2.idempotency_ttl.count() * 1000;
  query({"EVAL", std::string(lua_idem_claim), "0", idem_key(app_index, key),
         std::to_string(std::min(ttl_ms, claim_ttl_ms))},
        [done = std::move(done)](std::optional<RedisValue> r) {
          if (!r || r->kind != RedisValue::Kind::array || r->elements.empty()) {
            done(std::nullopt);
            return;
          }
          IdempotencyCache::Claim c;
          const std::string& state = r->elements[0].str;
          if (state == "busy") {
            c.state = IdempotencyCache::Claim::State::in_progress;
          } else if (state == "done" && r->elements.size() > 1) {
            c.state = IdempotencyCache::Claim::State::answered;
            c.body = r->elements[1].str;
          }
          done(std::move(c));
        });
}

void RedisAdapter::complete_key(std::size_t app_index, std::string_view key, std::string body) {
  const std::int64_t ttl_ms = hub_.config().v2.idempotency_ttl.count() * 1000;
  std::vector<std::string> args = {"SET", idem_key(app_index, key), std::move(body), "PX",
                                   std::to_string(ttl_ms)};
  (void)post([this, args = std::move(args)]() mutable {
    command(std::move(args), [](std::optional<RedisValue>) {});
  });
}

void RedisAdapter::release_key(std::size_t app_index, std::string_view key) {
  (void)post([this, args = std::vector<std::string>{"DEL", idem_key(app_index, key)}]() mutable {
    command(std::move(args), [](std::optional<RedisValue>) {});
  });
}

}  // namespace server
