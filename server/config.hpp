#pragma once
// Server configuration: the TOML or JSON file in Sockudo's shape, ${VAR} interpolation, env
// overrides.
// Loaded once at start-up (exceptions allowed there); read-only afterwards, shared by all workers.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/errors.hpp"

namespace server {

/// Per-app limits (`policy.limits`). Every field has the project default applied when unset
/// (see README "Configuration": a deliberate deviation from Sockudo's "unlimited").
struct AppLimits {
  std::uint64_t max_connections = 0;               ///< 0 = unlimited
  std::uint64_t max_client_events_per_second = 0;  ///< 0 = unlimited
  std::uint64_t client_event_decay_seconds = 1;    ///< fixed window length
  /// Sockudo's `terminate_on_limit`: over the client-event limit, close the connection (4301)
  /// instead of rejecting the event.
  bool terminate_on_client_event_limit = false;
  std::uint64_t max_presence_members_per_channel = 100;
  double max_presence_member_size_in_kb = 2;  ///< compared as bytes <= kb*1024
  std::uint64_t max_channel_name_length = 200;
  std::uint64_t max_event_name_length = 200;
  double max_event_payload_in_kb = 100;  ///< bytes <= kb*1024
  std::uint64_t max_event_channels_at_once = 100;
  std::uint64_t max_event_batch_size = 10;
  std::uint64_t max_channels_per_connection = 1000;  ///< subscriptions per socket
  // Rate limits (README "Security"); 0 = unlimited, the default.
  std::uint64_t max_backend_events_per_second = 0;  ///< HTTP API events/s (a batch counts each)
  std::uint64_t max_read_requests_per_second = 0;   ///< HTTP API GET queries/s
  /// Inbound messages per connection per message_rate_window_seconds; 0 = unlimited. Over it
  /// a message is dropped (one 4301 error frame per window), or with message_rate_terminate the
  /// connection is closed with 4301.
  std::uint64_t message_rate_limit = 0;
  std::uint64_t message_rate_window_seconds = 1;  ///< fixed window length, >= 1
  bool message_rate_terminate = false;
};

/// Per-IP limits on WebSocket connections (README "Security"). Sockudo's `rate_limiter` shape;
/// off by default (Sockudo's default is on, 20 connects / 60 s, which throttles load tests).
struct IpLimits {
  bool rate_limit_enabled = false;           ///< rate_limiter.enabled
  std::uint64_t connects_per_window = 20;    ///< rate_limiter.websocket_rate_limit.max_requests
  std::chrono::seconds connect_window{60};   ///< rate_limiter.websocket_rate_limit.window_seconds
  std::uint64_t max_connections_per_ip = 0;  ///< open WebSockets per IP, 0 = unlimited (4100)
  /// Trusted proxies in front of the WebSocket route (protocol/forwarded.hpp); 0 = the peer
  /// address is the client. rate_limiter.websocket_rate_limit.trust_hops
  std::uint32_t ws_trust_hops = 0;
  // HTTP API requests (/apps/...) per client address, on when rate_limit_enabled (429 above).
  std::uint64_t api_requests_per_window = 100;  ///< rate_limiter.api_rate_limit.max_requests
  std::chrono::seconds api_window{60};          ///< rate_limiter.api_rate_limit.window_seconds
  std::uint32_t api_trust_hops = 0;             ///< rate_limiter.api_rate_limit.trust_hops
};

/// Retry policy of webhook requests (protocol.md §10.4): network errors, timeouts, 5xx, 408, 409,
/// 425 and 429 are retried with exponential backoff while the total time stays within
/// `max_elapsed_time`.
struct WebhookRetry {
  bool enabled = true;
  std::uint64_t max_attempts = 0;  ///< total attempts including the first; 0 = no count limit
  std::chrono::milliseconds initial_interval{1000};
  std::chrono::milliseconds max_interval{60000};
  std::chrono::milliseconds max_elapsed_time{300000};
};

/// Channel filter of one webhook (protocol.md §10.3). Empty fields are not checked; every given
/// condition must hold.
struct WebhookFilter {
  /// Longer patterns are refused at load: std::regex compiles (and matches) recursively, and a
  /// pattern of some thousand characters overflows the stack (found by the config fuzz target).
  static constexpr std::size_t max_pattern_length = 256;
  /// Numbers the regex compiler parses (back-references `\N`, quantifiers `{m,n}`) are limited
  /// to this many digits: libstdc++ accumulates them in a `long` without an overflow check
  /// (undefined behaviour, found by the config fuzz target with `\4444444444444444444444`).
  static constexpr std::size_t max_pattern_number_digits = 9;
  /// True if every back-reference and brace quantifier number in `pattern` is within
  /// max_pattern_number_digits (a literal digit run elsewhere may be any length).
  [[nodiscard]] static bool pattern_numbers_bounded(std::string_view pattern) noexcept;
  std::string channel_prefix;   ///< also Soketi's channel_name_starts_with
  std::string channel_suffix;   ///< also Soketi's channel_name_ends_with
  std::string channel_pattern;  ///< ECMAScript regex, searched anywhere in the name
  bool pattern_valid = true;    ///< false: the pattern does not compile and matches nothing
  /// Namespace (text before the first ':' after the type prefix) must be one of these.
  std::vector<std::string> channel_namespaces;
};

/// One webhook endpoint of an app (`policy.webhooks[i]` or the flat `webhooks[i]`).
struct WebhookTarget {
  std::string url;  ///< as configured, http:// or https://
  bool tls = false;
  std::string host;                      ///< without brackets for IPv6 literals
  std::uint16_t port = 80;               ///< explicit or the scheme's default
  std::string target = "/";              ///< path and query sent in the request line
  std::vector<std::string> event_types;  ///< as configured
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra request headers
  WebhookFilter filter;
  std::optional<std::chrono::milliseconds> request_timeout;  ///< overrides the global one
  std::optional<WebhookRetry> retry;                         ///< overrides the global one
};

/// Server-wide webhook sender settings (top-level `webhooks`).
struct WebhookSettings {
  bool batching_enabled = true;                      ///< webhooks.batching.enabled
  std::chrono::milliseconds batching_duration{50};   ///< webhooks.batching.duration
  std::uint64_t max_batch_size = 100;                ///< events per request when batching
  std::uint64_t max_queue_size = 10000;              ///< events held (queued, delayed, being sent)
  std::uint64_t max_queue_bytes = 64ull << 20;       ///< approximate bytes held, same scope
  std::uint64_t max_concurrent_requests = 20;        ///< requests in flight, all URLs together
  std::chrono::milliseconds request_timeout{10000};  ///< one attempt: connect..response
  std::chrono::milliseconds vacate_delay{3000};      ///< channel_vacated / member_removed delay
  WebhookRetry retry;
};

/// Horizontal scaling (top-level `adapter`, docs/CLUSTER.md). driver "local" (one node) or
/// "redis" (nodes sharing one Redis server).
/// TLS to Redis (`adapter.redis.tls` / `adapter.cluster.tls`, Sockudo's RedisTlsOptions
/// names). `enabled` is also set by a rediss:// URL.
struct RedisTlsSettings {
  bool enabled = false;
  bool accept_invalid_certs = false;  ///< no certificate or name check (testing only)
  std::string ca_path;                ///< PEM CA to trust; empty: the system's CA store
  std::string client_cert_path;       ///< mutual TLS: PEM certificate (with client_key_path)
  std::string client_key_path;
};

struct AdapterSettings {
  std::string driver = "local";  ///< local, redis or redis-cluster
  std::string redis_url =
      "redis://127.0.0.1:6379/0";         ///< redis[s]://[[user]:password@]host[:port][/db]
  std::string redis_prefix = "pushcore";  ///< key and channel prefix
  RedisTlsSettings redis_tls;             ///< adapter.redis.tls
  /// redis-cluster: seed nodes (`adapter.cluster.nodes`, REDIS_CLUSTER_NODES), each
  /// redis[s]://[[user]:password@]host:port or host:port; credentials of the first that has
  /// them apply to every shard.
  std::vector<std::string> cluster_nodes;
  RedisTlsSettings cluster_tls;  ///< adapter.cluster.tls
  /// adapter.cluster.prefix / request_timeout_ms: used instead of the redis ones with
  /// redis-cluster (Sockudo keeps them per driver).
  std::optional<std::string> cluster_prefix;
  std::optional<std::chrono::milliseconds> cluster_request_timeout;
  std::chrono::milliseconds request_timeout{5000};     ///< one Redis round trip (queries)
  std::chrono::milliseconds heartbeat_interval{1000};  ///< node liveness refresh period
  std::chrono::milliseconds node_timeout{5000};        ///< a silent node is dead after this
};

/// One database of the app managers (`database.postgres` / `database.mysql`, Sockudo's names;
/// env DATABASE_POSTGRES_* / DATABASE_MYSQL_*). docs/APP_MANAGERS.md.
struct DatabaseSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: the driver's default (5432 / 3306)
  std::string username;    ///< empty: the driver's default ("postgres" / "root")
  std::string password;    ///< never logged
  std::string database = "sockudo";
  std::string table_name = "applications";
  /// database.*.cache_ttl (Sockudo's per-driver cache); app_manager.cache.ttl wins when set.
  std::optional<std::chrono::seconds> cache_ttl;
  std::chrono::seconds connect_timeout{5};          ///< pushcore: connect_timeout_seconds
  std::chrono::milliseconds query_timeout{5000};    ///< pushcore: query_timeout_ms
  /// TLS (pushcore keys): ssl_mode is libpq's sslmode (disable, allow, prefer, require,
  /// verify-ca, verify-full) for both drivers; "" = the library's default.
  std::string ssl_mode;
  std::string ssl_ca_path;
  std::string ssl_cert_path;
  std::string ssl_key_path;
  /// PostgreSQL only (pushcore): LISTEN on this channel; a notification whose payload is an app
  /// id re-reads that app at once (docs/APP_MANAGERS.md has the trigger). "" = TTL only.
  std::string notify_channel;
};

