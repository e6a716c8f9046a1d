#include "server/config.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "tests/unit/config/test_env.hpp"

using server::App;
using server::AppLimits;
using server::Config;
using server::ConfigError;

using config_test::EnvScope;
using config_test::g_env;
using config_test::test_env;

namespace {

Config parse(std::string_view json, std::vector<std::string>* warnings_out = nullptr) {
  std::vector<std::string> warnings;
  Config c = server::parse_config(json, test_env, warnings);
  if (warnings_out != nullptr) {
    *warnings_out = warnings;
  }
  return c;
}

// The ConfigError message of parsing `json`, or "" when it parses.
std::string error_of(std::string_view json) {
  try {
    parse(json);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// One app with the given extra members, e.g. R"("policy":{...})".
std::string one_app(std::string_view extra) {
  std::string json = R"({"app_manager":{"array":{"apps":[{"id":"1","key":"k","secret":"s")";
  if (!extra.empty()) {
    json += ",";
    json += extra;
  }
  json += "}]}}}";
  return json;
}

std::string policy_limit(std::string_view key, std::string_view value) {
  return one_app(R"("policy":{"limits":{")" + std::string(key) + "\":" + std::string(value) + "}}");
}

}  // namespace

// ================================================================================================
// Reading every key
// ================================================================================================

TEST_CASE("config: every server-level key is read") {
  const Config c = parse(R"({
    "host": "0.0.0.0", "port": 7001, "activity_timeout": 60, "debug": false, "mode": "production",
    "pong_timeout": 7, "user_authentication_timeout": 11, "handshake_timeout": 3,
    "close_timeout": 2, "shutdown_grace_period": 0, "max_connections": 5000, "workers": 3,
    "websocket_max_payload_kb": 128, "send_queue": {"max_bytes": 4096, "max_messages": 16},
    "cache": {"ttl": 60}, "http_api": {"request_limit_in_mb": 2}, "cors": {"origin": "*"},
    "path_prefix": "/ws", "metrics": {"enabled": false, "host": "0.0.0.0", "port": 9700},
    "log_level": "warn"
  })");
  CHECK(c.host == "0.0.0.0");
  CHECK(c.port == 7001);
  CHECK(c.activity_timeout == std::chrono::seconds(60));
  CHECK(c.pong_timeout == std::chrono::seconds(7));
  CHECK(c.user_authentication_timeout == std::chrono::seconds(11));
  CHECK(c.handshake_timeout == std::chrono::seconds(3));
  CHECK(c.close_timeout == std::chrono::seconds(2));
  CHECK(c.shutdown_grace == std::chrono::seconds(0));
  CHECK(c.max_connections == 5000);
  CHECK(c.workers == 3);
  CHECK(c.websocket_max_payload_kb == 128);
  CHECK(c.send_queue_max_bytes == 4096);
  CHECK(c.send_queue_max_messages == 16);
  CHECK(c.cache_ttl == std::chrono::seconds(60));
  CHECK(c.http_request_limit_mb == 2);
  CHECK(c.cors_origin == "*");
  CHECK(c.path_prefix == "/ws");
  CHECK_FALSE(c.metrics_enabled);
  CHECK(c.metrics_host == "0.0.0.0");
  CHECK(c.metrics_port == 9700);
  CHECK(c.log_level == "warn");
  CHECK_FALSE(c.embedded_default);
}

TEST_CASE("config: built-in defaults when keys are absent") {
  const Config c = parse("{}");
  const Config d;
  CHECK(c.host == d.host);
  CHECK(c.port == 6001);
  CHECK(c.activity_timeout == std::chrono::seconds(120));
  CHECK(c.pong_timeout == std::chrono::seconds(30));
  CHECK(c.user_authentication_timeout == std::chrono::seconds(3600));
  CHECK(c.cache_ttl == std::chrono::seconds(3600));
  CHECK(c.websocket_max_payload_kb == 64);
  CHECK(c.send_queue_max_bytes == d.send_queue_max_bytes);
  CHECK(c.send_queue_max_messages == d.send_queue_max_messages);
  CHECK(c.path_prefix.empty());
  CHECK(c.log_level == "info");
  CHECK(c.cors_origins == std::vector<std::string>{"*"});
}

