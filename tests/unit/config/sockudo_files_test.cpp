// TOML configs, Sockudo's shipped config files (tests/data/sockudo), and Sockudo's value forms:
// message_rate_limit as an object, terminate_on_limit, fractional request_limit_in_mb, the
// websocket / webhooks aliases, and the one "not supported" warning.

#include <doctest/doctest.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "tests/unit/config/test_env.hpp"

using server::AppLimits;
using server::Config;
using server::ConfigError;

using config_test::EnvScope;
using config_test::g_env;
using config_test::test_env;

namespace {

std::string data_file(const std::string& name) {
  return std::string(PUSHCORE_TEST_DATA_DIR) + "/sockudo/" + name;
}

Config toml(std::string_view text, std::vector<std::string>* warnings_out = nullptr) {
  std::vector<std::string> warnings;
  Config c = server::parse_config_toml(text, test_env, warnings);
  if (warnings_out != nullptr) *warnings_out = warnings;
  return c;
}

Config json(std::string_view text, std::vector<std::string>* warnings_out = nullptr) {
  std::vector<std::string> warnings;
  Config c = server::parse_config(text, test_env, warnings);
  if (warnings_out != nullptr) *warnings_out = warnings;
  return c;
}

template <typename F>
std::string error_of(F&& parse) {
  try {
    parse();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The paths named in the one "not supported" warning (empty if there is none).
std::vector<std::string> unsupported_paths(const std::vector<std::string>& warnings) {
  constexpr std::string_view head = "Sockudo options not supported by this server, ignored: ";
  std::vector<std::string> out;
  int lines = 0;
  for (const std::string& w : warnings) {
    if (!w.starts_with(head)) continue;
    ++lines;
    std::string_view rest = std::string_view(w).substr(head.size());
    while (!rest.empty()) {
      const std::size_t comma = rest.find(", ");
      out.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
    }
  }
  CHECK(lines <= 1);
  return out;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string rate_app(std::string_view value) {
  return R"({"app_manager":{"array":{"apps":[{"id":"1","key":"k","secret":"s",)"
         R"("policy":{"limits":{"message_rate_limit":)" +
         std::string(value) + "}}}]}}}";
}

}  // namespace

// ================================================================================================
// TOML
// ================================================================================================

TEST_CASE("toml: same values as the equivalent JSON") {
  const Config t = toml(R"(
port = 7001
host = "0.0.0.0"
activity_timeout = 60
debug = true
[http_api]
request_limit_in_mb = 0.5
[presence]
max_member_size_in_kb = 1.5
[[app_manager.array.apps]]
id = 42
key = "k\"ey"
secret = 'lit\eral'
[app_manager.array.apps.policy.limits]
max_connections = 5
[app_manager.array.apps.policy.features]
enable_client_messages = true
)");
  CHECK(t.port == 7001);
  CHECK(t.host == "0.0.0.0");
  CHECK(t.activity_timeout == std::chrono::seconds(60));
  CHECK(t.log_level == "debug");
  CHECK(t.http_request_limit_bytes() == 512 * 1024);
  CHECK(t.default_limits.max_presence_member_size_in_kb == 1.5);
  REQUIRE(t.apps.size() == 1);
  CHECK(t.apps[0].id == "42");             // a TOML integer id, as for JSON
  CHECK(t.apps[0].key == "k\"ey");         // basic string escapes survive the conversion
  CHECK(t.apps[0].secret == "lit\\eral");  // literal strings keep their backslash
  CHECK(t.apps[0].limits.max_connections == 5);
  CHECK(t.apps[0].enable_client_messages);
}

TEST_CASE("toml: ${VAR} interpolation and env overrides as for JSON") {
  const EnvScope env{{"APP_SECRET", "from-env"}, {"MY_PORT", "7100"}, {"HOST", "10.0.0.1"}};
  const Config t = toml(R"(
port = ${MY_PORT}
[[app_manager.array.apps]]
id = "a"
key = "${APP_KEY:-default-key}"
secret = "${APP_SECRET}"
)");
  const Config j = json(R"({"port": ${MY_PORT}, "app_manager": {"array": {"apps": [
    {"id": "a", "key": "${APP_KEY:-default-key}", "secret": "${APP_SECRET}"}]}}})");
  for (const Config* c : {&t, &j}) {
    CHECK(c->port == 7100);
    CHECK(c->host == "10.0.0.1");
    CHECK(c->apps.at(0).key == "default-key");
    CHECK(c->apps.at(0).secret == "from-env");
  }
  // "$${" is a literal "${", not interpolated a second time after the conversion.
  CHECK(toml("[[app_manager.array.apps]]\nid = \"a\"\nkey = \"k\"\nsecret = \"$${NOPE}\"\n")
            .apps.at(0)
            .secret == "${NOPE}");
  CHECK(error_of([] { toml("port = ${UNSET_VAR}\n"); }).find("UNSET_VAR") != std::string::npos);
}

