// The Redis adapter's membership hooks and queries: the cluster state in Redis. Each local
// subscription, presence and sign-in change runs one Lua script (server/redis_scripts.hpp) over
// the per-node contributions, which decides member events, webhooks and watchlist events once
// for the cluster; the HTTP queries are one script each, aggregated over the live nodes, with
// this node's local answer as the fallback. The adapter thread, the connections and the bus are
// server/redis_adapter.cpp.

#include "protocol/channel.hpp"
#include "protocol/json.hpp"
#include "protocol/messages.hpp"
#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/redis_adapter.hpp"
#include "server/redis_scripts.hpp"

namespace server {

// The Lua scripts (lua_prelude, lua_sub, ...): server/redis_scripts.hpp.
using namespace redis_scripts;

// ============================================================================================
// State hooks (called under the state mutex, in decision order; run on the adapter thread)
// ============================================================================================

void RedisAdapter::subscription_changed(std::size_t app_index, std::string_view channel,
                                        std::size_t local_count) {
  const std::uint64_t seq = ++seq_;
  (void)post([this, seq, app_index, ch = std::string(channel), local_count] {
    if (!state_ready() || seq <= synced_seq_) return;  // the next/last resync carries it
    command(script(lua_sub, {hub_.app_at(app_index).app->id, ch, std::to_string(local_count)}),
            [this, app_index, ch](std::optional<RedisValue> r) {
              if (!r || r->elements.size() < 2) return;
              const auto before = as_int(r->elements[0]);
              const auto after = as_int(r->elements[1]);
              if (before == 0 && after > 0) emit_webhook(app_index, "channel_occupied", ch);
              if (before != after && !protocol::classify_channel(ch).is_presence) {
                emit_webhook(app_index, "subscription_count", ch, std::nullopt,
                             static_cast<std::uint64_t>(after));
              }
              if (before > 0 && after == 0) emit_webhook(app_index, "channel_vacated", ch);
            });
  });
}

void RedisAdapter::joined(std::size_t app_index, std::string_view channel,
                          const channels::JoinResult& res) {
  subscription_changed(app_index, channel, res.subscription_count);
}

bool RedisAdapter::presence_joined(const PresenceJoin& who, const channels::JoinResult* res,
                                   MembersCallback done) {
  // The cluster decides "first join anywhere" and builds the joiner's member snapshot in one
  // Redis round trip; subscription_succeeded follows through `done`.
  if (res != nullptr) subscription_changed(who.app_index, who.channel, res->subscription_count);
  presence_join(who, res != nullptr && res->member_added, std::move(done));
  return true;
}

void RedisAdapter::left(std::size_t app_index, std::string_view channel, channels::ConnId conn,
                        const channels::LeaveResult& res) {
  (void)conn;  // member_removed comes back through the bus to every node, this one included
  if (!res.was_subscribed) return;
  subscription_changed(app_index, channel, res.subscription_count);
  if (res.member_removed) presence_left(app_index, channel, res.user_id, res.user_id_numeric);
}

void RedisAdapter::presence_join(const PresenceJoin& who, bool local_first, MembersCallback done) {
  const std::size_t app_index = who.app_index;
  const std::string_view channel = who.channel, user_id = who.user_id, user_info = who.user_info,
                         socket_id = who.socket_id;
  const bool numeric = who.user_id_numeric;
  const std::uint64_t seq = ++seq_;
  auto degraded = [this, app_index, ch = std::string(channel), uid = std::string(user_id),
                   info = std::string(user_info), numeric, joiner = who.conn,
                   local_first](const MembersCallback& cb) {
    // No cluster: this node decides alone (docs/CLUSTER.md, "Redis outage").
    if (local_first) {
      emit_member_webhook(app_index, "member_added", ch, uid, numeric);
      hub_.fan_out(app_index, ch,
                   make_dialect_frames(protocol::member_added(ch, uid, info, numeric)), joiner,
                   nullptr);
    }
    cb(std::nullopt);
  };
  auto task = [this, seq, app_index, ch = std::string(channel), uid = std::string(user_id),
               info = std::string(user_info), numeric, joiner = std::string(socket_id), local_first,
               done, degraded] {
    if (!state_ready()) {
      degraded(done);
      return;
    }
    const bool write = local_first && seq > synced_seq_;
    command(script(lua_pjoin, {hub_.app_at(app_index).app->id, ch, uid, member_value(info, numeric),
                               write ? "1" : "0", bus_,
                               protocol::member_added(ch, uid, info, numeric), joiner}),
            [this, app_index, ch, uid, numeric, done](std::optional<RedisValue> r) {
              if (!r || r->kind != RedisValue::Kind::array || r->elements.empty()) {
                done(std::nullopt);
                return;
              }
              if (as_int(r->elements[0]) == 1) {
                emit_member_webhook(app_index, "member_added", ch, uid, numeric);
              }
              MemberList members;
              for (std::size_t i = 1; i + 1 < r->elements.size(); i += 2) {
                ClusterMember m{std::move(r->elements[i].str), std::move(r->elements[i + 1].str)};
                m.user_id_numeric = take_member_value(m.user_info);
                members.push_back(std::move(m));
              }
              done(std::move(members));
            });
  };
  if (!post(task)) degraded(done);
}

void RedisAdapter::presence_left(std::size_t app_index, std::string_view channel,
                                 std::string_view user_id, bool user_id_numeric) {
  const std::uint64_t seq = ++seq_;
  auto task = [this, seq, app_index, ch = std::string(channel), uid = std::string(user_id),
               numeric = user_id_numeric] {
    if (!state_ready()) {
      emit_member_webhook(app_index, "member_removed", ch, uid, numeric);
      hub_.fan_out(app_index, ch, make_dialect_frames(protocol::member_removed(ch, uid, numeric)),
                   0, nullptr);
      return;
    }
    if (seq <= synced_seq_) return;
    // Both typings of the frame: the script picks the one stored in Redis for this node, which
    // a join after another node's may have aligned with the cluster's type (lua_pjoin).
    const bool can_be_numeric = numeric || protocol::is_json_number(uid);
    command(script(lua_pleave,
                   {hub_.app_at(app_index).app->id, ch, uid, bus_,
                    protocol::member_removed(ch, uid, false),
                    can_be_numeric ? protocol::member_removed(ch, uid, true) : std::string(),
                    numeric ? "1" : "0"}),
            [this, app_index, ch, uid](std::optional<RedisValue> r) {
              if (!r) return;
              const auto answer = as_int(*r);
              if (answer == 1 || answer == 2) {
                emit_member_webhook(app_index, "member_removed", ch, uid, answer == 2);
              }
            });
  };
  (void)post(task);
}

void RedisAdapter::user_online_changed(std::size_t app_index, std::string_view user_id,
                                       bool online) {
  const std::uint64_t seq = ++seq_;
  if (online) {
    online_[app_index].emplace(user_id);
  } else {
    online_[app_index].erase(std::string(user_id));
  }
  auto task = [this, seq, app_index, uid = std::string(user_id), online] {
    std::string frame = protocol::watchlist_event(uid, online);
    if (!state_ready()) {
      local_.notify_watchers(app_index, uid, frame);  // no cluster: this node decides alone
      return;
    }
    if (seq <= synced_seq_) return;
    command(
        script(lua_online, {hub_.app_at(app_index).app->id, uid, online ? "1" : "0", bus_, frame}),
        [](std::optional<RedisValue>) {});
  };
  (void)post(task);
}

bool RedisAdapter::users_online(std::size_t app_index, std::vector<std::string> user_ids,
                                OnlineCallback done) {
  auto task = [this, app_index, ids = std::move(user_ids), done] {
    std::vector<std::string> args = {
        "EVAL",   std::string(lua_prelude) + std::string(lua_online_query),
        "0",      state_prefix_,
        node_id_, hub_.app_at(app_index).app->id};
    args.insert(args.end(), ids.begin(), ids.end());
    const std::size_t n = ids.size();
    command(std::move(args), [done, n](std::optional<RedisValue> r) {
      if (!r || r->kind != RedisValue::Kind::array || r->elements.size() != n) {
        done(std::nullopt);
        return;
      }
      std::vector<bool> out;
      for (const auto& e : r->elements) out.push_back(as_int(e) == 1);
      done(std::move(out));
    });
  };
  if (!post(task)) done(std::nullopt);
  return true;
}

// ============================================================================================
// Queries (asked from workers, answered on the adapter thread within the request timeout;
// local answers as the fallback)
// ============================================================================================

void RedisAdapter::query(std::vector<std::string> args, ReplyFn done) {
  if (!connected_.load(std::memory_order_relaxed)) {
    done(std::nullopt);
    return;
  }
  // The bound counts from the caller's request, not from when the adapter thread gets to it.
  const auto deadline = std::chrono::steady_clock::now() + settings_.request_timeout;
  // Shared by the reply and the timer (adapter thread only): whichever comes first answers.
  struct Pending {
    explicit Pending(net::io_context& ioc, ReplyFn fn) : timer(ioc), done(std::move(fn)) {}
    net::steady_timer timer;
    ReplyFn done;
    bool answered = false;
  };
  // The callback moves into the task only when the post is accepted (a refused post leaves it).
  auto fn = std::make_shared<ReplyFn>(std::move(done));
  const bool posted = post([this, args = std::move(args), fn, deadline]() mutable {
    auto p = std::make_shared<Pending>(ioc_, std::move(*fn));
    p->timer.expires_at(deadline);
    p->timer.async_wait([this, p](const boost::system::error_code& ec) {
      if (ec || p->answered) return;
      p->answered = true;
      failed_requests_.fetch_add(1, std::memory_order_relaxed);
      log::warn("redis_query_timeout",
                {{"timeout_ms", std::to_string(settings_.request_timeout.count())}});
      p->done(std::nullopt);
    });
    command(std::move(args), [p](std::optional<RedisValue> r) {
      if (p->answered) return;  // timed out already: the late reply is dropped
      p->answered = true;
      p->timer.cancel();
      p->done(std::move(r));
    });
  });
  if (!posted) (*fn)(std::nullopt);
}

std::vector<std::string> RedisAdapter::query_script(std::string_view body, std::size_t app_index,
                                                    std::string_view arg) {
  return {"EVAL",
          std::string(lua_prelude) + std::string(body),
          "0",
          state_prefix_,
          node_id_,
          hub_.app_at(app_index).app->id,
          std::string(arg)};
}

void RedisAdapter::query_channel(std::size_t app_index, std::string_view channel,
                                 CountsCallback done) {
  query(query_script(lua_query_channel, app_index, channel),
        [this, app_index, ch = std::string(channel),
         done = std::move(done)](std::optional<RedisValue> r) {
          if (r && r->elements.size() == 2) {
            done({static_cast<std::size_t>(as_int(r->elements[0])),
                  static_cast<std::size_t>(as_int(r->elements[1]))});
            return;
          }
          done(local_.counts(app_index, ch));
        });
}

void RedisAdapter::query_users(std::size_t app_index, std::string_view channel,
                               UsersCallback done) {
  query(query_script(lua_query_users, app_index, channel),
        [this, app_index, ch = std::string(channel),
         done = std::move(done)](std::optional<RedisValue> r) {
          if (r && r->kind == RedisValue::Kind::array) {
            std::vector<PresenceUserId> out;
            out.reserve(r->elements.size() / 2);
            for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
              out.push_back({std::move(r->elements[i].str), r->elements[i + 1].str == "1"});
            }
            done(std::move(out));
            return;
          }
          done(local_.user_ids(app_index, ch));
        });
}