TEST_CASE("config: every app key is read from policy") {
  const Config c = parse(one_app(R"(
    "enabled": false, "quota_close_code": 4100,
    "policy": {
      "limits": {"max_connections": 10, "max_client_events_per_second": 11,
                 "max_presence_members_per_channel": 12, "max_presence_member_size_in_kb": 13,
                 "max_channel_name_length": 14, "max_event_name_length": 15,
                 "max_event_payload_in_kb": 16, "max_event_channels_at_once": 17,
                 "max_event_batch_size": 18, "max_channels_per_connection": 19,
                 "client_event_decay_seconds": 20},
      "features": {"enable_client_messages": true, "enable_user_authentication": true,
                   "enable_watchlist_events": true},
      "channels": {"allowed_origins": ["https://a.example", "*.b.example"]}
    })"));
  REQUIRE(c.apps.size() == 1);
  const App& a = c.apps[0];
  CHECK(a.id == "1");
  CHECK(a.key == "k");
  CHECK(a.secret == "s");
  CHECK_FALSE(a.enabled);
  CHECK(a.quota_close_code == 4100);
  CHECK(a.limits.max_connections == 10);
  CHECK(a.limits.max_client_events_per_second == 11);
  CHECK(a.limits.max_presence_members_per_channel == 12);
  CHECK(a.limits.max_presence_member_size_in_kb == 13.0);
  CHECK(a.limits.max_channel_name_length == 14);
  CHECK(a.limits.max_event_name_length == 15);
  CHECK(a.limits.max_event_payload_in_kb == 16.0);
  CHECK(a.limits.max_event_channels_at_once == 17);
  CHECK(a.limits.max_event_batch_size == 18);
  CHECK(a.limits.max_channels_per_connection == 19);
  CHECK(a.limits.client_event_decay_seconds == 20);
  CHECK(a.enable_client_messages);
  CHECK(a.enable_user_authentication);
  CHECK(a.enable_watchlist_events);
  CHECK(a.allowed_origins == std::vector<std::string>{"https://a.example", "*.b.example"});
}

TEST_CASE("config: flat Sockudo app keys are aliases, policy wins") {
  SUBCASE("flat keys alone") {
    const Config c = parse(one_app(R"("max_connections": 10000, "enable_client_messages": true,
        "max_client_events_per_second": 1000, "allowed_origins": ["*"],
        "enable_user_authentication": true, "enable_watchlist_events": true,
        "max_presence_member_size_in_kb": 0.5)"));
    const App& a = c.apps.at(0);
    CHECK(a.limits.max_connections == 10000);
    CHECK(a.limits.max_client_events_per_second == 1000);
    CHECK(a.limits.max_presence_member_size_in_kb == 0.5);
    CHECK(a.enable_client_messages);
    CHECK(a.enable_user_authentication);
    CHECK(a.enable_watchlist_events);
    CHECK(a.allowed_origins == std::vector<std::string>{"*"});
  }
  SUBCASE("policy beats flat, whatever the order") {
    const Config c = parse(one_app(R"(
        "policy": {"limits": {"max_connections": 5}, "features": {"enable_client_messages": false},
                   "channels": {"allowed_origins": ["https://p.example"]}},
        "max_connections": 10000, "enable_client_messages": true,
        "allowed_origins": ["https://flat.example"])"));
    const App& a = c.apps.at(0);
    CHECK(a.limits.max_connections == 5);
    CHECK_FALSE(a.enable_client_messages);
    CHECK(a.allowed_origins == std::vector<std::string>{"https://p.example"});
  }
}

TEST_CASE("config: the Sockudo sample config loads") {
  std::vector<std::string> warnings;
  const Config c = parse(R"({
    "debug": false, "host": "127.0.0.1", "port": 6001, "mode": "production", "path_prefix": "/",
    "shutdown_grace_period": 10, "websocket_max_payload_kb": 64,
    "user_authentication_timeout": 3600, "activity_timeout": 120,
    "unix_socket": {"enabled": false}, "adapter": {"driver": "local"},
    "app_manager": {"driver": "memory", "array": {"apps": [{"id": "app-id", "key": "app-key",
      "secret": "app-secret", "max_connections": 10000, "enable_client_messages": true,
      "enabled": true, "max_client_events_per_second": 1000, "allowed_origins": ["*"]}]},
      "cache": {"enabled": false, "ttl": 300}},
    "cache": {"driver": "memory", "memory": {"ttl": 300}},
    "metrics": {"enabled": false, "driver": "prometheus", "host": "0.0.0.0", "port": 9601,
                "prometheus": {"prefix": "sockudo_"}},
    "cors": {"credentials": true, "origin": ["*"], "methods": ["GET"], "allowed_headers": []},
    "channel_limits": {"max_name_length": 200, "cache_ttl": 3600},
    "event_limits": {"max_channels_at_once": 100, "max_name_length": 200,
                     "max_payload_in_kb": 100, "max_batch_size": 10},
    "presence": {"max_members_per_channel": 100, "max_member_size_in_kb": 2},
    "http_api": {"request_limit_in_mb": 10, "accept_traffic": {"memory_threshold": 0.9}},
    "webhooks": {"batching": {"enabled": false}}, "ssl": {"enabled": false, "redirect_http": false}
  })",
                         &warnings);
  CHECK(c.path_prefix.empty());  // "/" means no prefix
  CHECK(c.shutdown_grace == std::chrono::seconds(10));
  CHECK(c.apps.at(0).limits.max_connections == 10000);
  CHECK(c.cache_ttl == std::chrono::seconds(3600));
  // The ignored Sockudo options are named, by path, in one warning.
  CHECK(c.adapter.driver == "local");     // `adapter` is supported (docs/CLUSTER.md)
  CHECK(c.metrics_prefix == "sockudo_");  // metrics.prometheus.prefix is supported
  CHECK(warnings == std::vector<std::string>{
                        "Sockudo options not supported by this server, ignored: unix_socket, "
                        "app_manager.cache.enabled, cache.driver, cache.memory, "
                        "http_api.accept_traffic"});
  CHECK_FALSE(c.ssl.redirect_http);
  const Config r = parse(R"({"ssl": {"redirect_http": true, "http_port": 8080}})");
  CHECK(r.ssl.redirect_http);
  CHECK(r.ssl.http_port == 8080);
  CHECK(parse("{}").ssl.http_port == 80);
}

TEST_CASE("config: cors.credentials, cors.methods, cors.allowed_headers (HTTP tokens only)") {
  const Config d = parse("{}");
  CHECK(d.cors_credentials);
  CHECK(d.cors_methods == std::vector<std::string>{"GET", "POST", "OPTIONS"});
  CHECK(d.cors_allowed_headers ==
        std::vector<std::string>{"Content-Type", "Authorization", "X-Requested-With"});
  const Config c = parse(
      R"({"cors": {"credentials": false, "methods": ["GET", "PATCH"], "allowed_headers": ["X-Key"]}})");
  CHECK_FALSE(c.cors_credentials);
  CHECK(c.cors_methods == std::vector<std::string>{"GET", "PATCH"});
  CHECK(c.cors_allowed_headers == std::vector<std::string>{"X-Key"});
  // A header value built from them must not be able to carry CR/LF or separators.
  CHECK(error_of(R"({"cors": {"methods": ["GET\r\nX-Evil: 1"]}})").find("cors.methods") !=
        std::string::npos);
  CHECK(error_of(R"({"cors": {"allowed_headers": ["a b"]}})").find("cors.allowed_headers") !=
        std::string::npos);
  CHECK(error_of(R"({"cors": {"credentials": "maybe"}})").find("cors.credentials") !=
        std::string::npos);
}

TEST_CASE("config: metrics.prometheus.prefix renames Sockudo's metrics; it must start a name") {
  CHECK(parse("{}").metrics_prefix == "sockudo_");
  CHECK(parse(R"({"metrics": {"prometheus": {"prefix": "myapp_"}}})").metrics_prefix == "myapp_");
  CHECK(parse(R"({"metrics": {"prometheus": {"prefix": ""}}})").metrics_prefix.empty());
  CHECK(error_of(R"({"metrics": {"prometheus": {"prefix": "9x_"}}})")
            .find("metrics.prometheus.prefix") != std::string::npos);
  CHECK(error_of(R"({"metrics": {"prometheus": {"prefix": "a-b"}}})")
            .find("metrics.prometheus.prefix") != std::string::npos);
}

// ================================================================================================
// TLS (`ssl`)
// ================================================================================================

TEST_CASE("config: ssl section and SSL_* env overrides") {
  const Config off = parse("{}");
  CHECK_FALSE(off.ssl.enabled);
  const Config c = parse(R"({"ssl": {"enabled": "true", "cert_path": "/c.pem",
    "key_path": "/k.pem", "ca_path": "/ca.pem", "passphrase": "pw"}})");
  CHECK(c.ssl.enabled);
  CHECK(c.ssl.cert_path == "/c.pem");
  CHECK(c.ssl.key_path == "/k.pem");
  CHECK(c.ssl.ca_path == "/ca.pem");
  CHECK(c.ssl.passphrase == "pw");
  // Enabled without files: a clear error at load.
  CHECK(error_of(R"({"ssl": {"enabled": true, "cert_path": "/c.pem"}})").find("ssl") !=
        std::string::npos);
  CHECK(error_of(R"({"ssl": {"enabled": 1}})").find("ssl.enabled") != std::string::npos);
  {
    EnvScope env{{"SSL_ENABLED", "true"},
                 {"SSL_CERT_PATH", "/env/c.pem"},
                 {"SSL_KEY_PATH", "/env/k.pem"},
                 {"SSL_CA_PATH", "/env/ca.pem"},
                 {"SSL_PASSPHRASE", "envpw"}};
    const Config e = parse(R"({"ssl": {"enabled": false, "cert_path": "/c.pem"}})");
    CHECK(e.ssl.enabled);
    CHECK(e.ssl.cert_path == "/env/c.pem");
    CHECK(e.ssl.key_path == "/env/k.pem");
    CHECK(e.ssl.ca_path == "/env/ca.pem");
    CHECK(e.ssl.passphrase == "envpw");
  }
  {
    EnvScope env{{"SSL_ENABLED", "0"}};
    CHECK_FALSE(
        parse(R"({"ssl": {"enabled": true, "cert_path": "a", "key_path": "b"}})").ssl.enabled);
  }
  {
    EnvScope env{{"SSL_ENABLED", "maybe"}};
    CHECK(error_of("{}").find("SSL_ENABLED") != std::string::npos);
  }
}

