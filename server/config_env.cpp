// The environment side of the config loader: the process environment, `${VAR}` /
// `${VAR:-default}` interpolation of the raw text (before parsing), and the env overrides
// applied after the document is read: one table of settings, each with Sockudo's variable
// names and Soketi's SOKETI_* aliases (README "Environment variables" lists the same rows).

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "server/config_detail.hpp"

namespace server {
namespace {

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (const char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> process_env(std::string_view name) {
  const std::string key(name);
  if (const char* value = std::getenv(key.c_str())) {
    return std::string(value);
  }
  return std::nullopt;
}

std::string interpolate_env(std::string_view text, EnvLookup env) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  bool no_close_left = false;  // no '}' after some "${": none after any later one either
  while (i < text.size()) {
    // Copy up to the next '$' in one piece (linear in the input, also for hostile files).
    const std::size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, dollar - i));
    i = dollar;
    if (text.substr(i, 3) == "$${") {
      out += "${";  // escape: a literal "${"
      i += 3;
      continue;
    }
    if (text.substr(i, 2) == "${" && !no_close_left) {
      const std::size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) no_close_left = true;
      if (close != std::string_view::npos) {
        const std::string_view inner = text.substr(i + 2, close - i - 2);
        const std::size_t sep = inner.find(":-");
        const std::string_view name = inner.substr(0, sep);
        if (valid_env_name(name)) {
          std::optional<std::string> value;
          if (env != nullptr) {
            value = env(name);
          }
          if (sep == std::string_view::npos) {
            if (!value) {
              throw ConfigError("${" + std::string(name) + "}: environment variable " +
                                std::string(name) + " is not set (write ${" + std::string(name) +
                                ":-default} to give a fallback)");
            }
            out += *value;
          } else if (value && !value->empty()) {
            out += *value;
          } else {
            out += inner.substr(sep + 2);
          }
          i = close + 1;
          continue;
        }
      }
    }
    out += '$';
    ++i;
  }
  return out;
}

namespace config_detail {
namespace {

std::optional<std::string> lookup(EnvLookup env, std::string_view name) {
  if (env == nullptr || name.empty()) {
    return std::nullopt;
  }
  auto value = env(name);
  if (value && value->empty()) {
    return std::nullopt;  // an empty variable counts as unset
  }
  return value;
}

// One variable's value, with conversions that throw ConfigError naming the variable.
struct EnvValue {
  std::string_view name;
  std::string text;