/// Where apps come from (`app_manager`): "array" (the config file; SIGHUP reloads it), or a
/// database ("postgres" / "mysql") read through a cache (server/app_directory.hpp).
struct AppManagerSettings {
  std::string driver = "array";  ///< array, postgres or mysql (env APP_MANAGER_DRIVER)
  /// app_manager.cache.ttl (env CACHE_TTL_SECONDS): cached apps are re-read this often;
  /// changed, disabled and deleted rows take effect within it.
  std::optional<std::chrono::seconds> cache_ttl;
  /// app_manager.cache.negative_ttl (pushcore): how long an unknown key or id is answered
  /// from memory before the database is asked again. Default: min(ttl, 30 s).
  std::optional<std::chrono::seconds> negative_ttl;
  /// app_manager.max_apps (pushcore): app slots for database apps (each distinct app served
  /// since start takes one for the life of the process).
  std::size_t max_apps = 16384;
  /// app_manager.lookup_timeout_ms (pushcore): how long a connect or API request waits for the
  /// database before it is answered as for an unknown app.
  std::chrono::milliseconds lookup_timeout{2000};
  DatabaseSettings postgres;
  DatabaseSettings mysql;

  [[nodiscard]] bool uses_database() const noexcept { return driver != "array"; }
  [[nodiscard]] const DatabaseSettings& database() const noexcept {
    return driver == "mysql" ? mysql : postgres;
  }
  [[nodiscard]] std::chrono::seconds ttl() const noexcept {
    if (cache_ttl) return *cache_ttl;
    if (database().cache_ttl) return *database().cache_ttl;
    return std::chrono::seconds{300};
  }
  [[nodiscard]] std::chrono::seconds negative() const noexcept {
    return negative_ttl ? *negative_ttl : std::min(ttl(), std::chrono::seconds{30});
  }
};