// ================================================================================================
// Number forms
// ================================================================================================

TEST_CASE("config: fractions and numeric strings") {
  struct Case {
    const char* key;
    const char* json_value;
    double expected;
  };
  const std::vector<Case> cases = {
      {"max_event_payload_in_kb", "0.001", 0.001},
      {"max_event_payload_in_kb", "\"0.5\"", 0.5},
      {"max_event_payload_in_kb", "\" 12 \"", 12},
      {"max_event_payload_in_kb", "1e2", 100},
      {"max_event_payload_in_kb", "0", 0},
      {"max_presence_member_size_in_kb", "2.25", 2.25},
      {"max_presence_member_size_in_kb", "\"3\"", 3},
      {"max_connections", "\"100\"", 100},
      {"max_connections", "100.0", 100},
      {"max_connections", "\"1e3\"", 1000},
      {"max_connections", "18446744073709551615", 18446744073709551615.0},
      {"max_event_batch_size", "\"7\"", 7},
  };
  for (const Case& t : cases) {
    CAPTURE(t.key);
    CAPTURE(t.json_value);
    const AppLimits l = parse(policy_limit(t.key, t.json_value)).apps.at(0).limits;
    const std::string key = t.key;
    if (key == "max_event_payload_in_kb") {
      CHECK(l.max_event_payload_in_kb == doctest::Approx(t.expected));
    } else if (key == "max_presence_member_size_in_kb") {
      CHECK(l.max_presence_member_size_in_kb == doctest::Approx(t.expected));
    } else if (key == "max_connections") {
      CHECK(static_cast<double>(l.max_connections) == t.expected);
    } else {
      CHECK(static_cast<double>(l.max_event_batch_size) == t.expected);
    }
  }
  // Server-level numbers and booleans as strings too.
  const Config c = parse(R"({"port": "7002", "activity_timeout": "30", "workers": "2",
                             "metrics": {"enabled": "false", "port": "9000"}})");
  CHECK(c.port == 7002);
  CHECK(c.activity_timeout == std::chrono::seconds(30));
  CHECK(c.workers == 2);
  CHECK_FALSE(c.metrics_enabled);
  CHECK(c.metrics_port == 9000);
  CHECK(parse(one_app(R"("enabled": "TRUE", "enable_client_messages": "true")"))
            .apps.at(0)
            .enable_client_messages);
  CHECK(parse(R"({"app_manager":{"array":{"apps":[{"id":12345,"key":"k","secret":"s"}]}}})")
            .apps.at(0)
            .id == "12345");
}

// ================================================================================================
// Errors name the key
// ================================================================================================

TEST_CASE("config: bad values throw ConfigError naming the full key path") {
  struct Case {
    std::string json;
    std::string message;  // the exact what()
  };
  const std::string limits = "app_manager.array.apps[0].policy.limits.";
  const std::vector<Case> cases = {
      {policy_limit("max_connections", "\"abc\""),
       limits + "max_connections: expected a non-negative integer, got \"abc\""},
      {policy_limit("max_connections", "-1"),
       limits + "max_connections: expected a non-negative integer, got -1"},
      {policy_limit("max_connections", "\"-1\""),
       limits + "max_connections: expected a non-negative integer, got \"-1\""},
      {policy_limit("max_connections", "1.5"),
       limits + "max_connections: expected a non-negative integer, got 1.5"},
      {policy_limit("max_connections", "\"1.5\""),
       limits + "max_connections: expected a non-negative integer, got \"1.5\""},
      {policy_limit("max_connections", "true"),
       limits + "max_connections: expected a non-negative integer, got true"},
      {policy_limit("max_connections", "[1]"),
       limits + "max_connections: expected a non-negative integer, got [1]"},
      {policy_limit("max_connections", "1e300"),
       limits + "max_connections: expected a non-negative integer, got 1e+300"},
      {policy_limit("max_event_payload_in_kb", "-0.5"),
       limits + "max_event_payload_in_kb: expected a non-negative number, got -0.5"},
      {policy_limit("max_event_payload_in_kb", "\"half\""),
       limits + "max_event_payload_in_kb: expected a non-negative number, got \"half\""},
      {policy_limit("max_event_payload_in_kb", "\"nan\""),
       limits + "max_event_payload_in_kb: expected a non-negative number, got \"nan\""},
      {policy_limit("client_event_decay_seconds", "0"),
       limits + "client_event_decay_seconds: expected an integer >= 1, got 0"},
      {one_app(R"("policy":{"features":{"enable_client_messages":"yes"}})"),
       "app_manager.array.apps[0].policy.features.enable_client_messages: expected true or "
       "false, got \"yes\""},
      {one_app(R"("enable_client_messages": 1)"),
       "app_manager.array.apps[0].enable_client_messages: expected true or false, got 1"},
      {one_app(R"("quota_close_code": 4001)"),
       "app_manager.array.apps[0].quota_close_code: expected 4004 or 4100, got 4001"},
      {one_app(R"("policy":{"channels":{"allowed_origins":[1]}})"),
       "app_manager.array.apps[0].policy.channels.allowed_origins[0]: expected a string, got 1"},
      {one_app(R"("policy": 3)"), "app_manager.array.apps[0].policy: expected an object, got 3"},
      {R"({"port": 65536})", "port: expected an integer in 0..65535, got 65536"},
      {R"({"port": "x"})", "port: expected a non-negative integer, got \"x\""},
      {R"({"metrics": {"port": -1}})", "metrics.port: expected a non-negative integer, got -1"},
      {R"({"host": 5})", "host: expected a string, got 5"},
      {R"({"host": ""})", "host: expected a non-empty string, got \"\""},
      {R"({"activity_timeout": 0})",
       "activity_timeout: expected an integer in 1..1000000000, got 0"},
      {R"({"pong_timeout": 0.5})", "pong_timeout: expected a non-negative integer, got 0.5"},
      {R"({"send_queue": {"max_bytes": 0}})",
       "send_queue.max_bytes: expected an integer >= 1, got 0"},
      {R"({"log_level": "loud"})",
       "log_level: expected one of \"debug\", \"info\", \"warn\", \"error\", got \"loud\""},
      {R"({"debug": "maybe"})", "debug: expected true or false, got \"maybe\""},
      {R"({"app_manager": {"driver": "dynamodb"}})",
       "app_manager.driver: expected \"array\"/\"memory\" (apps from the config file), "
       "\"postgres\"/\"pgsql\" or \"mysql\", got \"dynamodb\""},
      {R"({"app_manager": {"array": {"apps": {}}}})",
       "app_manager.array.apps: expected an array of apps, got {}"},
      {R"({"app_manager": {"array": {"apps": ["x"]}}})",
       "app_manager.array.apps[0]: expected an object, got \"x\""},
      {R"({"cache": []})", "cache: expected an object, got []"},
      {R"([1])", "config: expected an object, got [1]"},
  };
  for (const Case& t : cases) {
    CAPTURE(t.json);
    CHECK(error_of(t.json) == t.message);
  }
}

