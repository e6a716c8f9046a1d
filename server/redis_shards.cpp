// The Redis adapter's connections (docs/CLUSTER.md, "Redis Cluster"): one Redis server, or every
// primary of a Redis Cluster found from the seeds' slot map; two connections per server
// (commands; subscriptions), all of one generation: any loss tears them all down and the
// adapter starts over (rediscovering the cluster), which is also how a failover is followed.
// Commands are routed by their key's slot, MOVED / ASK followed within the known primaries.

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <algorithm>

#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/redis_adapter.hpp"
#include "server/redis_slots.hpp"

namespace server {

namespace {

constexpr auto connect_timeout = std::chrono::milliseconds(3000);
/// Redirects followed and migration waits (of migration_wait each) per command.
constexpr int max_redirects = 100;
constexpr auto migration_wait = std::chrono::milliseconds(20);

std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

bool push_kind_is(const redisReply& r, std::string_view kind) {
  const redisReply* k = r.element[0];
  return std::string_view(k->str, k->len) == kind;
}

}  // namespace

// ============================================================================================
// Connecting
// ============================================================================================

void RedisAdapter::connect() {
  if (stopping_) return;
  teardown();
  if (!cluster_) {
    Shard s;
    s.where = seeds_.front();
    s.channels = {bus_};
    shards_.push_back(std::move(s));
    open_shards();
    return;
  }
  discover(0, "");
}

void RedisAdapter::discover(std::size_t i, std::string last_error) {
  const std::uint64_t gen = generation_;
  if (i >= seeds_.size()) {
    on_conn_lost(gen, "no seed node gave the slot map (last: " + last_error + ")");
    return;
  }
  auto conn = std::make_shared<RedisConnection>(ioc_, tls_, tls_settings_.accept_invalid_certs);
  discovery_ = conn;
  std::weak_ptr<RedisConnection> weak = conn;
  auto next = [this, gen, i](const std::string& why) {
    if (gen != generation_ || stopping_) return;
    log::debug("redis_cluster_seed_failed",
               {{"seed", seeds_[i].host + ":" + std::to_string(seeds_[i].port)}, {"error", why}});
    discovery_.reset();
    discover(i + 1, seeds_[i].host + ":" + std::to_string(seeds_[i].port) + ": " + why);
  };
  conn->open(
      seeds_[i], connect_timeout,
      [this, gen, i, weak, next] {
        auto c = weak.lock();
        if (!c) return;
        c->send({"CLUSTER", "SLOTS"}, [this, gen, i, weak, next](const redisReply* r) {
          // No reply: the connection was lost (its `lost` callback moves on) or closed.
          if (r == nullptr || gen != generation_ || stopping_) return;
          if (r->type != REDIS_REPLY_ARRAY) {
            if (auto c2 = weak.lock()) c2->close();  // no `lost` after close(): one next()
            next(r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len).substr(0, 200)
                                              : "unexpected CLUSTER SLOTS reply");
            return;
          }
          // [start, end, [host, port, id, ...], replicas...] per range; primaries only.
          std::vector<Shard> shards;
          std::vector<std::uint16_t> owner(cluster_slots, 0xffff);
          std::size_t covered = 0;
          for (std::size_t k = 0; k < r->elements; ++k) {
            const redisReply* range = r->element[k];
            if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
            const redisReply* primary = range->element[2];
            if (primary->type != REDIS_REPLY_ARRAY || primary->elements < 2) continue;
            std::string host(primary->element[0]->str != nullptr ? primary->element[0]->str : "",
                             primary->element[0]->len);
            if (host.empty() || host == "?") host = seeds_[i].host;  // "the address you used"
            const auto port = static_cast<std::uint16_t>(primary->element[1]->integer);
            auto it = std::find_if(shards.begin(), shards.end(), [&](const Shard& s) {
              return s.where.host == host && s.where.port == port;
            });
            if (it == shards.end()) {
              Shard s;
              s.where = seeds_[i];
              s.where.host = host;
              s.where.port = port;
              shards.push_back(std::move(s));
              it = shards.end() - 1;
            }
            const auto index = static_cast<std::uint16_t>(it - shards.begin());
            const long long lo = range->element[0]->integer, hi = range->element[1]->integer;
            for (long long slot = std::max(0LL, lo); slot <= hi && slot < cluster_slots; ++slot) {
              if (owner[static_cast<std::size_t>(slot)] == 0xffff) ++covered;
              owner[static_cast<std::size_t>(slot)] = index;
            }
          }
          if (auto c2 = weak.lock()) c2->close();
          discovery_.reset();
          if (covered != cluster_slots) {
            next("the cluster does not serve all slots (" + std::to_string(covered) + " of " +
                 std::to_string(cluster_slots) + ")");
            return;
          }
          // Who subscribes to what: the state bus and every bucket on its slot's primary.
          shards[owner[key_slot(bus_)]].channels.push_back(bus_);
          for (const SlotBucket& b : buckets_) shards[owner[b.slot]].channels.push_back(b.bus);
          shards_ = std::move(shards);
          slot_owner_ = std::move(owner);
          log::debug("redis_cluster_slots", {{"primaries", std::to_string(shards_.size())}});
          open_shards();
        });
      },
      next);
}