TEST_CASE("toml: syntax errors name the line and column, types are checked like JSON") {
  const std::string e = error_of([] { toml("port = 6001\nhost = \n"); });
  CAPTURE(e);
  CHECK(e.starts_with("config: invalid TOML"));
  CHECK(e.find("line 2") != std::string::npos);
  CHECK(e.find("column") != std::string::npos);
  CHECK(error_of([] { toml("port = 70000\n"); }).starts_with("port: "));
  CHECK(error_of([] { toml("port = -1\n"); }).starts_with("port: "));
  CHECK(error_of([] { toml("port = \"x\"\n"); }).starts_with("port: "));
  CHECK(error_of([] { toml("activity_timeout = 1979-05-27\n"); }).starts_with("activity_timeout"));
  CHECK(error_of([] {
          toml("[presence]\nmax_member_size_in_kb = nan\n");
        }).starts_with("presence.max_member_size_in_kb: "));
  CHECK(error_of([] {
          toml("[http_api]\nrequest_limit_in_mb = inf\n");
        }).starts_with("http_api.request_limit_in_mb: "));
  // Floats stay floats: 5.0 is a whole number where an integer is expected.
  CHECK(toml("port = 6002.0\n").port == 6002);
  CHECK(error_of([] { toml("port = 6002.5\n"); }).starts_with("port: "));
}

TEST_CASE("toml: load_config_file picks the format by extension") {
  CHECK(server::config_format_of("a/config.toml") == server::ConfigFormat::toml);
  CHECK(server::config_format_of("CONFIG.TOML") == server::ConfigFormat::toml);
  CHECK(server::config_format_of("config.json") == server::ConfigFormat::json);
  CHECK(server::config_format_of("config") == server::ConfigFormat::json);
  CHECK(server::config_format_of("toml") == server::ConfigFormat::json);
}

// ================================================================================================
// Sockudo's shipped files
// ================================================================================================