TEST_CASE("config: invalid JSON is a ConfigError") {
  CHECK(error_of("{").starts_with("config: invalid JSON"));
  CHECK(error_of("").starts_with("config: invalid JSON"));
  CHECK(error_of(R"({"port": 1,})").starts_with("config: invalid JSON"));
}

TEST_CASE("config: apps need id, key and secret, unique ids and keys") {
  struct Case {
    const char* apps;
    const char* message;
  };
  const std::vector<Case> cases = {
      {R"([{"key":"k","secret":"s"}])",
       "app_manager.array.apps[0].id: required, a non-empty string"},
      {R"([{"id":"","key":"k","secret":"s"}])",
       "app_manager.array.apps[0].id: required, a non-empty string"},
      {R"([{"id":"1","secret":"s"}])",
       "app_manager.array.apps[0].key: required, a non-empty string"},
      {R"([{"id":"1","key":"k"}])",
       "app_manager.array.apps[0].secret: required, a non-empty string"},
      {R"([{"id":"1","key":"k","secret":"s"},{"id":"1","key":"k2","secret":"s"}])",
       "app_manager.array.apps[1].id: duplicate app id \"1\" (also apps[0])"},
      {R"([{"id":"1","key":"k","secret":"s"},{"id":"2","key":"k3","secret":"s"},
          {"id":"3","key":"k","secret":"s"}])",
       "app_manager.array.apps[2].key: duplicate app key \"k\" (also apps[0])"},
  };
  for (const Case& t : cases) {
    CAPTURE(t.apps);
    CHECK(error_of(std::string(R"({"app_manager":{"array":{"apps":)") + t.apps + "}}}") ==
          t.message);
  }
  // The same secret on two apps is fine.
  CHECK(parse(R"({"app_manager":{"array":{"apps":[{"id":"1","key":"a","secret":"s"},
                                                   {"id":"2","key":"b","secret":"s"}]}}})")
            .apps.size() == 2);
}

// ================================================================================================
// Warnings
// ================================================================================================

TEST_CASE("config: unknown keys warn once each, by path, and are ignored") {
  std::vector<std::string> warnings;
  const Config c = parse(R"({
    "hots": "typo", "port": 7000,
    "metrics": {"enabeld": true},
    "app_manager": {"array": {"apps": [{"id": "1", "key": "k", "secret": "s", "colour": "red",
      "channel_delta_compression": 5,
      "policy": {"limits": {"max_conections": 5}, "features": {"x": true},
                 "channels": {"origins": []}, "extra": {}}}], "more": 1}},
    "port": 7001, "nothing": null
  })",
                         &warnings);
  CHECK(c.port == 7001);  // duplicate key: the last one wins
  const std::vector<std::string> expected = {
      "hots: unknown key, ignored",
      "metrics.enabeld: unknown key, ignored",
      "app_manager.array.apps[0].colour: unknown key, ignored",
      "app_manager.array.apps[0].policy.limits.max_conections: unknown key, ignored",
      "app_manager.array.apps[0].policy.features.x: unknown key, ignored",
      "app_manager.array.apps[0].policy.channels.origins: unknown key, ignored",
      "app_manager.array.apps[0].policy.extra: unknown key, ignored",
      "app_manager.array.more: unknown key, ignored",
      "port: duplicate key, the last value wins",
      "Sockudo options not supported by this server, ignored: "
      "app_manager.array.apps[0].channel_delta_compression",
  };
  CHECK(warnings == expected);
  CHECK(c.apps.at(0).limits.max_connections == AppLimits{}.max_connections);
}

TEST_CASE("config: null means unset") {
  const Config c = parse(R"({"port": null, "app_manager": {"array": {"apps": [
      {"id": "1", "key": "k", "secret": "s", "max_connections": null,
       "policy": {"limits": {"max_event_batch_size": null}}}]}}})");
  CHECK(c.port == 6001);
  CHECK(c.apps.at(0).limits.max_event_batch_size == 10);
}

// ================================================================================================
// Interpolation
// ================================================================================================