void RedisAdapter::query_channels(std::size_t app_index, std::string_view prefix,
                                  std::function<void(std::vector<ChannelInfo>)> done) {
  query(query_script(lua_query_channels, app_index, prefix),
        [this, app_index, pre = std::string(prefix),
         done = std::move(done)](std::optional<RedisValue> r) {
          if (r && r->kind == RedisValue::Kind::array) {
            std::vector<ChannelInfo> out;
            for (std::size_t i = 0; i + 2 < r->elements.size(); i += 3) {
              out.push_back({std::move(r->elements[i].str),
                             static_cast<std::size_t>(as_int(r->elements[i + 1])),
                             static_cast<std::size_t>(as_int(r->elements[i + 2]))});
            }
            done(std::move(out));
            return;
          }
          done(local_.channels(app_index, pre));
        });
}

// ============================================================================================
// Cluster-wide app quotas
// ============================================================================================

void RedisAdapter::share_connection_counts() {
  std::vector<std::string> args = {"EVAL", std::string(lua_prelude) + std::string(lua_conn_counts),
                                   "0", state_prefix_, node_id_};
  std::vector<std::size_t> apps;  // the apps asked, in order
  for (std::size_t i = 0; i < hub_.app_count(); ++i) {
    AppRuntime& app = hub_.app_at(i);
    if (app.removed.load(std::memory_order_relaxed) || app.app->limits.max_connections == 0) {
      continue;
    }
    apps.push_back(i);
    args.push_back(app.app->id);
    args.push_back(std::to_string(app.connections.load(std::memory_order_relaxed)));
  }
  if (apps.empty()) return;
  command(std::move(args), [this, apps = std::move(apps)](std::optional<RedisValue> r) {
    if (!r || r->kind != RedisValue::Kind::array || r->elements.size() != apps.size()) return;
    for (std::size_t k = 0; k < apps.size(); ++k) {
      const auto others =
          static_cast<std::uint64_t>(std::max<std::int64_t>(0, as_int(r->elements[k])));
      hub_.app_at(apps[k]).remote_connections.store(others, std::memory_order_relaxed);
    }
  });
}

}  // namespace server
