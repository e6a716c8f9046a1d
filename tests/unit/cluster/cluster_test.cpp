// Pure parts of the Redis adapter (docs/CLUSTER.md): redis:// URLs, the `adapter` config
// section and its env overrides, and the cross-node envelope.

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "server/adapter.hpp"
#include "server/cluster_codec.hpp"
#include "server/config.hpp"
#include "server/redis_slots.hpp"

using server::ConfigError;
using server::parse_redis_url;
namespace cluster = server::cluster;

namespace {

std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}

std::optional<std::string> lookup(std::string_view name) {
  auto it = fake_env().find(std::string(name));
  if (it == fake_env().end()) return std::nullopt;
  return it->second;
}

server::Config parse(const std::string& json) {
  std::vector<std::string> warnings;
  return server::parse_config(json, &lookup, warnings);
}

}  // namespace

TEST_CASE("redis url: defaults, host, port, db") {
  const auto u = parse_redis_url("redis://example.org");
  CHECK(u.host == "example.org");
  CHECK(u.port == 6379);
  CHECK(u.db == 0);
  CHECK(u.password.empty());
  CHECK(u.username.empty());

  const auto v = parse_redis_url("redis://127.0.0.1:6380/3");
  CHECK(v.host == "127.0.0.1");
  CHECK(v.port == 6380);
  CHECK(v.db == 3);

  CHECK(parse_redis_url("redis://h/").db == 0);
  CHECK(parse_redis_url("redis://h:1/0?timeout=1").db == 0);
}

TEST_CASE("redis url: credentials") {
  const auto a = parse_redis_url("redis://:s3cret@127.0.0.1:6379/0");
  CHECK(a.username.empty());
  CHECK(a.password == "s3cret");
  CHECK(a.host == "127.0.0.1");

  const auto b = parse_redis_url("redis://alice:pa%40ss%3A@h:1");
  CHECK(b.username == "alice");
  CHECK(b.password == "pa@ss:");
  CHECK(b.host == "h");
  CHECK(b.port == 1);

  // A bare userinfo is the password (Redis < 6 AUTH); an unescaped '@' in it still works.
  CHECK(parse_redis_url("redis://secret@h").password == "secret");
  CHECK(parse_redis_url("redis://:a@b@h").password == "a@b");
}

TEST_CASE("redis url: IPv6") {
  const auto u = parse_redis_url("redis://[::1]:7000/2");
  CHECK(u.host == "::1");
  CHECK(u.port == 7000);
  CHECK(u.db == 2);
  CHECK(parse_redis_url("redis://[::1]").port == 6379);
}

TEST_CASE("redis url: rediss:// is TLS") {
  const auto u = parse_redis_url("rediss://alice:pw@cache.example:6380");
  CHECK(u.tls);
  CHECK(u.host == "cache.example");
  CHECK(u.port == 6380);
  CHECK(u.username == "alice");
  CHECK_FALSE(parse_redis_url("redis://h").tls);
}

TEST_CASE("redis url: invalid") {
  for (const char* bad :
       {"", "http://h", "rediss:/h", "redis://", "redis://:pw@", "redis://h:", "redis://h:0",
        "redis://h:65536", "redis://h:12ab", "redis://h/x", "redis://h/-1", "redis://[::1",
        "redis://[::1]x", "redis://h:99999999999"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_redis_url(bad), ConfigError);
  }
}

TEST_CASE("adapter config: defaults are local") {
  fake_env().clear();
  const auto c = parse("{}");
  CHECK(c.adapter.driver == "local");
  CHECK(c.adapter.redis_prefix == "pushcore");
}

TEST_CASE("adapter config: redis section") {
  fake_env().clear();
  const auto c = parse(R"({"adapter":{"driver":"redis","redis":{"url":"redis://:pw@h:1/2",
      "prefix":"px","requests_timeout":1500,"heartbeat_interval_ms":100,"node_timeout_ms":900}}})");
  CHECK(c.adapter.driver == "redis");
  CHECK(c.adapter.redis_url == "redis://:pw@h:1/2");
  CHECK(c.adapter.redis_prefix == "px");
  CHECK(c.adapter.request_timeout.count() == 1500);
  CHECK(c.adapter.heartbeat_interval.count() == 100);
  CHECK(c.adapter.node_timeout.count() == 900);
}