TEST_CASE("config: ${VAR} interpolation") {
  EnvScope env{{"APP_KEY", "key-from-env"}, {"PORT_NUM", "7100"}, {"EMPTY", ""}};
  struct Case {
    const char* text;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"${APP_KEY}", "key-from-env"},
      {"a-${APP_KEY}-b", "a-key-from-env-b"},
      {"${MISSING:-fallback}", "fallback"},
      {"${APP_KEY:-fallback}", "key-from-env"},
      {"${EMPTY:-fallback}", "fallback"},  // shell ":-": empty counts as unset
      {"${EMPTY}", ""},
      {"${MISSING:-}", ""},
      {"${PORT_NUM}${PORT_NUM}", "71007100"},
      {"$${APP_KEY}", "${APP_KEY}"},       // escaped
      {"${not a name}", "${not a name}"},  // left untouched
      {"${APP_KEY", "${APP_KEY"},          // unterminated
      {"$APP_KEY", "$APP_KEY"},
      {"plain", "plain"},
      {"$", "$"},
      {"$$", "$$"},
      {"$$$${APP_KEY}", "$$${APP_KEY}"},
      {"${not ${MISSING:-x}", "${not x"},      // the first "${" has no valid name
      {"a ${b ${c $", "a ${b ${c $"},          // no '}' after the first "${"
      {"${X ${APP_KEY}", "${X key-from-env"},  // invalid name, then a valid one
  };
  for (const Case& t : cases) {
    CAPTURE(t.text);
    CHECK(server::interpolate_env(t.text, test_env) == t.expected);
  }

  // Unset without default: an error naming the variable.
  try {
    (void)server::interpolate_env(R"({"key": "${NOPE}"})", test_env);
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("NOPE") != std::string::npos);
    CHECK(std::string(e.what()).starts_with("${NOPE}: environment variable NOPE is not set"));
  }
  CHECK(server::interpolate_env("${X:-d}", nullptr) == "d");

  // Values go in as-is, so a bare placeholder can produce a number.
  const Config c = parse(R"({"port": ${PORT_NUM}, "activity_timeout": ${TIMEOUT:-45},
      "app_manager": {"array": {"apps": [{"id": "1", "key": "${APP_KEY}", "secret": "s"}]}}})");
  CHECK(c.port == 7100);
  CHECK(c.activity_timeout == std::chrono::seconds(45));
  CHECK(c.apps.at(0).key == "key-from-env");
  CHECK(error_of(R"({"host": "${NOPE}"})").starts_with("${NOPE}"));
}

// ================================================================================================
// Environment overrides
// ================================================================================================

TEST_CASE("config: env overrides after parsing") {
  const std::string two_apps =
      R"({"host": "127.0.0.1", "port": 6001, "activity_timeout": 120, "max_connections": 5,
          "app_manager": {"array": {"apps": [{"id": "1", "key": "k1", "secret": "s1",
          "enable_client_messages": false}, {"id": "2", "key": "k2", "secret": "s2"}]}}})";

  SUBCASE("server-level variables") {
    EnvScope env{{"HOST", "0.0.0.0"},
                 {"PORT", "7200"},
                 {"ACTIVITY_TIMEOUT", "33"},
                 {"SOCKUDO_MAX_CONNECTIONS", "99"}};
    const Config c = parse(two_apps);
    CHECK(c.host == "0.0.0.0");
    CHECK(c.port == 7200);
    CHECK(c.activity_timeout == std::chrono::seconds(33));
    CHECK(c.max_connections == 99);
  }
  SUBCASE("default app variables override the first app only") {
    EnvScope env{{"SOCKUDO_DEFAULT_APP_ID", "env-id"},
                 {"SOCKUDO_DEFAULT_APP_KEY", "env-key"},
                 {"SOCKUDO_DEFAULT_APP_SECRET", "env-secret"}};
    const Config c = parse(two_apps);
    REQUIRE(c.apps.size() == 2);
    CHECK(c.apps[0].id == "env-id");
    CHECK(c.apps[0].key == "env-key");
    CHECK(c.apps[0].secret == "env-secret");
    CHECK_FALSE(c.apps[0].enable_client_messages);  // other fields kept
    CHECK(c.apps[1].id == "2");
  }
  SUBCASE("one default app variable") {
    EnvScope env{{"SOCKUDO_DEFAULT_APP_SECRET", "rotated"}};
    const Config c = parse(two_apps);
    CHECK(c.apps[0].id == "1");
    CHECK(c.apps[0].secret == "rotated");
  }
  SUBCASE("default app variables create the app when none is configured") {
    EnvScope env{{"SOCKUDO_DEFAULT_APP_ID", "env-id"},
                 {"SOCKUDO_DEFAULT_APP_KEY", "env-key"},
                 {"SOCKUDO_DEFAULT_APP_SECRET", "env-secret"}};
    const Config c = parse(R"({"event_limits": {"max_batch_size": 3}})");
    REQUIRE(c.apps.size() == 1);
    CHECK(c.apps[0].id == "env-id");
    CHECK(c.apps[0].key == "env-key");
    CHECK(c.apps[0].secret == "env-secret");
    CHECK(c.apps[0].enable_client_messages);
    CHECK(c.apps[0].limits.max_event_batch_size == 3);  // server-level defaults apply
  }
  SUBCASE("empty variables count as unset") {
    EnvScope env{{"HOST", ""}, {"PORT", ""}, {"SOCKUDO_DEFAULT_APP_ID", ""}};
    const Config c = parse(two_apps);
    CHECK(c.host == "127.0.0.1");
    CHECK(c.port == 6001);
    CHECK(c.apps[0].id == "1");
  }
  SUBCASE("a duplicate created by an override is an error") {
    EnvScope env{{"SOCKUDO_DEFAULT_APP_KEY", "k2"}};
    CHECK(error_of(two_apps) ==
          "app_manager.array.apps[1].key: duplicate app key \"k2\" (also apps[0])");
  }
  SUBCASE("malformed numeric variables name the variable") {
    struct Case {
      const char* name;
      const char* value;
      const char* message;
    };
    const std::vector<Case> cases = {
        {"PORT", "abc", "PORT: expected a non-negative integer, got \"abc\""},
        {"PORT", "70000", "PORT: expected an integer in 0..65535, got \"70000\""},
        {"ACTIVITY_TIMEOUT", "-5", "ACTIVITY_TIMEOUT: expected a non-negative integer, got \"-5\""},
        {"ACTIVITY_TIMEOUT", "0",
         "ACTIVITY_TIMEOUT: expected an integer in 1..1000000000, got \"0\""},
        {"SOCKUDO_MAX_CONNECTIONS", "1.5",
         "SOCKUDO_MAX_CONNECTIONS: expected a non-negative integer, got \"1.5\""},
    };
    for (const Case& t : cases) {
      CAPTURE(t.name);
      EnvScope env{{t.name, t.value}};
      CHECK(error_of("{}") == t.message);
    }
  }
}

// ================================================================================================
// Defaults
// ================================================================================================