/// A parsed redis:// URL.
struct RedisUrl {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  ///< empty: AUTH with the password only
  std::string password;  ///< empty: no AUTH
  std::uint32_t db = 0;
  bool tls = false;  ///< rediss://
};

/// Parses redis[s]://[[user]:password@]host[:port][/db]. Throws ConfigError naming the problem.
/// Percent-escapes in user and password are decoded; IPv6 hosts go in brackets.
RedisUrl parse_redis_url(std::string_view url);

/// A Redis Cluster seed: a redis[s]:// URL (no database: a cluster has only 0) or host:port.
/// Throws ConfigError naming the problem.
RedisUrl parse_cluster_seed(std::string_view seed);

struct App {
  std::string id;
  std::string key;
  std::string secret;
  bool enabled = true;
  AppLimits limits;
  bool enable_client_messages = false;       ///< policy.features.enable_client_messages
  bool enable_user_authentication = false;   ///< policy.features.enable_user_authentication
  bool enable_watchlist_events = false;      ///< policy.features.enable_watchlist_events
  std::vector<std::string> allowed_origins;  ///< empty = all allowed
  /// What to send when the app's max_connections is reached: 4004 (default, Sockudo's
  /// code, pusher-js stops) or 4100 (Soketi's, pusher-js backs off and retries).
  int quota_close_code = code_of(WsError::app_over_quota);
  /// `policy.webhooks` (or Sockudo's flat `webhooks`; policy wins when both are given).
  std::vector<WebhookTarget> webhooks;
};