TEST_CASE("adapter config: errors name the key") {
  fake_env().clear();
  auto message = [](const std::string& json) {
    try {
      (void)parse(json);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(message(R"({"adapter":{"driver":"nats"}})").find("adapter.driver") != std::string::npos);
  CHECK(message(R"({"adapter":{"redis":{"url":"http://x"}}})").find("adapter.redis.url") !=
        std::string::npos);
  CHECK(message(R"({"adapter":{"redis":{"heartbeat_interval_ms":1000,"node_timeout_ms":1000}}})")
            .find("node_timeout_ms") != std::string::npos);
}

TEST_CASE("adapter config: env overrides") {
  fake_env() = {{"ADAPTER_DRIVER", "redis"}, {"REDIS_URL", "redis://10.0.0.1:7000/1"}};
  const auto c = parse("{}");
  CHECK(c.adapter.driver == "redis");
  CHECK(c.adapter.redis_url == "redis://10.0.0.1:7000/1");
  fake_env() = {{"ADAPTER_DRIVER", "memcached"}};
  CHECK_THROWS_AS(parse("{}"), ConfigError);
  fake_env() = {{"REDIS_URL", "nope"}};
  CHECK_THROWS_AS(parse("{}"), ConfigError);
  fake_env().clear();
}

TEST_CASE("envelope: round trip, binary-safe fields") {
  cluster::Envelope e{cluster::MsgType::event,
                      "node1",
                      "app-id",
                      "private-ch",
                      std::string("{\"event\":\"x\",\"data\":\"a:1\\u0000\"}") + '\0' + "tail",
                      "123.456"};
  const std::string bytes = cluster::encode(e);
  const auto d = cluster::decode(bytes);
  REQUIRE(d.has_value());
  CHECK(*d == e);

  for (auto t :
       {cluster::MsgType::member, cluster::MsgType::terminate, cluster::MsgType::watchlist}) {
    cluster::Envelope f{t, "n", "a", "user-1", "", ""};
    const auto g = cluster::decode(cluster::encode(f));
    REQUIRE(g.has_value());
    CHECK(*g == f);
  }
}

TEST_CASE("envelope: the exact wire shape (the Lua scripts build the same)") {
  const cluster::Envelope e{cluster::MsgType::member, "n1", "app", "presence-x", "{}", ""};
  CHECK(cluster::encode(e) == "pc11:M2:n13:app10:presence-x2:{}0:");
}

TEST_CASE("envelope: malformed input is rejected") {
  const std::string good = cluster::encode({cluster::MsgType::event, "n", "a", "c", "p", "s"});
  REQUIRE(cluster::decode(good).has_value());
  CHECK_FALSE(cluster::decode("").has_value());
  CHECK_FALSE(cluster::decode("pc2" + good.substr(3)).has_value());
  CHECK_FALSE(cluster::decode(good + "x").has_value());                       // trailing bytes
  CHECK_FALSE(cluster::decode(good.substr(0, good.size() - 1)).has_value());  // truncated
  CHECK_FALSE(cluster::decode("pc11:X1:n1:a1:c1:p1:s").has_value());          // unknown type
  CHECK_FALSE(cluster::decode("pc12:EE1:n1:a1:c1:p1:s").has_value());         // type too long
  CHECK_FALSE(cluster::decode("pc11:E1:n1:a1:c1:p").has_value());             // field missing
  CHECK_FALSE(cluster::decode("pc1:E1:n1:a1:c1:p1:s").has_value());           // no length
  CHECK_FALSE(cluster::decode("pc199999999999:E").has_value());               // absurd length
  CHECK_FALSE(cluster::decode("pc11:E1:n1:a1:c999:p1:s").has_value());        // length past the end
  CHECK_FALSE(cluster::decode("pc11:E1:n1:a01:c1:p1:s").has_value());         // leading zero
  CHECK(cluster::decode("pc11:E1:n1:a0:1:p1:s").has_value());                 // "0" is a length
}

TEST_CASE("envelope: sequenced and position payloads (built by the Lua scripts)") {
  for (auto t : {cluster::MsgType::sequenced, cluster::MsgType::position}) {
    cluster::Envelope f{t, "n", "a", "ch", "s 1\n{}", ""};
    const auto g = cluster::decode(cluster::encode(f));
    REQUIRE(g.has_value());
    CHECK(*g == f);
  }
  const auto m = cluster::parse_sequenced("sid-1 42 mid-9\n{\"event\":\"e\",\"data\":\"a b\\n\"}");
  REQUIRE(m.has_value());
  CHECK(m->stream_id == "sid-1");
  CHECK(m->serial == 42);
  CHECK(m->message_id == "mid-9");
  CHECK(m->json == "{\"event\":\"e\",\"data\":\"a b\\n\"}");
  CHECK_FALSE(cluster::parse_sequenced("").has_value());
  CHECK_FALSE(cluster::parse_sequenced("sid 42 mid\n").has_value());    // no JSON
  CHECK_FALSE(cluster::parse_sequenced("sid 0 mid\n{}").has_value());   // serials start at 1
  CHECK_FALSE(cluster::parse_sequenced("sid x2 mid\n{}").has_value());  // not a number
  CHECK_FALSE(cluster::parse_sequenced("sid 42 mid {}").has_value());   // no newline
  CHECK_FALSE(cluster::parse_sequenced(" 42 mid\n{}").has_value());     // empty stream id
  CHECK_FALSE(cluster::parse_sequenced("sid 99999999999999999999 m\n{}").has_value());  // > 2^64

  const auto p = cluster::parse_position("sid-1 0");
  REQUIRE(p.has_value());
  CHECK(p->stream_id == "sid-1");
  CHECK(p->serial == 0);
  CHECK(cluster::parse_position("s 18446744073709551615")->serial == UINT64_MAX);
  CHECK_FALSE(cluster::parse_position("sid").has_value());
  CHECK_FALSE(cluster::parse_position("sid ").has_value());
  CHECK_FALSE(cluster::parse_position("sid 1 2").has_value());
  CHECK_FALSE(cluster::parse_position("sid 18446744073709551616").has_value());
}

TEST_CASE("gather_results: answers once, after all, false when any failed") {
  int calls = 0;
  bool got = false;
  auto record = [&](bool ok) {
    ++calls;
    got = ok;
  };
  auto none = server::gather_results(0, record);
  CHECK(calls == 1);  // nothing to wait for
  CHECK(got);
  auto two = server::gather_results(2, record);
  two(true);
  CHECK(calls == 1);
  two(false);
  CHECK(calls == 2);
  CHECK_FALSE(got);
  auto three = server::gather_results(3, record);
  three(true);
  three(true);
  three(true);
  CHECK(calls == 3);
  CHECK(got);
  server::gather_results(1, nullptr)(true);  // a null callback: nothing to tell
  (void)none;
}

TEST_CASE("redis cluster: key slots as Redis computes them (CLUSTER KEYSLOT)") {
  CHECK(server::key_slot("foo") == 12182);
  CHECK(server::key_slot("bar") == 5061);
  CHECK(server::key_slot("123456789") == 12739);  // CRC16/XMODEM check value 0x31C3
  // A hash tag decides; an empty or unterminated tag does not.
  CHECK(server::key_slot("{user1000}.following") == server::key_slot("{user1000}.followers"));
  CHECK(server::key_slot("{user1000}.following") == server::key_slot("user1000"));
  CHECK(server::key_slot("foo{}{bar}") == server::crc16_xmodem("foo{}{bar}") % 16384);  // whole key
  CHECK(server::key_slot("foo{}{bar}") != server::key_slot("bar"));
  CHECK(server::key_slot("foo{{bar}}zap") == server::key_slot("{bar"));
  CHECK(server::key_slot("foo{bar}{zap}") == server::key_slot("bar"));
  CHECK(server::key_slot("{pushcore}:sc:app:node") == server::key_slot("{pushcore}#bus"));
}

TEST_CASE("redis cluster: buckets spread evenly over the slot range, one per 1/16") {
  const auto buckets = server::make_buckets("pushcore", 16);
  REQUIRE(buckets.size() == 16);
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    CAPTURE(b);
    CHECK(buckets[b].slot >= b * 1024);
    CHECK(buckets[b].slot < (b + 1) * 1024);
    CHECK(server::key_slot(buckets[b].prefix) == buckets[b].slot);
    CHECK(server::key_slot(buckets[b].bus) == buckets[b].slot);  // the shard channel too
    CHECK(server::key_slot(buckets[b].prefix + ":seq:app:ch") == buckets[b].slot);
  }
  // Deterministic: every node computes the same buckets.
  CHECK(server::make_buckets("pushcore", 16)[7].prefix == buckets[7].prefix);
}

TEST_CASE("redis cluster: seeds and the adapter.cluster section (Sockudo's shape)") {
  const auto a = server::parse_cluster_seed("10.0.0.1:7000");
  CHECK(a.host == "10.0.0.1");
  CHECK(a.port == 7000);
  CHECK_FALSE(a.tls);
  const auto b = server::parse_cluster_seed("rediss://alice:pw@cache.example:7001");
  CHECK(b.tls);
  CHECK(b.username == "alice");
  CHECK(b.password == "pw");
  for (const char* bad : {"10.0.0.1", "redis://h:7000/2", "http://h:1", "h:0"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS((void)server::parse_cluster_seed(bad), ConfigError);
  }
  fake_env().clear();
  const auto c = parse(R"({"adapter":{"driver":"redis-cluster","cluster":{
      "nodes":["redis://127.0.0.1:7000","127.0.0.1:7001"],"prefix":"px:","request_timeout_ms":700,
      "use_connection_manager":true,"use_sharded_pubsub":false,
      "tls":{"enabled":true,"ca_path":"/ca.pem","client_cert_path":"/c.pem",
             "client_key_path":"/k.pem","acceptInvalidCerts":false}}}})");
  CHECK(c.adapter.driver == "redis-cluster");
  CHECK(c.adapter.cluster_nodes ==
        std::vector<std::string>{"redis://127.0.0.1:7000", "127.0.0.1:7001"});
  CHECK(c.adapter.cluster_prefix == "px:");
  CHECK(c.adapter.cluster_request_timeout == std::chrono::milliseconds(700));
  CHECK(c.adapter.redis_prefix == "pushcore");  // the redis driver's own stays
  CHECK(c.adapter.cluster_tls.enabled);
  CHECK(c.adapter.cluster_tls.ca_path == "/ca.pem");
  CHECK(c.adapter.cluster_tls.client_cert_path == "/c.pem");
  CHECK(c.adapter.cluster_tls.client_key_path == "/k.pem");
  const auto d = parse(R"({"adapter":{"redis":{"url":"rediss://h:6380",
      "tls":{"ca_path":null,"accept_invalid_certs":true}}}})");
  CHECK(d.adapter.redis_tls.accept_invalid_certs);
  CHECK(d.adapter.redis_tls.ca_path.empty());
  CHECK_THROWS_AS(parse(R"({"adapter":{"cluster":{"nodes":["nohost"]}}})"), ConfigError);
  std::vector<std::string> warnings;
  (void)server::parse_config(R"({"adapter":{"redis":{"tls":{"bogus":1}}}})", &lookup, warnings);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("adapter.redis.tls.bogus") != std::string::npos);
}

TEST_CASE("redis cluster: MOVED / ASK redirections") {
  const auto m = server::parse_redirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(m);
  CHECK_FALSE(m->ask);
  CHECK(m->slot == 3999);
  CHECK(m->host == "127.0.0.1");
  CHECK(m->port == 6381);
  const auto a = server::parse_redirect("ASK 16383 [::1]:7000");
  REQUIRE(a);
  CHECK(a->ask);
  CHECK(a->slot == 16383);
  CHECK(a->host == "::1");
  CHECK(a->port == 7000);
  for (const char* other :
       {"ERR unknown", "MOVED", "MOVED 16384 h:1", "MOVED 1 h:0", "MOVED x h:1", "ASK 1 h:99999",
        "MOVED 1 nohostport", "CLUSTERDOWN The cluster is down"}) {
    CAPTURE(other);
    CHECK_FALSE(server::parse_redirect(other));
  }
}