TEST_CASE("config: defaults when limits are unset") {
  SUBCASE("project defaults") {
    const AppLimits l = parse(one_app("")).apps.at(0).limits;
    const AppLimits d;
    CHECK(l.max_connections == 0);
    CHECK(l.max_client_events_per_second == 0);
    CHECK(l.client_event_decay_seconds == 1);
    CHECK(l.max_presence_members_per_channel == 100);
    CHECK(l.max_presence_member_size_in_kb == 2.0);
    CHECK(l.max_channel_name_length == 200);
    CHECK(l.max_event_name_length == 200);
    CHECK(l.max_event_payload_in_kb == 100.0);
    CHECK(l.max_event_channels_at_once == 100);
    CHECK(l.max_event_batch_size == 10);
    CHECK(l.max_channels_per_connection == d.max_channels_per_connection);
    const App a = parse(one_app("")).apps.at(0);
    CHECK(a.enabled);
    CHECK_FALSE(a.enable_client_messages);
    CHECK_FALSE(a.enable_user_authentication);
    CHECK_FALSE(a.enable_watchlist_events);
    CHECK(a.allowed_origins.empty());
    CHECK(a.quota_close_code == 4004);
  }
  SUBCASE("server-level sections become the defaults; per-app values win") {
    const Config c = parse(R"({
      "event_limits": {"max_channels_at_once": 5, "max_name_length": 50,
                       "max_payload_in_kb": 0.25, "max_batch_size": 4},
      "presence": {"max_members_per_channel": 6, "max_member_size_in_kb": 1.5},
      "channel_limits": {"max_name_length": 64},
      "app_manager": {"array": {"apps": [
        {"id": "1", "key": "a", "secret": "s"},
        {"id": "2", "key": "b", "secret": "s", "policy": {"limits": {"max_event_batch_size": 9}}}
      ]}}})");
    for (const AppLimits& l : {c.default_limits, c.apps.at(0).limits}) {
      CHECK(l.max_event_channels_at_once == 5);
      CHECK(l.max_event_name_length == 50);
      CHECK(l.max_event_payload_in_kb == 0.25);
      CHECK(l.max_event_batch_size == 4);
      CHECK(l.max_presence_members_per_channel == 6);
      CHECK(l.max_presence_member_size_in_kb == 1.5);
      CHECK(l.max_channel_name_length == 64);
    }
    CHECK(c.apps.at(1).limits.max_event_batch_size == 9);
    CHECK(c.apps.at(1).limits.max_event_channels_at_once == 5);
  }
  SUBCASE("cache.ttl wins over channel_limits.cache_ttl") {
    CHECK(parse(R"({"channel_limits": {"cache_ttl": 10}})").cache_ttl == std::chrono::seconds(10));
    CHECK(parse(R"({"cache": {"ttl": 20}, "channel_limits": {"cache_ttl": 10}})").cache_ttl ==
          std::chrono::seconds(20));
  }
}

TEST_CASE("config: the default app when no app is configured") {
  for (const char* json : {"{}", R"({"app_manager": {"array": {"apps": []}}})"}) {
    CAPTURE(json);
    const Config c = parse(json);
    REQUIRE(c.apps.size() == 1);
    CHECK(c.apps[0].id == "app-id");
    CHECK(c.apps[0].key == "app-key");
    CHECK(c.apps[0].secret == "app-secret");
    CHECK(c.apps[0].enabled);
    CHECK(c.apps[0].enable_client_messages);
    CHECK_FALSE(c.apps[0].enable_user_authentication);
    CHECK_FALSE(c.embedded_default);
  }
}

TEST_CASE("config: default_config is the embedded default with env overrides") {
  std::vector<std::string> warnings;
  SUBCASE("no env") {
    const Config c = server::default_config(test_env, warnings);
    CHECK(c.embedded_default);
    CHECK(c.host == "127.0.0.1");
    CHECK(c.port == 6001);
    REQUIRE(c.apps.size() == 1);
    CHECK(c.apps[0].id == "app-id");
    CHECK(c.apps[0].key == "app-key");
    CHECK(c.apps[0].secret == "app-secret");
    CHECK(c.apps[0].enable_client_messages);
    CHECK_FALSE(c.apps[0].enable_user_authentication);
    CHECK(warnings.empty());
  }
  SUBCASE("env applied") {
    EnvScope env{{"PORT", "0"}, {"SOCKUDO_DEFAULT_APP_KEY", "k"}};
    const Config c = server::default_config(test_env, warnings);
    CHECK(c.embedded_default);
    CHECK(c.port == 0);
    CHECK(c.apps.at(0).key == "k");
    CHECK(c.apps.at(0).id == "app-id");
  }
}

// ================================================================================================
// Smaller normalizations
// ================================================================================================

TEST_CASE("config: path_prefix, cors origin and log level forms") {
  struct Prefix {
    const char* in;
    const char* out;
  };
  for (const Prefix p : {Prefix{"", ""}, Prefix{"/", ""}, Prefix{"/ws", "/ws"},
                         Prefix{"/ws/", "/ws"}, Prefix{"ws", "/ws"}}) {
    CAPTURE(p.in);
    CHECK(parse(std::string(R"({"path_prefix": ")") + p.in + "\"}").path_prefix == p.out);
  }

  Config c = parse(R"({"cors": {"origin": ["https://a.example", "https://b.example"]}})");
  CHECK(c.cors_origin == "https://a.example");
  CHECK(c.cors_origins == std::vector<std::string>{"https://a.example", "https://b.example"});
  c = parse(R"({"cors": {"origin": ["https://a.example", "*"]}})");
  CHECK(c.cors_origin == "*");
  c = parse(R"({"cors": {"origin": "https://only.example"}})");
  CHECK(c.cors_origin == "https://only.example");
  c = parse(R"({"app_manager": {"array": {"apps": [{"id": "1", "key": "k", "secret": "s",
              "allowed_origins": "https://a.example, https://b.example"}]}}})");
  CHECK(c.apps.at(0).allowed_origins ==
        std::vector<std::string>{"https://a.example", "https://b.example"});

  struct Level {
    const char* json;
    const char* level;
  };
  for (const Level l : {Level{R"({"debug": true})", "debug"},
                        Level{R"({"debug": true, "log_level": "error"})", "error"},
                        Level{R"({"log_level": "WARNING"})", "warn"},
                        Level{R"({"log_level": "trace"})", "debug"}, Level{"{}", "info"}}) {
    CAPTURE(l.json);
    CHECK(parse(l.json).log_level == l.level);
  }
}

// ================================================================================================
// Files
// ================================================================================================