/// TLS on the main port (`ssl` section, Sockudo's names; env SSL_ENABLED, SSL_CERT_PATH,
/// SSL_KEY_PATH, SSL_CA_PATH, SSL_PASSPHRASE). The files are loaded at start-up (tls.cpp);
/// with `enabled` the main port serves only TLS 1.2+ (wss://, https://).
struct SslConfig {
  bool enabled = false;
  std::string cert_path;   ///< PEM certificate (chain) file
  std::string key_path;    ///< PEM private key file
  std::string ca_path;     ///< optional PEM file with extra chain certificates
  std::string passphrase;  ///< optional private key passphrase (never logged)
  /// ssl.redirect_http: a plain listener on host:http_port answering every request with a 308
  /// to https://<Host>:<port><target> (Sockudo's; only when TLS is on).
  bool redirect_http = false;
  std::uint16_t http_port = 80;  ///< ssl.http_port (0 = a free port, for tests)
};

/// Sockudo's protocol-V2 message features (docs/PROTOCOL_V2.md).
struct V2Settings {
  /// `connection_recovery`: channel messages get message_id / stream_id / serial (V2 frames) and
  /// are kept in a per-channel replay buffer for `resume` and `rewind`.
  bool recovery_enabled = false;
  std::chrono::seconds recovery_buffer_ttl{120};  ///< connection_recovery.buffer_ttl_seconds
  std::uint64_t recovery_max_buffer_size = 100;   ///< connection_recovery.max_buffer_size
  /// Upper bound of the replay buffers' frame bytes over all channels (pushcore's own key
  /// `connection_recovery.max_memory_mb`): past it a channel's oldest messages go first.
  std::uint64_t recovery_max_bytes = 64ull << 20;
  /// `idempotency`: a publish with an idempotency key seen within `ttl` is answered like the
  /// first one and not delivered again.
  bool idempotency_enabled = true;
  std::chrono::seconds idempotency_ttl{120};
  std::uint64_t idempotency_max_key_length = 128;
  /// `echo_control`: a V2 connection receives its own client events unless it connected with
  /// `echo_messages=false` (default_echo_messages when absent). V1 never does.
  bool echo_control_enabled = true;
  bool default_echo_messages = true;
};

struct Config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6001;  ///< 0 = pick a free port (tests)
  std::chrono::seconds activity_timeout{120};
  std::chrono::seconds pong_timeout{30};
  std::chrono::seconds user_authentication_timeout{3600};
  std::chrono::seconds handshake_timeout{10};    ///< HTTP request / WS upgrade deadline
  std::chrono::seconds close_timeout{5};         ///< close handshake deadline
  std::chrono::seconds shutdown_grace{5};        ///< graceful shutdown period
  std::chrono::seconds cache_ttl{3600};          ///< cache channel last-event lifetime
  std::uint64_t max_connections = 0;             ///< node-wide, 0 = unlimited
  std::uint32_t workers = 0;                     ///< 0 = one per core
  std::uint64_t websocket_max_payload_kb = 64;   ///< inbound message cap (close 1009 above)
  std::uint64_t send_queue_max_bytes = 1 << 20;  ///< per connection outbound budget
  std::uint64_t send_queue_max_messages = 1000;  ///< per connection outbound budget
  /// SO_SNDBUF of WebSocket sockets in KiB (the kernel doubles it); 0 = kernel autotuning.
  /// Bounds kernel memory per slow consumer so backpressure reaches the send queue budget.
  std::uint64_t send_socket_buffer_kb = 128;
  double http_request_limit_mb = 10;  ///< http_api.request_limit_in_mb (fractions allowed)
  /// The HTTP body limit in whole bytes: http_request_limit_mb * 1 MiB, rounded down.
  [[nodiscard]] std::uint64_t http_request_limit_bytes() const noexcept {
    return static_cast<std::uint64_t>(http_request_limit_mb * 1024.0 * 1024.0);
  }
  std::string cors_origin = "*";  ///< cors.origin: "*", or the first listed origin
  /// cors.origin as configured (a string or an array). Contains "*" when any origin is allowed.
  /// With several origins a server should echo the request's Origin when it is listed here.
  std::vector<std::string> cors_origins{"*"};
  /// cors.credentials: Access-Control-Allow-Credentials for a listed origin (never with "*",
  /// as Sockudo).
  bool cors_credentials = true;
  /// cors.methods / cors.allowed_headers: the preflight's Access-Control-Allow-Methods /
  /// -Headers (HTTP tokens, checked at load).
  std::vector<std::string> cors_methods{"GET", "POST", "OPTIONS"};
  std::vector<std::string> cors_allowed_headers{"Content-Type", "Authorization",
                                                "X-Requested-With"};
  std::string path_prefix;  ///< optional WebSocket route prefix, "" = none
  bool metrics_enabled = true;
  std::string metrics_host = "127.0.0.1";
  std::uint16_t metrics_port = 9601;
  /// metrics.prometheus.prefix: replaces the `sockudo_` of Sockudo's metric names.
  std::string metrics_prefix = "sockudo_";
  std::string log_level = "info";
  IpLimits ip_limits;  ///< `rate_limiter` and `max_connections_per_ip`
  /// Limits of apps that leave a value unset: the AppLimits defaults, overridden by the
  /// server-level `event_limits`, `presence` and `channel_limits.max_name_length` sections.
  AppLimits default_limits;
  WebhookSettings webhooks;  ///< top-level `webhooks`
  AdapterSettings adapter;   ///< top-level `adapter` (env ADAPTER_DRIVER, REDIS_URL)
  AppManagerSettings app_manager;  ///< `app_manager` driver and cache, `database.*`
  /// The apps of the config file (driver "array"); empty with a database driver.
  std::vector<App> apps;
  bool embedded_default = false;  ///< true when no --config was given
  SslConfig ssl;                  ///< `ssl` (TLS on the main port)
  V2Settings v2;                  ///< `connection_recovery`, `idempotency`, `echo_control`
};