  [[nodiscard]] std::uint64_t uint(std::uint64_t min = 0, std::uint64_t max = u64_max) const {
    const auto value = parse_uint_text(text);
    if (!value) {
      fail_value(name, "a non-negative integer", in_quotes(text));
    }
    if (*value < min || *value > max) {
      fail_value(name, range_text(min, max), in_quotes(text));
    }
    return *value;
  }
  // A limit where Soketi's -1 means unlimited (0 here).
  [[nodiscard]] std::uint64_t limit() const { return trim(text) == "-1" ? 0 : uint(); }
  [[nodiscard]] double number(double min, double max) const {
    const std::string t(trim(text));
    char* end = nullptr;
    const double value = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !(value >= min) || !(value <= max)) {
      fail_value(name, "a number in " + show_number(min) + ".." + show_number(max),
                 in_quotes(text));
    }
    return value;
  }
  // Sockudo's booleans: true/1/yes/on, false/0/no/off (any case).
  [[nodiscard]] bool boolean() const {
    const std::string_view t = trim(text);
    for (const std::string_view yes : {"true", "1", "yes", "on"}) {
      if (iequals(t, yes)) return true;
    }
    for (const std::string_view no : {"false", "0", "no", "off"}) {
      if (iequals(t, no)) return false;
    }
    fail_value(name, "true or false", in_quotes(text));
  }
  [[nodiscard]] std::uint16_t port() const { return static_cast<std::uint16_t>(uint(0, 65535)); }
  [[nodiscard]] std::chrono::seconds seconds(std::uint64_t min) const {
    return std::chrono::seconds(static_cast<std::int64_t>(uint(min, 1'000'000'000)));
  }
  [[nodiscard]] std::chrono::milliseconds millis(std::uint64_t min, std::uint64_t max) const {
    return std::chrono::milliseconds(static_cast<std::int64_t>(uint(min, max)));
  }
  // A comma-separated list, items trimmed, empty items dropped.
  [[nodiscard]] std::vector<std::string> list() const {
    std::vector<std::string> out;
    std::string_view rest = text;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty()) out.emplace_back(item);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    return out;
  }

 private:
  static std::string show_number(double v) {
    std::string s = std::to_string(v);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
};

// What the setters write: the config, plus the pieces resolved after the whole table.
struct EnvTarget {
  explicit EnvTarget(Config& c) : config(c) {}

  Config& config;
  LimitsIn* server_limits = nullptr;    ///< set in the limits phase only
  std::optional<RedisUrl> redis_parts;  ///< DATABASE_REDIS_* (REDIS_URL wins)
  std::optional<std::string> redis_url;
  bool ssl_enabled_set = false;
  bool soketi_ssl_files = false;  ///< Soketi enables TLS by giving a cert and key

  // The app the SOCKUDO_DEFAULT_APP_* variables address: the first one, created (the default
  // app) when no app is configured.
  App& default_app() {
    if (config.apps.empty()) {
      config.apps.push_back(make_default_app(config.default_limits));
    }
    return config.apps.front();
  }
  RedisUrl& redis() {
    if (!redis_parts) {
      redis_parts = parse_redis_url(config.adapter.redis_url);
    }
    return *redis_parts;
  }
};

enum class Phase : std::uint8_t { limits, config };

struct EnvSetting {
  EnvSettingInfo info;
  Phase phase;
  void (*apply)(EnvTarget& t, const EnvValue& v);
};

using T = EnvTarget;
using V = EnvValue;

// The table. Sockudo's names first (crates/sockudo-core/src/options/env*), then Soketi's
// (docs.soketi.app); a row without a Sockudo name exists only in Soketi. Rows are applied in
// order; for each row the first Sockudo name that is set wins, else the first Soketi alias.
const EnvSetting env_table[] = {
    // ---- server
    {{{"HOST"}, {}, "host"}, Phase::config, [](T& t, const V& v) { t.config.host = v.text; }},
    {{{"PORT"}, {"SOKETI_PORT"}, "port"},
     Phase::config,
     [](T& t, const V& v) { t.config.port = v.port(); }},
    {{{"DEBUG"}, {"SOKETI_DEBUG"}, "debug"},
     Phase::config,
     [](T& t, const V& v) {
       if (v.boolean()) t.config.log_level = "debug";  // forces debug on; false changes nothing
     }},
    {{{"DEBUG_MODE"}, {}, "debug"},
     Phase::config,
     [](T& t, const V& v) {
       if (v.boolean()) {
         t.config.log_level = "debug";
       } else if (t.config.log_level == "debug") {
         t.config.log_level = "info";
       }
     }},
    {{{"ACTIVITY_TIMEOUT"}, {}, "activity_timeout"},
     Phase::config,
     [](T& t, const V& v) { t.config.activity_timeout = v.seconds(1); }},
    {{{"SHUTDOWN_GRACE_PERIOD"}, {"SOKETI_SHUTDOWN_GRACE_PERIOD"}, "shutdown_grace_period"},
     Phase::config,
     [](T& t, const V& v) { t.config.shutdown_grace = v.seconds(0); }},
    {{{"USER_AUTHENTICATION_TIMEOUT"}, {}, "user_authentication_timeout"},
     Phase::config,
     [](T& t, const V& v) { t.config.user_authentication_timeout = v.seconds(1); }},
    {{{"WEBSOCKET_MAX_PAYLOAD_KB"}, {}, "websocket_max_payload_kb"},
     Phase::config,
     [](T& t, const V& v) { t.config.websocket_max_payload_kb = v.uint(1, 1024 * 1024); }},
    {{{"SOCKUDO_MAX_CONNECTIONS"}, {}, "max_connections"},
     Phase::config,
     [](T& t, const V& v) { t.config.max_connections = v.limit(); }},
    {{{}, {"SOKETI_PATH_PREFIX"}, "path_prefix"},
     Phase::config,
     [](T& t, const V& v) {
       std::string prefix = v.text;
       while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
       if (!prefix.empty() && prefix.front() != '/') prefix.insert(prefix.begin(), '/');
       t.config.path_prefix = std::move(prefix);
     }},
    {{{}, {"SOKETI_HTTP_MAX_REQUEST_SIZE"}, "http_api.request_limit_in_mb"},
     Phase::config,
     [](T& t, const V& v) { t.config.http_request_limit_mb = v.number(0.001, 4096); }},
    // ---- protocol V2 (connection recovery, idempotency, echo control)
    {{{"CONNECTION_RECOVERY_ENABLED"}, {}, "connection_recovery.enabled"},
     Phase::config,
     [](T& t, const V& v) { t.config.v2.recovery_enabled = v.boolean(); }},
    {{{"CONNECTION_RECOVERY_BUFFER_TTL"}, {}, "connection_recovery.buffer_ttl_seconds"},
     Phase::config,
     [](T& t, const V& v) { t.config.v2.recovery_buffer_ttl = v.seconds(1); }},
    {{{"CONNECTION_RECOVERY_MAX_BUFFER_SIZE"}, {}, "connection_recovery.max_buffer_size"},
     Phase::config,
     [](T& t, const V& v) { t.config.v2.recovery_max_buffer_size = v.uint(1, 1'000'000); }},
    {{{"IDEMPOTENCY_ENABLED"}, {}, "idempotency.enabled"},
     Phase::config,
     [](T& t, const V& v) { t.config.v2.idempotency_enabled = v.boolean(); }},
    {{{"IDEMPOTENCY_TTL_SECONDS"}, {}, "idempotency.ttl_seconds"},
     Phase::config,
     [](T& t, const V& v) { t.config.v2.idempotency_ttl = v.seconds(1); }},
    {{{"IDEMPOTENCY_MAX_KEY_LENGTH"}, {}, "idempotency.max_key_length"},
     Phase::config,
     [](T& t, const V& v) { t.config.v2.idempotency_max_key_length = v.uint(1, 4096); }},
    {{{"ECHO_CONTROL_ENABLED"}, {}, "echo_control.enabled"},
     Phase::config,
     [](T& t, const V& v) { t.config.v2.echo_control_enabled = v.boolean(); }},
    {{{"ECHO_CONTROL_DEFAULT_ECHO_MESSAGES"}, {}, "echo_control.default_echo_messages"},
     Phase::config,
     [](T& t, const V& v) { t.config.v2.default_echo_messages = v.boolean(); }},
    // ---- TLS
    {{{"SSL_ENABLED"}, {}, "ssl.enabled"},
     Phase::config,
     [](T& t, const V& v) {
       t.config.ssl.enabled = v.boolean();
       t.ssl_enabled_set = true;
     }},
    {{{"SSL_CERT_PATH"}, {"SOKETI_SSL_CERT"}, "ssl.cert_path"},
     Phase::config,
     [](T& t, const V& v) {
       t.config.ssl.cert_path = v.text;
       t.soketi_ssl_files = t.soketi_ssl_files || v.name.starts_with("SOKETI_");
     }},
    {{{"SSL_KEY_PATH"}, {"SOKETI_SSL_KEY"}, "ssl.key_path"},
     Phase::config,
     [](T& t, const V& v) {
       t.config.ssl.key_path = v.text;
       t.soketi_ssl_files = t.soketi_ssl_files || v.name.starts_with("SOKETI_");
     }},
    {{{"SSL_CA_PATH"}, {"SOKETI_SSL_CA"}, "ssl.ca_path"},
     Phase::config,
     [](T& t, const V& v) { t.config.ssl.ca_path = v.text; }},
    {{{"SSL_PASSPHRASE"}, {"SOKETI_SSL_PASS"}, "ssl.passphrase"},
     Phase::config,
     [](T& t, const V& v) { t.config.ssl.passphrase = v.text; }},
    // ---- app manager (docs/APP_MANAGERS.md)
    {{{"APP_MANAGER_DRIVER"}, {}, "app_manager.driver"},
     Phase::config,
     [](T& t, const V& v) {
       const auto driver = app_manager_driver_name(v.text);
       if (!driver) fail(v.name, "expected " + std::string(app_manager_drivers_text) + ", got " +
                                     in_quotes(v.text));
       t.config.app_manager.driver = *driver;
     }},
    {{{"CACHE_TTL_SECONDS"}, {}, "app_manager.cache.ttl"},
     Phase::config,
     [](T& t, const V& v) { t.config.app_manager.cache_ttl = v.seconds(1); }},
#define PUSHCORE_DB_ENV_ROWS(PREFIX, FIELD)                                                  \
  {{{PREFIX "_HOST"}, {}, "database." #FIELD ".host"},                                       \
   Phase::config,                                                                           \
   [](T& t, const V& v) { t.config.app_manager.FIELD.host = v.text; }},                     \
      {{{PREFIX "_PORT"}, {}, "database." #FIELD ".port"},                                   \
       Phase::config,                                                                       \
       [](T& t, const V& v) { t.config.app_manager.FIELD.port = v.port(); }},               \
      {{{PREFIX "_USERNAME", PREFIX "_USER"}, {}, "database." #FIELD ".username"},           \
       Phase::config,                                                                       \
       [](T& t, const V& v) { t.config.app_manager.FIELD.username = v.text; }},             \
      {{{PREFIX "_PASSWORD"}, {}, "database." #FIELD ".password"},                           \
       Phase::config,                                                                       \
       [](T& t, const V& v) { t.config.app_manager.FIELD.password = v.text; }},             \
      {{{PREFIX "_DATABASE"}, {}, "database." #FIELD ".database"},                           \
       Phase::config,                                                                       \
       [](T& t, const V& v) { t.config.app_manager.FIELD.database = v.text; }},             \
      {{{PREFIX "_TABLE_NAME"}, {}, "database." #FIELD ".table_name"},                       \
       Phase::config,                                                                       \
       [](T& t, const V& v) {                                                               \
         if (!is_table_name(v.text)) {                                                      \
           fail(v.name, "expected " + std::string(table_name_text) + ", got " + in_quotes(v.text)); \
         }                                                                                  \
         t.config.app_manager.FIELD.table_name = v.text;                                    \
       }}
    PUSHCORE_DB_ENV_ROWS("DATABASE_POSTGRES", postgres),
    PUSHCORE_DB_ENV_ROWS("DATABASE_MYSQL", mysql),
#undef PUSHCORE_DB_ENV_ROWS
    // ---- adapter and Redis
    {{{"ADAPTER_DRIVER"}, {"SOKETI_ADAPTER_DRIVER"}, "adapter.driver"},
     Phase::config,
     [](T& t, const V& v) {
       const std::string_view d = trim(v.text);
       if (iequals(d, "local") || iequals(d, "redis")) {
         t.config.adapter.driver = iequals(d, "redis") ? "redis" : "local";
       } else if (iequals(d, "redis-cluster") || iequals(d, "redis_cluster")) {
         t.config.adapter.driver = "redis-cluster";
       } else {
         fail(v.name,
              "expected \"local\", \"redis\" or \"redis-cluster\", got " + in_quotes(v.text));
       }
     }},
    {{{"REDIS_CLUSTER_NODES", "DATABASE_REDIS_CLUSTER_NODES"}, {}, "adapter.cluster.nodes"},
     Phase::config,
     [](T& t, const V& v) {
       std::vector<std::string> nodes = v.list();
       for (const std::string& one : nodes) {
         try {
           (void)parse_cluster_seed(one);
         } catch (const ConfigError& e) {
           fail(v.name, one + ": " + e.what());
         }
       }
       t.config.adapter.cluster_nodes = std::move(nodes);
     }},
    {{{"DATABASE_REDIS_HOST"}, {"SOKETI_DB_REDIS_HOST"}, "adapter.redis.url (host)"},
     Phase::config,
     [](T& t, const V& v) { t.redis().host = std::string(trim(v.text)); }},
    {{{"DATABASE_REDIS_PORT"}, {"SOKETI_DB_REDIS_PORT"}, "adapter.redis.url (port)"},
     Phase::config,
     [](T& t, const V& v) { t.redis().port = static_cast<std::uint16_t>(v.uint(1, 65535)); }},
    {{{"DATABASE_REDIS_USERNAME"}, {"SOKETI_DB_REDIS_USERNAME"}, "adapter.redis.url (user)"},
     Phase::config,
     [](T& t, const V& v) { t.redis().username = v.text; }},
    {{{"DATABASE_REDIS_PASSWORD"}, {"SOKETI_DB_REDIS_PASSWORD"}, "adapter.redis.url (password)"},
     Phase::config,
     [](T& t, const V& v) { t.redis().password = v.text; }},
    {{{"DATABASE_REDIS_DB"}, {"SOKETI_DB_REDIS_DB"}, "adapter.redis.url (db)"},
     Phase::config,
     [](T& t, const V& v) { t.redis().db = static_cast<std::uint32_t>(v.uint(0, 1'000'000)); }},
    {{{"REDIS_URL"}, {}, "adapter.redis.url"},
     Phase::config,
     [](T& t, const V& v) {
       try {
         (void)parse_redis_url(v.text);
       } catch (const ConfigError& e) {
         fail(v.name, e.what());
       }
       t.redis_url = v.text;
     }},
    {{{}, {"SOKETI_ADAPTER_REDIS_PREFIX"}, "adapter.redis.prefix"},
     Phase::config,
     [](T& t, const V& v) { t.config.adapter.redis_prefix = v.text; }},
    // ---- metrics
    {{{"METRICS_ENABLED"}, {"SOKETI_METRICS_ENABLED"}, "metrics.enabled"},
     Phase::config,
     [](T& t, const V& v) { t.config.metrics_enabled = v.boolean(); }},
    {{{"METRICS_HOST"}, {}, "metrics.host"},
     Phase::config,
     [](T& t, const V& v) { t.config.metrics_host = v.text; }},
    {{{"METRICS_PORT"}, {"SOKETI_METRICS_SERVER_PORT"}, "metrics.port"},
     Phase::config,
     [](T& t, const V& v) { t.config.metrics_port = v.port(); }},
    {{{"METRICS_PROMETHEUS_PREFIX"}, {"SOKETI_METRICS_PREFIX"}, "metrics.prometheus.prefix"},
     Phase::config,
     [](T& t, const V& v) {
       if (!is_metric_prefix(v.text)) {
         fail(v.name, "expected a Prometheus metric name prefix, got " + in_quotes(v.text));
       }
       t.config.metrics_prefix = v.text;
     }},
    // ---- per-IP rate limiter
    {{{"RATE_LIMITER_ENABLED"}, {}, "rate_limiter.enabled"},
     Phase::config,
     [](T& t, const V& v) { t.config.ip_limits.rate_limit_enabled = v.boolean(); }},
    {{{"RATE_LIMITER_WS_MAX_REQUESTS"}, {}, "rate_limiter.websocket_rate_limit.max_requests"},
     Phase::config,
     [](T& t, const V& v) { t.config.ip_limits.connects_per_window = v.uint(1); }},
    {{{"RATE_LIMITER_WS_WINDOW_SECONDS"}, {}, "rate_limiter.websocket_rate_limit.window_seconds"},
     Phase::config,
     [](T& t, const V& v) { t.config.ip_limits.connect_window = v.seconds(1); }},
    // ---- CORS
    {{{"CORS_ORIGINS"}, {}, "cors.origin"},
     Phase::config,
     [](T& t, const V& v) {
       std::vector<std::string> origins = v.list();
       if (origins.empty()) origins.emplace_back("*");
       const bool any = std::find(origins.begin(), origins.end(), "*") != origins.end();
       t.config.cors_origin = any ? "*" : origins.front();
       t.config.cors_origins = std::move(origins);
     }},
    {{{"CORS_CREDENTIALS"}, {}, "cors.credentials"},
     Phase::config,
     [](T& t, const V& v) { t.config.cors_credentials = v.boolean(); }},
    {{{"CORS_METHODS"}, {}, "cors.methods"},
     Phase::config,
     [](T& t, const V& v) {
       std::vector<std::string> methods = v.list();
       for (const auto& m : methods) {
         if (!is_http_token(m)) fail(v.name, "expected a comma-separated list of HTTP methods");
       }
       t.config.cors_methods = std::move(methods);
     }},
    {{{"CORS_HEADERS"}, {}, "cors.allowed_headers"},
     Phase::config,
     [](T& t, const V& v) {
       std::vector<std::string> headers = v.list();
       for (const auto& h : headers) {
         if (!is_http_token(h)) fail(v.name, "expected a comma-separated list of header names");
       }
       t.config.cors_allowed_headers = std::move(headers);
     }},
    // ---- webhooks
    {{{"WEBHOOK_BATCHING_ENABLED"}, {}, "webhooks.batching.enabled"},
     Phase::config,
     [](T& t, const V& v) { t.config.webhooks.batching_enabled = v.boolean(); }},
    {{{"WEBHOOK_BATCHING_DURATION"}, {}, "webhooks.batching.duration"},
     Phase::config,
     [](T& t, const V& v) { t.config.webhooks.batching_duration = v.millis(0, 60'000); }},
    {{{"WEBHOOK_BATCHING_SIZE"}, {}, "webhooks.batching.max_batch_size"},
     Phase::config,
     [](T& t, const V& v) { t.config.webhooks.max_batch_size = v.uint(1, 10'000); }},
    // ---- server-level limits (the apps inherit them)
    {{{}, {"SOKETI_EVENT_MAX_CHANNELS_AT_ONCE"}, "event_limits.max_channels_at_once"},
     Phase::limits,
     [](T& t, const V& v) { t.server_limits->max_event_channels_at_once = v.uint(); }},
    {{{}, {"SOKETI_EVENT_MAX_NAME_LENGTH"}, "event_limits.max_name_length"},
     Phase::limits,
     [](T& t, const V& v) { t.server_limits->max_event_name_length = v.uint(); }},
    {{{}, {"SOKETI_EVENT_MAX_SIZE_IN_KB"}, "event_limits.max_payload_in_kb"},
     Phase::limits,
     [](T& t, const V& v) { t.server_limits->max_event_payload_in_kb = v.number(0, 1e9); }},
    {{{}, {"SOKETI_EVENT_MAX_BATCH_SIZE"}, "event_limits.max_batch_size"},
     Phase::limits,
     [](T& t, const V& v) { t.server_limits->max_event_batch_size = v.uint(); }},
    {{{},
      {"SOKETI_CHANNEL_LIMITS_MAX_NAME_LENGTH", "SOKETI_CHANNEL_MAX_NAME_LENGTH"},
      "channel_limits.max_name_length"},
     Phase::limits,
     [](T& t, const V& v) { t.server_limits->max_channel_name_length = v.uint(); }},
    {{{},
      {"SOKETI_PRESENCE_MAX_MEMBERS", "SOKETI_PRESENCE_MAX_MEMBERS_PER_CHANNEL"},
      "presence.max_members_per_channel"},
     Phase::limits,
     [](T& t, const V& v) { t.server_limits->max_presence_members_per_channel = v.uint(); }},
    {{{},
      {"SOKETI_PRESENCE_MAX_MEMBER_SIZE", "SOKETI_PRESENCE_MAX_MEMBER_SIZE_IN_KB"},
      "presence.max_member_size_in_kb"},
     Phase::limits,
     [](T& t, const V& v) { t.server_limits->max_presence_member_size_in_kb = v.number(0, 1e9); }},
    // ---- the default app (the first app; created when none is configured)
    {{{"SOCKUDO_DEFAULT_APP_ID"}, {"SOKETI_DEFAULT_APP_ID"}, "apps[0].id"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().id = v.text; }},
    {{{"SOCKUDO_DEFAULT_APP_KEY"}, {"SOKETI_DEFAULT_APP_KEY"}, "apps[0].key"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().key = v.text; }},
    {{{"SOCKUDO_DEFAULT_APP_SECRET"}, {"SOKETI_DEFAULT_APP_SECRET"}, "apps[0].secret"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().secret = v.text; }},
    {{{"SOCKUDO_DEFAULT_APP_ENABLED"}, {"SOKETI_DEFAULT_APP_ENABLED"}, "apps[0].enabled"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().enabled = v.boolean(); }},
    {{{"SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES", "SOCKUDO_ENABLE_CLIENT_MESSAGES"},
      {"SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES"},
      "apps[0].policy.features.enable_client_messages"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().enable_client_messages = v.boolean(); }},
    {{{"SOCKUDO_DEFAULT_APP_ENABLE_USER_AUTHENTICATION"},
      {"SOKETI_DEFAULT_APP_USER_AUTHENTICATION"},
      "apps[0].policy.features.enable_user_authentication"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().enable_user_authentication = v.boolean(); }},
    {{{"SOCKUDO_DEFAULT_APP_ENABLE_WATCHLIST_EVENTS"},
      {},
      "apps[0].policy.features.enable_watchlist_events"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().enable_watchlist_events = v.boolean(); }},
    {{{"SOCKUDO_DEFAULT_APP_ALLOWED_ORIGINS"}, {}, "apps[0].policy.channels.allowed_origins"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().allowed_origins = v.list(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_CONNECTIONS"},
      {"SOKETI_DEFAULT_APP_MAX_CONNS"},
      "apps[0].policy.limits.max_connections"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_connections = v.limit(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SECOND"},
      {"SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC"},
      "apps[0].policy.limits.max_backend_events_per_second"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_backend_events_per_second = v.limit(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SECOND"},
      {"SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC"},
      "apps[0].policy.limits.max_client_events_per_second"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_client_events_per_second = v.limit(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_READ_REQUESTS_PER_SECOND"},
      {"SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC"},
      "apps[0].policy.limits.max_read_requests_per_second"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_read_requests_per_second = v.limit(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_PRESENCE_MEMBERS_PER_CHANNEL"},
      {},
      "apps[0].policy.limits.max_presence_members_per_channel"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_presence_members_per_channel = v.uint(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_PRESENCE_MEMBER_SIZE_IN_KB"},
      {},
      "apps[0].policy.limits.max_presence_member_size_in_kb"},
     Phase::config,
     [](T& t, const V& v) {
       t.default_app().limits.max_presence_member_size_in_kb = v.number(0, 1e9);
     }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_CHANNEL_NAME_LENGTH"},
      {},
      "apps[0].policy.limits.max_channel_name_length"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_channel_name_length = v.uint(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_EVENT_CHANNELS_AT_ONCE"},
      {},
      "apps[0].policy.limits.max_event_channels_at_once"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_event_channels_at_once = v.uint(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_EVENT_NAME_LENGTH"},
      {},
      "apps[0].policy.limits.max_event_name_length"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_event_name_length = v.uint(); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_EVENT_PAYLOAD_IN_KB"},
      {},
      "apps[0].policy.limits.max_event_payload_in_kb"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_event_payload_in_kb = v.number(0, 1e9); }},
    {{{"SOCKUDO_DEFAULT_APP_MAX_EVENT_BATCH_SIZE"},
      {},
      "apps[0].policy.limits.max_event_batch_size"},
     Phase::config,
     [](T& t, const V& v) { t.default_app().limits.max_event_batch_size = v.uint(); }},
};

// The value of the row `row`: its first Sockudo name that is set, else its first Soketi alias.
std::optional<EnvValue> value_of(const EnvSettingInfo& row, EnvLookup env) {
  for (const auto* names : {&row.names, &row.aliases}) {
    for (const std::string_view name : *names) {
      if (auto text = lookup(env, name)) {
        return EnvValue{name, std::move(*text)};
      }
    }
  }
  return std::nullopt;
}

void apply_phase(EnvTarget& target, Phase phase, EnvLookup env) {
  for (const EnvSetting& row : env_table) {
    if (row.phase != phase) continue;
    if (const auto value = value_of(row.info, env)) {
      row.apply(target, *value);
    }
  }
}

}  // namespace

std::vector<EnvSettingInfo> env_settings() {
  std::vector<EnvSettingInfo> out;
  for (const EnvSetting& row : env_table) out.push_back(row.info);
  return out;
}

void apply_env_limits(LimitsIn& server_limits, EnvLookup env) {
  Config unused;
  EnvTarget target(unused);
  target.server_limits = &server_limits;
  apply_phase(target, Phase::limits, env);
}

void apply_env_overrides(Config& config, EnvLookup env) {
  EnvTarget target(config);
  apply_phase(target, Phase::config, env);
  if (target.redis_url) {
    config.adapter.redis_url = *target.redis_url;  // REDIS_URL wins over DATABASE_REDIS_*
  } else if (target.redis_parts) {
    config.adapter.redis_url = format_redis_url(*target.redis_parts);
  }
  if (target.soketi_ssl_files && !target.ssl_enabled_set && !config.ssl.cert_path.empty() &&
      !config.ssl.key_path.empty()) {
    config.ssl.enabled = true;  // Soketi: a certificate and a key turn TLS on
  }
}

}  // namespace config_detail
}  // namespace server
