// Environment variables: every row of the table in server/config_env.cpp (Sockudo's names and
// Soketi's SOKETI_* aliases), precedence, invalid values.

#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "server/config_detail.hpp"
#include "tests/unit/config/test_env.hpp"

using server::Config;
using server::ConfigError;

using config_test::EnvScope;
using config_test::g_env;
using config_test::test_env;

namespace {

Config with_env(std::map<std::string, std::string, std::less<>> vars,
                std::string_view json = "{}") {
  g_env = std::move(vars);
  std::vector<std::string> warnings;
  Config c = server::parse_config(json, test_env, warnings);
  g_env.clear();
  return c;
}

std::string error_with_env(std::map<std::string, std::string, std::less<>> vars) {
  try {
    (void)with_env(std::move(vars));
  } catch (const ConfigError& e) {
    g_env.clear();
    return e.what();
  }
  return "";
}

const server::App& app0(const Config& c) {
  return c.apps.at(0);
}

// One case: set `vars` alone, then `check` must hold.
struct Case {
  std::vector<std::string> names;  ///< every name of the row that this value is tried under
  std::string value;
  std::function<bool(const Config&)> check;
};

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {{"HOST"}, "0.0.0.0", [](const Config& c) { return c.host == "0.0.0.0"; }},
      {{"PORT", "SOKETI_PORT"}, "7001", [](const Config& c) { return c.port == 7001; }},
      {{"DEBUG", "SOKETI_DEBUG"}, "1", [](const Config& c) { return c.log_level == "debug"; }},
      {{"DEBUG_MODE"}, "true", [](const Config& c) { return c.log_level == "debug"; }},
      {{"CONNECTION_RECOVERY_ENABLED"},
       "true",
       [](const Config& c) { return c.v2.recovery_enabled; }},
      {{"CONNECTION_RECOVERY_BUFFER_TTL"},
       "45",
       [](const Config& c) { return c.v2.recovery_buffer_ttl == seconds(45); }},
      {{"CONNECTION_RECOVERY_MAX_BUFFER_SIZE"},
       "250",
       [](const Config& c) { return c.v2.recovery_max_buffer_size == 250; }},
      {{"IDEMPOTENCY_ENABLED"}, "false", [](const Config& c) { return !c.v2.idempotency_enabled; }},
      {{"IDEMPOTENCY_TTL_SECONDS"},
       "300",
       [](const Config& c) { return c.v2.idempotency_ttl == seconds(300); }},
      {{"IDEMPOTENCY_MAX_KEY_LENGTH"},
       "64",
       [](const Config& c) { return c.v2.idempotency_max_key_length == 64; }},
      {{"ECHO_CONTROL_ENABLED"},
       "false",
       [](const Config& c) { return !c.v2.echo_control_enabled; }},
      {{"ECHO_CONTROL_DEFAULT_ECHO_MESSAGES"},
       "false",
       [](const Config& c) { return !c.v2.default_echo_messages; }},
      {{"ACTIVITY_TIMEOUT"},
       "33",
       [](const Config& c) { return c.activity_timeout == seconds(33); }},
      {{"SHUTDOWN_GRACE_PERIOD", "SOKETI_SHUTDOWN_GRACE_PERIOD"},
       "9",
       [](const Config& c) { return c.shutdown_grace == seconds(9); }},
      {{"USER_AUTHENTICATION_TIMEOUT"},
       "44",
       [](const Config& c) { return c.user_authentication_timeout == seconds(44); }},
      {{"WEBSOCKET_MAX_PAYLOAD_KB"},
       "128",
       [](const Config& c) { return c.websocket_max_payload_kb == 128; }},
      {{"SOCKUDO_MAX_CONNECTIONS"}, "77", [](const Config& c) { return c.max_connections == 77; }},
      {{"SOKETI_PATH_PREFIX"}, "ws/", [](const Config& c) { return c.path_prefix == "/ws"; }},
      {{"SOKETI_HTTP_MAX_REQUEST_SIZE"},
       "0.5",
       [](const Config& c) { return c.http_request_limit_bytes() == 512 * 1024; }},
      {{"SSL_ENABLED"},
       "false",
       [](const Config& c) { return !c.ssl.enabled; }},  // true needs files, tested below
      {{"SSL_CERT_PATH", "SOKETI_SSL_CERT"},
       "/c.pem",
       [](const Config& c) { return c.ssl.cert_path == "/c.pem"; }},
      {{"SSL_KEY_PATH", "SOKETI_SSL_KEY"},
       "/k.pem",
       [](const Config& c) { return c.ssl.key_path == "/k.pem"; }},
      {{"SSL_CA_PATH", "SOKETI_SSL_CA"},
       "/ca.pem",
       [](const Config& c) { return c.ssl.ca_path == "/ca.pem"; }},
      {{"SSL_PASSPHRASE", "SOKETI_SSL_PASS"},
       "pw",
       [](const Config& c) { return c.ssl.passphrase == "pw"; }},
      {{"APP_MANAGER_DRIVER"},
       "PgSQL",
       [](const Config& c) { return c.app_manager.driver == "postgres" && c.apps.empty(); }},
      {{"APP_MANAGER_DRIVER"}, "mysql", [](const Config& c) { return c.app_manager.driver == "mysql"; }},
      {{"CACHE_TTL_SECONDS"},
       "7",
       [](const Config& c) { return c.app_manager.cache_ttl == seconds{7}; }},
      {{"DATABASE_POSTGRES_HOST"}, "db1", [](const Config& c) { return c.app_manager.postgres.host == "db1"; }},
      {{"DATABASE_POSTGRES_PORT"}, "5433", [](const Config& c) { return c.app_manager.postgres.port == 5433; }},
      {{"DATABASE_POSTGRES_USERNAME", "DATABASE_POSTGRES_USER"},
       "u1",
       [](const Config& c) { return c.app_manager.postgres.username == "u1"; }},
      {{"DATABASE_POSTGRES_PASSWORD"}, "p1", [](const Config& c) { return c.app_manager.postgres.password == "p1"; }},
      {{"DATABASE_POSTGRES_DATABASE"}, "d1", [](const Config& c) { return c.app_manager.postgres.database == "d1"; }},
      {{"DATABASE_POSTGRES_TABLE_NAME"}, "t1", [](const Config& c) { return c.app_manager.postgres.table_name == "t1"; }},
      {{"DATABASE_MYSQL_HOST"}, "db2", [](const Config& c) { return c.app_manager.mysql.host == "db2"; }},
      {{"DATABASE_MYSQL_PORT"}, "3307", [](const Config& c) { return c.app_manager.mysql.port == 3307; }},
      {{"DATABASE_MYSQL_USERNAME", "DATABASE_MYSQL_USER"},
       "u2",
       [](const Config& c) { return c.app_manager.mysql.username == "u2"; }},
      {{"DATABASE_MYSQL_PASSWORD"}, "p2", [](const Config& c) { return c.app_manager.mysql.password == "p2"; }},
      {{"DATABASE_MYSQL_DATABASE"}, "d2", [](const Config& c) { return c.app_manager.mysql.database == "d2"; }},
      {{"DATABASE_MYSQL_TABLE_NAME"}, "t2", [](const Config& c) { return c.app_manager.mysql.table_name == "t2"; }},
      {{"ADAPTER_DRIVER", "SOKETI_ADAPTER_DRIVER"},
       "Redis",
       [](const Config& c) { return c.adapter.driver == "redis"; }},
      {{"ADAPTER_DRIVER"},
       "redis-cluster",
       [](const Config& c) { return c.adapter.driver == "redis-cluster"; }},
      {{"REDIS_CLUSTER_NODES", "DATABASE_REDIS_CLUSTER_NODES"},
       " redis://:pw@10.0.0.1:7000, 10.0.0.2:7001 ,",
       [](const Config& c) {
         return c.adapter.cluster_nodes ==
                std::vector<std::string>{"redis://:pw@10.0.0.1:7000", "10.0.0.2:7001"};
       }},
      {{"DATABASE_REDIS_HOST", "SOKETI_DB_REDIS_HOST"},
       "redis.internal",
       [](const Config& c) { return c.adapter.redis_url == "redis://redis.internal:6379/0"; }},
      {{"DATABASE_REDIS_PORT", "SOKETI_DB_REDIS_PORT"},
       "6380",
       [](const Config& c) { return c.adapter.redis_url == "redis://127.0.0.1:6380/0"; }},
      {{"DATABASE_REDIS_USERNAME", "SOKETI_DB_REDIS_USERNAME"},
       "u",
       [](const Config& c) { return c.adapter.redis_url == "redis://u:@127.0.0.1:6379/0"; }},
      {{"DATABASE_REDIS_PASSWORD", "SOKETI_DB_REDIS_PASSWORD"},
       "p@ss",
       [](const Config& c) { return c.adapter.redis_url == "redis://:p%40ss@127.0.0.1:6379/0"; }},
      {{"DATABASE_REDIS_DB", "SOKETI_DB_REDIS_DB"},
       "3",
       [](const Config& c) { return c.adapter.redis_url == "redis://127.0.0.1:6379/3"; }},
      {{"REDIS_URL"},
       "redis://h:1/2",
       [](const Config& c) { return c.adapter.redis_url == "redis://h:1/2"; }},
      {{"SOKETI_ADAPTER_REDIS_PREFIX"},
       "px",
       [](const Config& c) { return c.adapter.redis_prefix == "px"; }},
      {{"METRICS_ENABLED", "SOKETI_METRICS_ENABLED"},
       "off",
       [](const Config& c) { return !c.metrics_enabled; }},
      {{"METRICS_HOST"}, "0.0.0.0", [](const Config& c) { return c.metrics_host == "0.0.0.0"; }},
      {{"METRICS_PORT", "SOKETI_METRICS_SERVER_PORT"},
       "9700",
       [](const Config& c) { return c.metrics_port == 9700; }},
      {{"METRICS_PROMETHEUS_PREFIX", "SOKETI_METRICS_PREFIX"},
       "app_",
       [](const Config& c) { return c.metrics_prefix == "app_"; }},
      {{"RATE_LIMITER_ENABLED"},
       "yes",
       [](const Config& c) { return c.ip_limits.rate_limit_enabled; }},
      {{"RATE_LIMITER_WS_MAX_REQUESTS"},
       "5",
       [](const Config& c) { return c.ip_limits.connects_per_window == 5; }},
      {{"RATE_LIMITER_WS_WINDOW_SECONDS"},
       "30",
       [](const Config& c) { return c.ip_limits.connect_window == seconds(30); }},
      {{"CORS_ORIGINS"},
       "https://a.example, https://b.example",
       [](const Config& c) {
         return c.cors_origin == "https://a.example" &&
                c.cors_origins ==
                    std::vector<std::string>{"https://a.example", "https://b.example"};
       }},
      {{"CORS_CREDENTIALS"}, "false", [](const Config& c) { return !c.cors_credentials; }},
      {{"CORS_METHODS"},
       "GET, POST",
       [](const Config& c) {
         return c.cors_methods == std::vector<std::string>{"GET", "POST"};
       }},
      {{"CORS_HEADERS"},
       "X-A,X-B",
       [](const Config& c) {
         return c.cors_allowed_headers == std::vector<std::string>{"X-A", "X-B"};
       }},
      {{"WEBHOOK_BATCHING_ENABLED"},
       "false",
       [](const Config& c) { return !c.webhooks.batching_enabled; }},
      {{"WEBHOOK_BATCHING_DURATION"},
       "250",
       [](const Config& c) { return c.webhooks.batching_duration == milliseconds(250); }},
      {{"WEBHOOK_BATCHING_SIZE"},
       "7",
       [](const Config& c) { return c.webhooks.max_batch_size == 7; }},
      {{"SOKETI_EVENT_MAX_CHANNELS_AT_ONCE"},
       "5",
       [](const Config& c) { return app0(c).limits.max_event_channels_at_once == 5; }},
      {{"SOKETI_EVENT_MAX_NAME_LENGTH"},
       "50",
       [](const Config& c) { return app0(c).limits.max_event_name_length == 50; }},
      {{"SOKETI_EVENT_MAX_SIZE_IN_KB"},
       "2.5",
       [](const Config& c) { return app0(c).limits.max_event_payload_in_kb == 2.5; }},
      {{"SOKETI_EVENT_MAX_BATCH_SIZE"},
       "4",
       [](const Config& c) { return app0(c).limits.max_event_batch_size == 4; }},
      {{"SOKETI_CHANNEL_LIMITS_MAX_NAME_LENGTH", "SOKETI_CHANNEL_MAX_NAME_LENGTH"},
       "64",
       [](const Config& c) { return app0(c).limits.max_channel_name_length == 64; }},
      {{"SOKETI_PRESENCE_MAX_MEMBERS", "SOKETI_PRESENCE_MAX_MEMBERS_PER_CHANNEL"},
       "12",
       [](const Config& c) { return app0(c).limits.max_presence_members_per_channel == 12; }},
      {{"SOKETI_PRESENCE_MAX_MEMBER_SIZE", "SOKETI_PRESENCE_MAX_MEMBER_SIZE_IN_KB"},
       "0.5",
       [](const Config& c) { return app0(c).limits.max_presence_member_size_in_kb == 0.5; }},
      {{"SOCKUDO_DEFAULT_APP_ID", "SOKETI_DEFAULT_APP_ID"},
       "id9",
       [](const Config& c) { return app0(c).id == "id9"; }},
      {{"SOCKUDO_DEFAULT_APP_KEY", "SOKETI_DEFAULT_APP_KEY"},
       "key9",
       [](const Config& c) { return app0(c).key == "key9"; }},
      {{"SOCKUDO_DEFAULT_APP_SECRET", "SOKETI_DEFAULT_APP_SECRET"},
       "sec9",
       [](const Config& c) { return app0(c).secret == "sec9"; }},
      {{"SOCKUDO_DEFAULT_APP_ENABLED", "SOKETI_DEFAULT_APP_ENABLED"},
       "false",
       [](const Config& c) { return !app0(c).enabled; }},
      {{"SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES", "SOCKUDO_ENABLE_CLIENT_MESSAGES",
        "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES"},
       "false",
       [](const Config& c) { return !app0(c).enable_client_messages; }},
      {{"SOCKUDO_DEFAULT_APP_ENABLE_USER_AUTHENTICATION", "SOKETI_DEFAULT_APP_USER_AUTHENTICATION"},
       "true",
       [](const Config& c) { return app0(c).enable_user_authentication; }},
      {{"SOCKUDO_DEFAULT_APP_ENABLE_WATCHLIST_EVENTS"},
       "true",
       [](const Config& c) { return app0(c).enable_watchlist_events; }},
      {{"SOCKUDO_DEFAULT_APP_ALLOWED_ORIGINS"},
       "https://x.example,*.y.example",
       [](const Config& c) {
         return app0(c).allowed_origins ==
                std::vector<std::string>{"https://x.example", "*.y.example"};
       }},
      {{"SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS", "SOKETI_DEFAULT_APP_MAX_CONNS"},
       "10",
       [](const Config& c) { return app0(c).limits.max_connections == 10; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SECOND",
        "SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC"},
       "11",
       [](const Config& c) { return app0(c).limits.max_backend_events_per_second == 11; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SECOND",
        "SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC"},
       "12",
       [](const Config& c) { return app0(c).limits.max_client_events_per_second == 12; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_READ_REQUESTS_PER_SECOND",
        "SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC"},
       "13",
       [](const Config& c) { return app0(c).limits.max_read_requests_per_second == 13; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_PRESENCE_MEMBERS_PER_CHANNEL"},
       "14",
       [](const Config& c) { return app0(c).limits.max_presence_members_per_channel == 14; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_PRESENCE_MEMBER_SIZE_IN_KB"},
       "1.5",
       [](const Config& c) { return app0(c).limits.max_presence_member_size_in_kb == 1.5; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_CHANNEL_NAME_LENGTH"},
       "15",
       [](const Config& c) { return app0(c).limits.max_channel_name_length == 15; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_EVENT_CHANNELS_AT_ONCE"},
       "16",
       [](const Config& c) { return app0(c).limits.max_event_channels_at_once == 16; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_EVENT_NAME_LENGTH"},
       "17",
       [](const Config& c) { return app0(c).limits.max_event_name_length == 17; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_EVENT_PAYLOAD_IN_KB"},
       "18.5",
       [](const Config& c) { return app0(c).limits.max_event_payload_in_kb == 18.5; }},
      {{"SOCKUDO_DEFAULT_APP_MAX_EVENT_BATCH_SIZE"},
       "19",
       [](const Config& c) { return app0(c).limits.max_event_batch_size == 19; }},
  };
  return all;
}

}  // namespace

TEST_CASE("env: every variable of the table sets its config field, under each of its names") {
  for (const Case& c : cases()) {
    for (const std::string& name : c.names) {
      CAPTURE(name);
      CAPTURE(c.value);
      const Config config = with_env({{name, c.value}});
      CHECK(c.check(config));
    }
  }
}

TEST_CASE("env: the test table covers every name and alias of the config_env table") {
  std::set<std::string> tested;
  for (const Case& c : cases()) tested.insert(c.names.begin(), c.names.end());
  std::set<std::string> in_table;
  for (const auto& row : server::config_detail::env_settings()) {
    CHECK_FALSE(row.key.empty());
    for (const std::string_view n : row.names) {
      if (!n.empty()) in_table.emplace(n);
    }
    for (const std::string_view n : row.aliases) {
      if (!n.empty()) {
        CHECK(n.starts_with("SOKETI_"));
        in_table.emplace(n);
      }
    }
  }
  CHECK(tested == in_table);
}

TEST_CASE("env: invalid values are ConfigErrors naming the variable") {
  const char* const bad[][2] = {
      {"PORT", "x"},
      {"SOKETI_PORT", "70000"},
      {"DEBUG", "maybe"},
      {"ACTIVITY_TIMEOUT", "0"},
      {"CONNECTION_RECOVERY_BUFFER_TTL", "0"},
      {"IDEMPOTENCY_MAX_KEY_LENGTH", "x"},
      {"SOKETI_HTTP_MAX_REQUEST_SIZE", "0"},
      {"ADAPTER_DRIVER", "nats"},
      {"APP_MANAGER_DRIVER", "dynamodb"},
      {"CACHE_TTL_SECONDS", "0"},
      {"DATABASE_POSTGRES_PORT", "70000"},
      {"DATABASE_MYSQL_TABLE_NAME", "x`y"},
      {"REDIS_CLUSTER_NODES", "10.0.0.1"},
      {"REDIS_CLUSTER_NODES", "redis://h:7000/3"},
      {"REDIS_URL", "http://x"},
      {"DATABASE_REDIS_PORT", "0"},
      {"METRICS_ENABLED", "2"},
      {"RATE_LIMITER_WS_MAX_REQUESTS", "0"},
      {"WEBHOOK_BATCHING_SIZE", "0"},
      {"SOKETI_EVENT_MAX_SIZE_IN_KB", "-3"},
      {"SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS", "ten"},
      {"SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES", "sure"},
  };
  for (const auto& [name, value] : bad) {
    CAPTURE(name);
    const std::string e = error_with_env({{name, value}});
    CHECK(e.starts_with(std::string(name) + ": "));
  }
}

TEST_CASE("env: precedence") {
  // A Sockudo name wins over the Soketi alias of the same setting.
  CHECK(with_env({{"PORT", "7001"}, {"SOKETI_PORT", "7002"}}).port == 7001);
  CHECK(with_env({{"SOKETI_PORT", "7002"}}).port == 7002);
  // An empty variable counts as unset.
  CHECK(with_env({{"PORT", ""}, {"SOKETI_PORT", "7002"}}).port == 7002);
  // Env overrides the file.
  CHECK(with_env({{"METRICS_PORT", "9700"}}, R"({"metrics": {"port": 9800}})").metrics_port ==
        9700);
  // REDIS_URL wins over the DATABASE_REDIS_* parts; the parts start from the file's URL.
  CHECK(
      with_env({{"REDIS_URL", "redis://a:1/0"}, {"DATABASE_REDIS_HOST", "b"}}).adapter.redis_url ==
      "redis://a:1/0");
  CHECK(with_env({{"DATABASE_REDIS_DB", "2"}},
                 R"({"adapter": {"redis": {"url": "redis://:pw@r.example:6390/1"}}})")
            .adapter.redis_url == "redis://:pw@r.example:6390/2");
  // Soketi's -1 means unlimited.
  CHECK(with_env({{"SOKETI_DEFAULT_APP_MAX_CONNS", "-1"}}).apps.at(0).limits.max_connections == 0);
  // The default-app variables address the first configured app.
  const Config two = with_env({{"SOKETI_DEFAULT_APP_SECRET", "new"}},
                              R"({"app_manager": {"array": {"apps": [
    {"id": "a", "key": "ka", "secret": "sa"}, {"id": "b", "key": "kb", "secret": "sb"}]}}})");
  CHECK(two.apps.at(0).secret == "new");
  CHECK(two.apps.at(1).secret == "sb");
  // Server-level limits reach apps that leave the limit unset, not those that set it.
  const Config limits = with_env({{"SOKETI_EVENT_MAX_BATCH_SIZE", "3"}},
                                 R"({"event_limits": {"max_batch_size": 50},
    "app_manager": {"array": {"apps": [{"id": "a", "key": "ka", "secret": "sa"},
      {"id": "b", "key": "kb", "secret": "sb", "max_event_batch_size": 8}]}}})");
  CHECK(limits.default_limits.max_event_batch_size == 3);
  CHECK(limits.apps.at(0).limits.max_event_batch_size == 3);
  CHECK(limits.apps.at(1).limits.max_event_batch_size == 8);
  // DEBUG false changes nothing; DEBUG_MODE false turns a file's debug off.
  CHECK(with_env({{"DEBUG", "false"}}, R"({"debug": true})").log_level == "debug");
  CHECK(with_env({{"DEBUG_MODE", "false"}}, R"({"debug": true})").log_level == "info");
}