TEST_CASE("config: load_config_file reads a file and reports unreadable ones") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("pushcore_config_test_" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out(path);
    out << R"({"port": 6123, "app_manager": {"array": {"apps": [
              {"id": "f", "key": "fk", "secret": "fs"}]}}})";
  }
  std::vector<std::string> warnings;
  const Config c = server::load_config_file(path.string(), test_env, warnings);
  std::filesystem::remove(path);
  CHECK(c.port == 6123);
  CHECK(c.apps.at(0).id == "f");
  CHECK_FALSE(c.embedded_default);

  try {
    (void)server::load_config_file(path.string(), test_env, warnings);
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).starts_with(path.string() + ": cannot read config file"));
  }
}

// ================================================================================================
// Rate limits and per-IP limits (README "Security")
// ================================================================================================

TEST_CASE("config: rate limits, message_rate_limit, rate_limiter and max_connections_per_ip") {
  const Config d = parse("{}");
  CHECK_FALSE(d.ip_limits.rate_limit_enabled);
  CHECK(d.ip_limits.max_connections_per_ip == 0);
  CHECK(d.apps.front().limits.max_backend_events_per_second == 0);
  CHECK(d.apps.front().limits.max_read_requests_per_second == 0);
  CHECK(d.apps.front().limits.message_rate_limit == 0);

  std::vector<std::string> warnings;
  const Config c = parse(R"({
    "max_connections_per_ip": 7,
    "rate_limiter": {"enabled": true, "driver": "memory",
                     "websocket_rate_limit": {"max_requests": 5, "window_seconds": 30,
                                              "identifier": "ws", "trust_hops": 0}},
    "app_manager": {"array": {"apps": [{"id": "1", "key": "k", "secret": "s",
      "max_backend_events_per_second": 11,
      "policy": {"limits": {"max_read_requests_per_second": 12, "message_rate_limit": 13}}}]}}
  })",
                         &warnings);
  CHECK(c.ip_limits.rate_limit_enabled);
  CHECK(c.ip_limits.connects_per_window == 5);
  CHECK(c.ip_limits.connect_window == std::chrono::seconds(30));
  CHECK(c.ip_limits.max_connections_per_ip == 7);
  const AppLimits& l = c.apps.front().limits;
  CHECK(l.max_backend_events_per_second == 11);
  CHECK(l.max_read_requests_per_second == 12);
  CHECK(l.message_rate_limit == 13);
  CHECK(warnings ==
        std::vector<std::string>{
            "Sockudo options not supported by this server, ignored: rate_limiter.driver"});
  CHECK_THROWS_AS(parse(R"({"rate_limiter": {"websocket_rate_limit": {"max_requests": 0}}})"),
                  ConfigError);
  CHECK_THROWS_AS(parse(R"({"max_connections_per_ip": -1})"), ConfigError);
}

TEST_CASE("config: rate_limiter trust_hops and api_rate_limit (Sockudo's RateLimit shape)") {
  const Config d = parse("{}");
  CHECK(d.ip_limits.ws_trust_hops == 0);
  CHECK(d.ip_limits.api_trust_hops == 0);
  CHECK(d.ip_limits.api_requests_per_window == 100);  // Sockudo's defaults
  CHECK(d.ip_limits.api_window == std::chrono::seconds(60));

  std::vector<std::string> warnings;
  const Config c = parse(R"({
    "rate_limiter": {"enabled": true,
                     "api_rate_limit": {"max_requests": 3, "window_seconds": 10,
                                        "identifier": "api", "trust_hops": 2},
                     "websocket_rate_limit": {"trust_hops": 1}}
  })",
                         &warnings);
  CHECK(warnings.empty());
  CHECK(c.ip_limits.api_requests_per_window == 3);
  CHECK(c.ip_limits.api_window == std::chrono::seconds(10));
  CHECK(c.ip_limits.api_trust_hops == 2);
  CHECK(c.ip_limits.ws_trust_hops == 1);
  CHECK(c.ip_limits.connects_per_window == 20);
  CHECK_THROWS_AS(parse(R"({"rate_limiter": {"api_rate_limit": {"max_requests": 0}}})"),
                  ConfigError);
  CHECK_THROWS_AS(parse(R"({"rate_limiter": {"api_rate_limit": {"trust_hops": -1}}})"),
                  ConfigError);
  warnings.clear();
  (void)parse(R"({"rate_limiter": {"api_rate_limit": {"burst": 1}}})", &warnings);
  CHECK(warnings ==
        std::vector<std::string>{"rate_limiter.api_rate_limit.burst: unknown key, ignored"});
}

TEST_CASE("config: Sockudo's V2 sections connection_recovery, idempotency, echo_control") {
  const Config defaults = parse(R"({})");
  CHECK_FALSE(defaults.v2.recovery_enabled);
  CHECK(defaults.v2.recovery_buffer_ttl == std::chrono::seconds(120));
  CHECK(defaults.v2.recovery_max_buffer_size == 100);
  CHECK(defaults.v2.idempotency_enabled);
  CHECK(defaults.v2.idempotency_ttl == std::chrono::seconds(120));
  CHECK(defaults.v2.idempotency_max_key_length == 128);
  CHECK(defaults.v2.echo_control_enabled);
  CHECK(defaults.v2.default_echo_messages);
  const Config c = parse(R"({
    "connection_recovery": {"enabled": true, "buffer_ttl_seconds": 30, "max_buffer_size": 500,
                            "max_memory_mb": 8},
    "idempotency": {"enabled": false, "ttl_seconds": 60, "max_key_length": 32},
    "echo_control": {"enabled": true, "default_echo_messages": false}})");
  CHECK(c.v2.recovery_enabled);
  CHECK(c.v2.recovery_buffer_ttl == std::chrono::seconds(30));
  CHECK(c.v2.recovery_max_buffer_size == 500);
  CHECK(c.v2.recovery_max_bytes == 8ull << 20);
  CHECK_FALSE(c.v2.idempotency_enabled);
  CHECK(c.v2.idempotency_ttl == std::chrono::seconds(60));
  CHECK(c.v2.idempotency_max_key_length == 32);
  CHECK_FALSE(c.v2.default_echo_messages);
  CHECK_THROWS_AS(parse(R"({"connection_recovery": {"max_buffer_size": 0}})"), ConfigError);
  CHECK_THROWS_AS(parse(R"({"connection_recovery": {"buffer_ttl_seconds": 0}})"), ConfigError);
}

// ================================================================================================
// Database app managers (docs/APP_MANAGERS.md)
// ================================================================================================