TEST_CASE("sockudo files: config.toml and config.json load, values apply, one warning") {
  for (const char* name : {"config.toml", "config.json"}) {
    CAPTURE(name);
    std::vector<std::string> warnings;
    const Config c = server::load_config_file(data_file(name), test_env, warnings);
    CHECK(c.host == "0.0.0.0");
    CHECK(c.port == 6001);
    CHECK(c.path_prefix.empty());
    CHECK(c.shutdown_grace == std::chrono::seconds(2));
    CHECK(c.activity_timeout == std::chrono::seconds(120));
    CHECK(c.user_authentication_timeout == std::chrono::seconds(3600));
    CHECK(c.websocket_max_payload_kb == 64);
    CHECK(c.log_level == "info");
    CHECK(c.metrics_enabled);
    CHECK(c.metrics_host == "0.0.0.0");
    CHECK(c.metrics_port == 9601);
    CHECK_FALSE(c.ssl.enabled);
    CHECK_FALSE(c.ip_limits.rate_limit_enabled);
    CHECK(c.adapter.driver == "local");
    CHECK(c.adapter.cluster_nodes.empty());  // adapter.cluster is read (driver redis-cluster)
    CHECK(c.adapter.cluster_prefix == "sockudo_adapter:");
    CHECK(c.adapter.redis_prefix != "sockudo_adapter:");  // the cluster's prefix is its own
    CHECK(c.cache_ttl == std::chrono::seconds(3600));
    CHECK(c.http_request_limit_bytes() == 10u * 1024 * 1024);
    CHECK_FALSE(c.webhooks.batching_enabled);
    CHECK(c.send_queue_max_messages == 1000);  // websocket.max_messages
    CHECK(c.send_queue_max_bytes == 4194304);  // websocket.max_bytes
    REQUIRE(c.apps.size() == 1);
    const server::App& app = c.apps[0];
    CHECK(app.id == "app-id");
    CHECK(app.key == "app-key");
    CHECK(app.secret == "app-secret");
    CHECK(app.enabled);
    CHECK(app.limits.max_connections == 100000);
    CHECK(app.limits.max_client_events_per_second == 1000);
    CHECK(app.limits.max_channel_name_length == 200);
    CHECK(app.limits.max_event_payload_in_kb == 100);
    CHECK(app.limits.max_presence_members_per_channel == 100);
    CHECK(app.enable_client_messages);
    CHECK(app.enable_user_authentication);
    CHECK(app.allowed_origins == std::vector<std::string>{"*"});

    // Every other key is named in exactly one warning, and nothing is "unknown".
    for (const std::string& w : warnings) {
      CAPTURE(w);
      CHECK(w.starts_with("Sockudo options not supported by this server, ignored: "));
    }
    REQUIRE(warnings.size() == 1);
    const std::vector<std::string> paths = unsupported_paths(warnings);
    for (const char* expected :
         {"adapter.nats",
          "adapter.enable_socket_counting",
          "database.surrealdb",
          "app_manager.cache.enabled",
          "app_manager.array.apps[0].policy.channels.channel_namespaces",
          "app_manager.array.apps[0].policy.channels.channel_delta_compression",
          "app_manager.array.apps[0].policy.idempotency",
          "app_manager.array.apps[0].policy.connection_recovery",
          "cache.driver",
          "cache.memory",
          "queue",
          "rate_limiter.driver",
          "metrics.tcp_exporter",
          "logging",
          "cleanup",
          "delta_compression",
          "tag_filtering",
          "ephemeral",
          "event_name_filtering",
          "websocket.max_message_size",
          "websocket.ping_interval",
          "websocket.compression"}) {
      CHECK_MESSAGE(contains(paths, expected), expected);
    }
  }
  // Only in the TOML file.
  std::vector<std::string> warnings;
  (void)server::load_config_file(data_file("config.toml"), test_env, warnings);
  const std::vector<std::string> paths = unsupported_paths(warnings);
  for (const char* expected :
       {"health_check_timeout_ms", "adapter.pulsar", "adapter.kafka", "adapter.iggy",
        "adapter.cluster_health", "adapter.fallback_to_local", "push", "ably_compat",
        "presence.update_rate_limit_per_member_per_second", "presence.ungraceful_timeout_seconds",
        "versioned_messages", "annotations", "ai_transport", "history", "presence_history"}) {
    CHECK_MESSAGE(contains(paths, expected), expected);
  }
}

TEST_CASE("sockudo files: the TOML file's webhooks.retry uses Sockudo's *_backoff_ms names") {
  std::vector<std::string> warnings;
  const Config c = server::load_config_file(data_file("config.toml"), test_env, warnings);
  CHECK(c.webhooks.request_timeout == std::chrono::milliseconds(10000));
  CHECK(c.webhooks.retry.enabled);
  CHECK(c.webhooks.retry.max_attempts == 5);
  CHECK(c.webhooks.retry.max_elapsed_time == std::chrono::milliseconds(300000));
  CHECK(c.webhooks.retry.initial_interval == std::chrono::milliseconds(1000));
  CHECK(c.webhooks.retry.max_interval == std::chrono::milliseconds(60000));
}