/// Thrown for any invalid configuration; what() names the key and the problem.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Environment lookup, injectable for tests. Returns nullopt when the variable is unset.
using EnvLookup = std::optional<std::string> (*)(std::string_view name);
std::optional<std::string> process_env(std::string_view name);

/// Parses a config JSON text (after ${VAR} / ${VAR:-default} interpolation), then applies env
/// overrides (Sockudo's variable names and Soketi's SOKETI_* aliases, README "Environment
/// variables"; the table is in config_env.cpp). Unknown keys are reported through `warnings`
/// (one line each), invalid values throw ConfigError naming the key. Numbers may be JSON numbers
/// or numeric strings.
///
/// Details:
/// - Key paths in messages are written `app_manager.array.apps[0].policy.limits.max_connections`.
/// - Integers must be non-negative and whole (`5`, `5.0`, `"5"`); `*_in_kb` limits may be
///   fractions (`0.5`, `"0.001"`). Booleans are `true`/`false` or the strings "true"/"false".
///   Durations are whole seconds. `null` means "unset". A duplicated key warns; the last wins.
/// - Per-app settings may sit in `policy.limits` / `policy.features` /
///   `policy.channels.allowed_origins` or directly on the app object (Sockudo's flat keys);
///   `policy` wins when both are given. Unset limits come from `Config::default_limits`.
/// - Known Sockudo options this server does not implement (database, queue, push, history, ...,
///   down to single keys such as presence.ungraceful_timeout_seconds) are ignored and named, by
///   path, in one warning "Sockudo options not supported by this server, ignored: a, b.c, ...".
///   Sockudo's shipped config/config.toml and config/config.json load with only that warning.
/// - `message_rate_limit` is a number (per second) or Sockudo's object {enabled (false),
///   max_attempts (60), decay_seconds (60), terminate_on_limit (false)}; disabled or 0 attempts
///   means no limit. The app limit `terminate_on_limit` closes on the client-event limit.
/// - Sockudo's aliases: websocket.max_messages / max_bytes for send_queue.* (send_queue wins),
///   webhooks.batching.size, webhooks.retry.initial_backoff_ms / max_backoff_ms.
/// - Webhooks (docs/WEBHOOKS.md): top-level `webhooks` {batching {enabled, duration (ms),
///   max_batch_size}, max_queue_size, max_queue_bytes, max_concurrent_requests,
///   request_timeout_ms, vacate_delay_ms, retry {enabled, max_attempts, max_elapsed_time_ms,
///   initial_interval_ms, max_interval_ms}}; per app `policy.webhooks` or flat `webhooks`: an
///   array of {url, event_types, headers, filter {channel_prefix, channel_suffix,
///   channel_pattern, channel_namespace(s), channel_name_starts_with/ends_with},
///   request_timeout_ms, retry}. A url must be http:// or https://; unknown event types, an
///   invalid channel_pattern and headers that would replace the signed ones warn.
/// - Env overrides (env wins over the file): an empty variable counts as unset; for each setting
///   Sockudo's name wins over Soketi's alias; an invalid value throws ConfigError "<VARIABLE>:
///   ..."; unknown variables are ignored. SOCKUDO_DEFAULT_APP_* (SOKETI_DEFAULT_APP_*) change
///   the first app; with no app configured they create it (starting from the default app
///   below). The server-level limit variables (SOKETI_EVENT_MAX_*, ...) are applied with the
///   `event_limits` / `presence` / `channel_limits` sections, before the apps inherit them.
/// - With no app at all, the default app is added: app-id / app-key / app-secret, client
///   messages enabled, user authentication disabled.
/// - Apps need a non-empty id, key and secret; ids and keys must be unique. A numeric `id`
///   (12345) is taken as its decimal text.
/// - Ranges: port / metrics.port 0..65535; activity, pong, handshake, close and
///   user_authentication timeouts >= 1 s; send_queue sizes, websocket_max_payload_kb and
///   http_api.request_limit_in_mb 0.001..4096 (fractions allowed); decay seconds >= 1;
///   quota_close_code 4004 or 4100.
/// - `debug: true` means log_level "debug" unless log_level is given ("trace" -> "debug",
///   "warning" -> "warn"). `mode` is accepted and has no effect. `path_prefix` "/" means none;
///   otherwise it gets one leading "/" and no trailing "/".
/// - Cache-channel TTL: `cache.ttl`, or Sockudo's `channel_limits.cache_ttl` (cache.ttl wins).
/// `env` may be nullptr (no environment).
Config parse_config(std::string_view json_text, EnvLookup env, std::vector<std::string>& warnings);