TEST_CASE("config: app_manager drivers and Sockudo's database section") {
  std::vector<std::string> warnings;
  const Config c = parse(R"({
    "app_manager": {"driver": "pgsql", "cache": {"enabled": true, "ttl": 60, "negative_ttl": 5},
                    "max_apps": 5000, "lookup_timeout_ms": 750,
                    "array": {"apps": [{"id": "1", "key": "k", "secret": "s"}]}},
    "database": {
      "postgres": {"host": "pg.internal", "port": 5433, "username": "sockudo", "password": "pw",
                   "database": "apps", "table_name": "tenants", "cache_ttl": 99,
                   "connection_pool_size": 10, "ssl_mode": "verify-full",
                   "ssl_ca_path": "/ca.pem", "query_timeout_ms": 1500,
                   "connect_timeout_seconds": 3},
      "mysql": {"host": "my.internal", "port": 3307},
      "redis": {"host": "r"}
    }})",
                         &warnings);
  CHECK(c.app_manager.driver == "postgres");
  CHECK(c.app_manager.uses_database());
  CHECK(c.app_manager.ttl() == std::chrono::seconds{60});  // app_manager.cache.ttl wins
  CHECK(c.app_manager.negative() == std::chrono::seconds{5});
  CHECK(c.app_manager.max_apps == 5000);
  CHECK(c.app_manager.lookup_timeout == std::chrono::milliseconds{750});
  const server::DatabaseSettings& pg = c.app_manager.database();
  CHECK(pg.host == "pg.internal");
  CHECK(pg.port == 5433);
  CHECK(pg.username == "sockudo");
  CHECK(pg.password == "pw");
  CHECK(pg.database == "apps");
  CHECK(pg.table_name == "tenants");
  CHECK(pg.ssl_mode == "verify-full");
  CHECK(pg.ssl_ca_path == "/ca.pem");
  CHECK(pg.query_timeout == std::chrono::milliseconds{1500});
  CHECK(pg.connect_timeout == std::chrono::seconds{3});
  CHECK(c.app_manager.mysql.host == "my.internal");
  CHECK(c.app_manager.mysql.port == 3307);
  // Apps come from the database only: the file's apps are ignored and no default app is added.
  CHECK(c.apps.empty());
  bool ignored = false;
  for (const std::string& w : warnings) ignored = ignored || w.starts_with("app_manager.array.apps: ignored");
  CHECK(ignored);

  // The per-driver cache_ttl applies when app_manager.cache.ttl is not given; min(ttl, 30 s) is
  // the negative default.
  const Config d = parse(R"({"app_manager": {"driver": "mysql"},
                             "database": {"mysql": {"cache_ttl": 20}}})");
  CHECK(d.app_manager.ttl() == std::chrono::seconds{20});
  CHECK(d.app_manager.negative() == std::chrono::seconds{20});
  const Config e = parse(R"({"app_manager": {"driver": "postgresql"}})");
  CHECK(e.app_manager.ttl() == std::chrono::seconds{300});
  CHECK(e.app_manager.negative() == std::chrono::seconds{30});
  for (const char* alias : {"memory", "array", "Array"}) {
    CAPTURE(alias);
    const Config a = parse(std::string(R"({"app_manager": {"driver": ")") + alias + "\"}}");
    CHECK_FALSE(a.app_manager.uses_database());
    CHECK(a.apps.size() == 1);  // the default app
  }
}

TEST_CASE("config: invalid app_manager / database values name the key") {
  CHECK(error_of(R"({"app_manager": {"driver": "dynamodb"}})").starts_with("app_manager.driver: expected"));
  CHECK(error_of(R"({"app_manager": {"cache": {"ttl": 0}}})").starts_with("app_manager.cache.ttl:"));
  CHECK(error_of(R"({"app_manager": {"max_apps": 0}})").starts_with("app_manager.max_apps:"));
  CHECK(error_of(R"({"database": {"postgres": {"port": 70000}}})").starts_with("database.postgres.port:"));
  CHECK(error_of(R"({"database": {"mysql": {"ssl_mode": "maybe"}}})").starts_with("database.mysql.ssl_mode:"));
  CHECK(error_of(R"({"database": {"postgres": {"host": ""}}})").starts_with("database.postgres.host:"));
  CHECK(error_of(R"({"database": {"postgres": {"table_name": "apps; DROP TABLE x"}}})")
            .starts_with("database.postgres.table_name: expected letters, digits and _"));
  CHECK(error_of(R"({"database": {"mysql": {"table_name": "a.b.c"}}})").starts_with("database.mysql.table_name:"));
  CHECK(error_of(R"({"database": {"mysql": {"table_name": "sockudo.apps"}}})").empty());
}

TEST_CASE("config: parse_app_json reads a database row's app like a config-file app") {
  Config base;
  base.default_limits.max_event_name_length = 77;
  std::vector<std::string> warnings;
  // Flat columns, a `policy` that wins over them, JSON webhooks and origins, NULLs unset.
  const App app = server::parse_app_json(
      R"({"id":"42","key":"k","secret":"s","max_connections":10,"enable_client_messages":true,
          "enabled":false,"max_client_events_per_second":5,"max_backend_events_per_second":null,
          "policy":{"limits":{"max_connections":3,"message_rate_limit":null},
                    "features":{"enable_watchlist_events":true},
                    "channels":{"allowed_origins":["https://a.example"]}},
          "webhooks":[{"url":"http://127.0.0.1:9/hook","event_types":["channel_occupied"]}],
          "connection_recovery":{"enabled":true}})",
      base, "app_manager: app 42", warnings);
  CHECK(app.id == "42");
  CHECK(app.key == "k");
  CHECK(app.secret == "s");
  CHECK_FALSE(app.enabled);
  CHECK(app.limits.max_connections == 3);
  CHECK(app.limits.max_client_events_per_second == 5);
  CHECK(app.limits.max_event_name_length == 77);  // the server default
  CHECK(app.enable_client_messages);
  CHECK(app.enable_watchlist_events);
  CHECK(app.allowed_origins == std::vector<std::string>{"https://a.example"});
  REQUIRE(app.webhooks.size() == 1);
  CHECK(app.webhooks[0].url == "http://127.0.0.1:9/hook");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("connection_recovery") != std::string::npos);

  std::vector<std::string> w2;
  CHECK_THROWS_WITH_AS(server::parse_app_json(R"({"id":"1","key":"k"})", base, "app_manager: app 1", w2),
                       "app_manager: app 1.secret: required, a non-empty string", ConfigError);
  CHECK_THROWS_AS(server::parse_app_json(R"({"id":"1","key":"k","secret":"s","max_connections":-1})",
                                         base, "app", w2),
                  ConfigError);
  CHECK_THROWS_AS(server::parse_app_json("[1]", base, "app", w2), ConfigError);
}