void RedisAdapter::open_shards() {
  const std::uint64_t gen = generation_;
  const bool sharded = cluster_;
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    Shard& s = shards_[i];
    s.cmd = std::make_shared<RedisConnection>(ioc_, tls_, tls_settings_.accept_invalid_certs);
    s.cmd->open(
        s.where, connect_timeout, [this, gen, i] { on_cmd_up(gen, i); },
        [this, gen](const std::string& why) { on_conn_lost(gen, why); });
    s.sub = std::make_shared<RedisConnection>(ioc_, tls_, tls_settings_.accept_invalid_certs);
    std::weak_ptr<RedisConnection> weak = s.sub;
    s.sub->open(
        s.where, connect_timeout,
        [this, gen, i, weak, sharded] {
          auto c = weak.lock();
          if (!c || gen != generation_) return;
          // One channel per command: SSUBSCRIBE takes channels of one slot only.
          for (const std::string& ch : shards_[i].channels) {
            c->send({sharded ? "SSUBSCRIBE" : "SUBSCRIBE", ch}, nullptr);
          }
        },
        [this, gen](const std::string& why) { on_conn_lost(gen, why); },
        [this, gen, i](const redisReply& push) { on_push(gen, i, push); });
  }
}

void RedisAdapter::on_cmd_up(std::uint64_t gen, std::size_t shard) {
  if (gen != generation_ || stopping_) return;
  shards_[shard].cmd_up = true;
  if (!std::all_of(shards_.begin(), shards_.end(), [](const Shard& s) { return s.cmd_up; })) {
    return;
  }
  cmd_up_ = true;
  last_reply_ = std::chrono::steady_clock::now();
  if (sub_up_ && !synced_) resync();
}

void RedisAdapter::on_push(std::uint64_t gen, std::size_t shard, const redisReply& push) {
  if (gen != generation_ || stopping_) return;
  if (push_kind_is(push, "message") || push_kind_is(push, "smessage")) {
    if (push.elements >= 3 && push.element[2]->type == REDIS_REPLY_STRING) {
      on_bus_message(std::string_view(push.element[2]->str, push.element[2]->len));
    }
    return;
  }
  if (push_kind_is(push, "subscribe") || push_kind_is(push, "ssubscribe")) {
    Shard& s = shards_[shard];
    ++s.confirmed;
    if (sub_up_ || !std::all_of(shards_.begin(), shards_.end(),
                                [](const Shard& x) { return x.confirmed >= x.channels.size(); })) {
      return;
    }
    sub_up_ = true;
    // Messages may have passed while the bus was down: the mirror starts over.
    if (sequenced_) hub_.replay()->clear();
    if (cmd_up_ && !synced_) resync();
    return;
  }
  if (push_kind_is(push, "sunsubscribe") || push_kind_is(push, "unsubscribe")) {
    // Never asked for: Redis moved the channel's slot to another primary.
    on_conn_lost(gen, "a subscribed slot moved (cluster topology changed)");
  }
}