/// As parse_config, for a TOML document (Sockudo's default format, config/config.toml): ${VAR}
/// interpolation runs on the raw TOML text exactly as for JSON, then the document is converted
/// to the equivalent JSON (tables are objects, integers stay integers, floats floats) and read
/// by the same reader, so both formats have the same keys, values, messages and env overrides.
/// A TOML syntax error throws ConfigError "config: invalid TOML ... at line L, column C: ...";
/// nan/inf floats are refused.
Config parse_config_toml(std::string_view toml_text, EnvLookup env,
                         std::vector<std::string>& warnings);

enum class ConfigFormat : std::uint8_t { json, toml };

/// The format of a config file by its name: ".toml" (any case) is TOML, anything else JSON
/// (Sockudo's rule, which also reads every other name as JSON).
ConfigFormat config_format_of(std::string_view path);

/// Reads FILE and calls parse_config_toml or parse_config by config_format_of(path). Throws
/// ConfigError when the file cannot be read.
Config load_config_file(const std::string& path, EnvLookup env, std::vector<std::string>& warnings);

/// The embedded default (app-id / app-key / app-secret on 127.0.0.1:6001), env overrides applied.
Config default_config(EnvLookup env, std::vector<std::string>& warnings);

/// One app object in Sockudo's shape (what an `app_manager.array.apps` entry holds; the
/// database app managers make one from a row), resolved against `base`'s default limits and
/// webhook retry exactly like an app of the config file. Throws ConfigError "<path>...: ...";
/// unknown and unsupported keys are reported through `warnings`.
App parse_app_json(std::string_view json, const Config& base, std::string_view path,
                   std::vector<std::string>& warnings);

/// `${VAR}` and `${VAR:-default}` interpolation. An unset ${VAR} without default throws
/// ConfigError naming the variable.
///
/// Runs on the raw text before JSON parsing, and values are inserted as-is (no JSON escaping):
/// `"port": ${PORT:-6001}` yields a number, and a value containing `"` or `\` inside a JSON
/// string breaks the JSON (the parse error then reports it). `${VAR:-default}` uses the default
/// when VAR is unset or empty (shell semantics); the default cannot contain `}`. VAR must match
/// [A-Za-z_][A-Za-z0-9_]*; anything else after `${` is left untouched, and `$${` writes a literal
/// `${`.
std::string interpolate_env(std::string_view text, EnvLookup env);

}  // namespace server