TEST_CASE("sockudo files: env overrides apply on top of the files") {
  const EnvScope env{{"PORT", "7005"}, {"SOCKUDO_DEFAULT_APP_SECRET", "s3"}};
  for (const char* name : {"config.toml", "config.json"}) {
    std::vector<std::string> warnings;
    const Config c = server::load_config_file(data_file(name), test_env, warnings);
    CHECK(c.port == 7005);
    CHECK(c.apps.at(0).secret == "s3");
  }
}

// ================================================================================================
// The one "not supported" warning
// ================================================================================================

TEST_CASE("unsupported Sockudo options: one warning naming each, unknown keys one each") {
  std::vector<std::string> warnings;
  (void)json(R"({"queue": {}, "hots": 1, "push": {"x": 1}, "metrics": {"tcp_exporter": {}}})",
             &warnings);
  CHECK(warnings == std::vector<std::string>{
                        "hots: unknown key, ignored",
                        "Sockudo options not supported by this server, ignored: queue, push, "
                        "metrics.tcp_exporter"});
  warnings.clear();
  (void)json("{}", &warnings);
  CHECK(warnings.empty());
}

// ================================================================================================
// message_rate_limit, terminate_on_limit
// ================================================================================================

TEST_CASE("message_rate_limit: the number and the object form") {
  const AppLimits number = json(rate_app("50")).apps.at(0).limits;
  CHECK(number.message_rate_limit == 50);
  CHECK(number.message_rate_window_seconds == 1);
  CHECK_FALSE(number.message_rate_terminate);
  CHECK(json(rate_app("\"7\"")).apps.at(0).limits.message_rate_limit == 7);

  const AppLimits object =
      json(rate_app(R"({"enabled": true, "max_attempts": 100, "decay_seconds": 10,
                        "terminate_on_limit": true})"))
          .apps.at(0)
          .limits;
  CHECK(object.message_rate_limit == 100);
  CHECK(object.message_rate_window_seconds == 10);
  CHECK(object.message_rate_terminate);

  // Sockudo's defaults: 60 attempts per 60 s, no termination, and off unless enabled.
  const AppLimits defaults = json(rate_app(R"({"enabled": true})")).apps.at(0).limits;
  CHECK(defaults.message_rate_limit == 60);
  CHECK(defaults.message_rate_window_seconds == 60);
  CHECK_FALSE(defaults.message_rate_terminate);
  CHECK(json(rate_app(R"({"max_attempts": 5})")).apps.at(0).limits.message_rate_limit == 0);
  CHECK(json(rate_app(R"({"enabled": false, "max_attempts": 5})"))
            .apps.at(0)
            .limits.message_rate_limit == 0);
  CHECK(json(rate_app(R"({"enabled": true, "max_attempts": 0})"))
            .apps.at(0)
            .limits.message_rate_limit == 0);

  // The same from TOML, on the flat app key.
  const AppLimits t = toml(R"(
[[app_manager.array.apps]]
id = "1"
key = "k"
secret = "s"
message_rate_limit = { enabled = true, max_attempts = 3, decay_seconds = 2 }
)")
                          .apps.at(0)
                          .limits;
  CHECK(t.message_rate_limit == 3);
  CHECK(t.message_rate_window_seconds == 2);

  // policy.limits replaces the flat value as a whole.
  const AppLimits both = json(R"({"app_manager":{"array":{"apps":[{"id":"1","key":"k",
    "secret":"s","message_rate_limit":{"enabled":true,"max_attempts":9,"decay_seconds":30,
    "terminate_on_limit":true},"policy":{"limits":{"message_rate_limit":4}}}]}}})")
                             .apps.at(0)
                             .limits;
  CHECK(both.message_rate_limit == 4);
  CHECK(both.message_rate_window_seconds == 1);
  CHECK_FALSE(both.message_rate_terminate);
}