void RedisAdapter::on_conn_lost(std::uint64_t gen, std::string_view why) {
  if (gen != generation_ || stopping_) return;
  const bool was_connected = connected_.exchange(false);
  if (!outage_logged_) {
    outage_logged_ = true;
    outages_.fetch_add(1, std::memory_order_relaxed);
    log::warn(was_connected || ever_connected_ ? "redis_disconnected" : "redis_unavailable",
              {{"error", std::string(why)},
               {"retry", "backoff up to " + std::to_string(max_backoff_.count()) + " ms"}});
  }
  fail_positions();
  // The other nodes' connections are unknown now: each node counts its own (docs/CLUSTER.md).
  for (std::size_t i = 0; i < hub_.app_count(); ++i) {
    hub_.app_at(i).remote_connections.store(0, std::memory_order_relaxed);
  }
  // Tear everything down (a survivor would hold a stale subscription or state) and start over.
  teardown();
  schedule_reconnect();
}

void RedisAdapter::teardown() {
  ++generation_;
  cmd_up_ = sub_up_ = synced_ = false;
  if (discovery_) discovery_->close();
  discovery_.reset();
  for (Shard& s : shards_) {
    if (s.cmd) s.cmd->close();
    if (s.sub) s.sub->close();
  }
  shards_.clear();
}

// ============================================================================================
// Commands
// ============================================================================================

std::size_t RedisAdapter::route(std::vector<std::string>& args) {
  if (args.size() < 2) return 0;
  std::string_view key = args[1];
  if (args[0] == "EVAL" && args.size() >= 4) {
    if (cluster_ && args[2] == "0") {
      // Declared as KEYS[1] too, so that Redis answers MOVED / ASK if the slot moved.
      args[2] = "1";
      std::string first = args[3];
      args.insert(args.begin() + 3, std::move(first));
    }
    key = args[3];
    // Scripts go by their SHA1 (EVALSHA): the text is sent once per primary and connection.
    auto it = script_sha_.find(args[1]);
    if (it == script_sha_.end()) {
      std::string body = args[1];
      if (cluster_) {
        // Scripts publish on shard channels of their own slot.
        for (std::size_t at = body.find("'PUBLISH'"); at != std::string::npos;
             at = body.find("'PUBLISH'", at + 10)) {
          body.insert(at + 1, "S");
        }
      }
      std::string sha = sha1_hex(body);
      script_body_.emplace(sha, std::move(body));
      it = script_sha_.emplace(args[1], std::move(sha)).first;
    }
    args[0] = "EVALSHA";
    args[1] = it->second;
  } else if (cluster_ && args[0] == "PUBLISH") {
    args[0] = "SPUBLISH";
  }
  return !cluster_ || slot_owner_.empty() ? 0 : slot_owner_[key_slot(key)];
}

void RedisAdapter::command(std::vector<std::string> args, ReplyFn done) {
  if (!cmd_up_ || shards_.empty()) {
    done(std::nullopt);
    return;
  }
  const std::size_t s = route(args);
  ++pending_;
  queued_.fetch_add(1, std::memory_order_relaxed);
  sent_requests_.fetch_add(1, std::memory_order_relaxed);
  send_to(s, std::move(args), std::move(done), max_redirects);
}

void RedisAdapter::send_to(std::size_t s, std::vector<std::string> args, ReplyFn done, int hops) {
  const std::uint64_t gen = generation_;
  if (s >= shards_.size() || !shards_[s].cmd) {
    settle_command();
    failed_requests_.fetch_add(1, std::memory_order_relaxed);
    done(std::nullopt);
    return;
  }
  Shard& shard = shards_[s];
  auto keep = std::make_shared<std::vector<std::string>>(std::move(args));
  const bool by_sha = (*keep)[0] == "EVALSHA";
  if (by_sha && shard.loaded_scripts.insert((*keep)[1]).second) {
    // The script's first use on this connection: its text goes as EVAL (Redis caches it), in
    // order with everything else on the connection; later calls send only the SHA1.
    std::vector<std::string> text = *keep;
    text[0] = "EVAL";
    text[1] = script_body_.at((*keep)[1]);
    shard.cmd->send(
        text, [this, gen, s, keep, done = std::move(done), hops](const redisReply* reply) mutable {
          on_command_reply(gen, s, keep, std::move(done), hops, reply);
        });
    return;
  }
  shard.cmd->send(
      *keep, [this, gen, s, keep, done = std::move(done), hops](const redisReply* reply) mutable {
        on_command_reply(gen, s, keep, std::move(done), hops, reply);
      });
}