TEST_CASE("env: TLS from Sockudo's and Soketi's variables") {
  const Config sockudo =
      with_env({{"SSL_ENABLED", "true"}, {"SSL_CERT_PATH", "/c"}, {"SSL_KEY_PATH", "/k"}});
  CHECK(sockudo.ssl.enabled);
  // Soketi turns TLS on when a certificate and a key are given.
  CHECK(with_env({{"SOKETI_SSL_CERT", "/c"}, {"SOKETI_SSL_KEY", "/k"}}).ssl.enabled);
  CHECK_FALSE(
      with_env({{"SOKETI_SSL_CERT", "/c"}, {"SOKETI_SSL_KEY", "/k"}, {"SSL_ENABLED", "false"}})
          .ssl.enabled);
  CHECK_FALSE(with_env({{"SSL_CERT_PATH", "/c"}, {"SSL_KEY_PATH", "/k"}}).ssl.enabled);
  CHECK(error_with_env({{"SSL_ENABLED", "true"}}).starts_with("ssl: "));
}

TEST_CASE("env: a Soketi-style env-only setup") {
  const Config c = with_env({{"SOKETI_DEFAULT_APP_ID", "my-id"},
                             {"SOKETI_DEFAULT_APP_KEY", "my-key"},
                             {"SOKETI_DEFAULT_APP_SECRET", "my-secret"},
                             {"SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES", "true"},
                             {"SOKETI_PORT", "6101"},
                             {"SOKETI_DEBUG", "1"},
                             {"SOKETI_METRICS_SERVER_PORT", "9701"}});
  REQUIRE(c.apps.size() == 1);
  CHECK(c.apps[0].id == "my-id");
  CHECK(c.apps[0].key == "my-key");
  CHECK(c.apps[0].secret == "my-secret");
  CHECK(c.apps[0].enable_client_messages);
  CHECK(c.port == 6101);
  CHECK(c.log_level == "debug");
  CHECK(c.metrics_port == 9701);
}