TEST_CASE("message_rate_limit: bad forms are ConfigErrors naming the key") {
  const std::string p = "app_manager.array.apps[0].policy.limits.message_rate_limit";
  CHECK(error_of([] { json(rate_app("-1")); }).starts_with(p + ": "));
  CHECK(error_of([] { json(rate_app("1.5")); }).starts_with(p + ": "));
  CHECK(error_of([] { json(rate_app("true")); }).starts_with(p + ": expected a number or an "));
  CHECK(error_of([] { json(rate_app("[1]")); }).starts_with(p + ": expected a number or an "));
  CHECK(error_of([] { json(rate_app(R"({"enabled": "yes"})")); }).starts_with(p + ".enabled: "));
  CHECK(error_of([] {
          json(rate_app(R"({"max_attempts": "many"})"));
        }).starts_with(p + ".max_attempts: "));
  CHECK(error_of([] {
          json(rate_app(R"({"decay_seconds": 0})"));
        }).starts_with(p + ".decay_seconds: "));
  CHECK(error_of([] {
          json(rate_app(R"({"terminate_on_limit": 1})"));
        }).starts_with(p + ".terminate_on_limit: "));
  std::vector<std::string> warnings;
  (void)json(rate_app(R"({"enabled": true, "bogus": 1})"), &warnings);
  CHECK(warnings == std::vector<std::string>{p + ".bogus: unknown key, ignored"});
}

TEST_CASE("terminate_on_limit: client events over the limit close the connection") {
  const std::string base = R"({"app_manager":{"array":{"apps":[{"id":"1","key":"k","secret":"s",)";
  CHECK_FALSE(json(base + R"("max_client_events_per_second": 5}]}}})")
                  .apps.at(0)
                  .limits.terminate_on_client_event_limit);
  CHECK(json(base + R"("terminate_on_limit": true}]}}})")
            .apps.at(0)
            .limits.terminate_on_client_event_limit);
  CHECK(json(base + R"("policy": {"limits": {"terminate_on_limit": "true"}}}]}}})")
            .apps.at(0)
            .limits.terminate_on_client_event_limit);
  CHECK(error_of([&] {
          json(base + R"("terminate_on_limit": 3}]}}})");
        }).starts_with("app_manager.array.apps[0].terminate_on_limit: "));
}

// ================================================================================================
// Fractions, aliases
// ================================================================================================

TEST_CASE("http_api.request_limit_in_mb: fractions") {
  CHECK(json(R"({"http_api": {"request_limit_in_mb": 0.5}})").http_request_limit_bytes() == 524288);
  CHECK(json(R"({"http_api": {"request_limit_in_mb": "0.25"}})").http_request_limit_bytes() ==
        262144);
  CHECK(json(R"({"http_api": {"request_limit_in_mb": 10}})").http_request_limit_bytes() ==
        10485760);
  CHECK(json("{}").http_request_limit_bytes() == 10485760);
  for (const char* bad : {"0", "0.0001", "-1", "4097", "\"x\"", "true"}) {
    CAPTURE(bad);
    CHECK(error_of([&] {
            json(std::string(R"({"http_api": {"request_limit_in_mb": )") + bad + "}}");
          }).starts_with("http_api.request_limit_in_mb: "));
  }
}

TEST_CASE("websocket.max_messages / max_bytes: send_queue aliases, send_queue wins") {
  const Config a = json(R"({"websocket": {"max_messages": 10, "max_bytes": 2048}})");
  CHECK(a.send_queue_max_messages == 10);
  CHECK(a.send_queue_max_bytes == 2048);
  const Config b = json(R"({"send_queue": {"max_messages": 20, "max_bytes": 4096},
                           "websocket": {"max_messages": 10, "max_bytes": 2048}})");
  CHECK(b.send_queue_max_messages == 20);
  CHECK(b.send_queue_max_bytes == 4096);
  CHECK(error_of([] {
          json(R"({"websocket": {"max_messages": 0}})");
        }).starts_with("websocket.max_messages: "));
}

TEST_CASE("webhooks: Sockudo's batching.size and retry *_backoff_ms names") {
  const Config c = json(R"({"webhooks": {"batching": {"size": 7},
    "retry": {"initial_backoff_ms": 200, "max_backoff_ms": 900}}})");
  CHECK(c.webhooks.max_batch_size == 7);
  CHECK(c.webhooks.retry.initial_interval == std::chrono::milliseconds(200));
  CHECK(c.webhooks.retry.max_interval == std::chrono::milliseconds(900));
}