void RedisAdapter::settle_command() {
  --pending_;
  queued_.fetch_sub(1, std::memory_order_relaxed);
}

void RedisAdapter::on_command_reply(std::uint64_t gen, std::size_t s,
                                    const std::shared_ptr<std::vector<std::string>>& keep,
                                    ReplyFn done, int hops, const redisReply* reply) {
  if (reply == nullptr || gen != generation_) {
    settle_command();
    failed_requests_.fetch_add(1, std::memory_order_relaxed);
    done(std::nullopt);
    return;
  }
  last_reply_ = std::chrono::steady_clock::now();
  if (reply->type == REDIS_REPLY_ERROR) {
    const std::string_view err(reply->str, reply->len);
    if (hops > 0 && err.starts_with("NOSCRIPT") && (*keep)[0] == "EVALSHA") {
      // Redis lost its script cache (SCRIPT FLUSH): send the text again.
      for (Shard& x : shards_) x.loaded_scripts.erase((*keep)[1]);
      send_to(s, std::move(*keep), std::move(done), hops - 1);
      return;
    }
    auto r = cluster_ && hops > 0 ? parse_redirect(err) : std::nullopt;
    if (r && r->ask && keep->size() > 3 && (*keep)[0].starts_with("EVAL") &&
        (*keep)[3].starts_with('{') && (*keep)[3].ends_with('}')) {
      // The slot of a state or bucket script is being migrated: its keys are on both sides,
      // so running it on either would see half the state. Wait until the move is done (then
      // MOVED, followed below), retrying on the same primary, within the hop budget.
      auto t = std::make_shared<net::steady_timer>(ioc_, migration_wait);
      t->async_wait([this, t, gen, s, keep, done = std::move(done),
                     hops](const boost::system::error_code&) mutable {
        if (gen != generation_) {
          settle_command();
          failed_requests_.fetch_add(1, std::memory_order_relaxed);
          done(std::nullopt);
          return;
        }
        send_to(s, std::move(*keep), std::move(done), hops - 1);
      });
      return;
    }
    if (r) {
      auto it = std::find_if(shards_.begin(), shards_.end(), [&](const Shard& x) {
        return x.where.port == r->port && x.where.host == r->host;
      });
      if (it != shards_.end()) {
        const auto to = static_cast<std::size_t>(it - shards_.begin());
        redirects_.fetch_add(1, std::memory_order_relaxed);
        if (r->ask) {
          it->cmd->send({"ASKING"}, [](const redisReply*) {});
        } else {
          slot_owner_[r->slot] = static_cast<std::uint16_t>(to);
        }
        send_to(to, std::move(*keep), std::move(done), hops - 1);
        return;
      }
      // A primary this node does not know: the topology changed, start over.
      net::post(ioc_, [this, gen] { on_conn_lost(gen, "redirected to an unknown primary"); });
    }
    settle_command();
    failed_requests_.fetch_add(1, std::memory_order_relaxed);
    log::warn("redis_command_failed", {{"error", std::string(err.substr(0, 200))}});
    done(std::nullopt);
    return;
  }
  settle_command();
  received_responses_.fetch_add(1, std::memory_order_relaxed);
  done(copy_reply(reply));
}

std::size_t RedisAdapter::bucket_of(std::string_view app_id, std::string_view channel) const {
  // FNV-1a over app id, NUL, channel: the same on every node and build (a channel's serials
  // live in its bucket's slot, so every node must pick the same one).
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (const char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
  };
  mix(app_id);
  mix(std::string_view("\0", 1));
  mix(channel);
  return static_cast<std::size_t>(h % buckets_.size());
}

std::string_view RedisAdapter::channel_prefix(std::string_view app_id,
                                              std::string_view channel) const {
  return cluster_ ? std::string_view(buckets_[bucket_of(app_id, channel)].prefix) : state_prefix_;
}

const std::string& RedisAdapter::channel_bus(std::string_view app_id,
                                             std::string_view channel) const {
  return cluster_ ? buckets_[bucket_of(app_id, channel)].bus : bus_;
}

}  // namespace server
