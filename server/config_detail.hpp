#pragma once
// Internal to the config loader (the server_config library): what its source files share. Not
// for use outside server/config_*.cpp; the public API is server/config.hpp.
//
// The files, one job each (parse_config in config_load.cpp runs the stages: interpolate_env,
// for TOML toml_to_json, JSON parse, read_document, apply_env_overrides, the default app, the
// final checks):
//   config_toml.cpp      TOML text -> the equivalent JSON text (toml++)
//   config_env.cpp       ${VAR} interpolation of the raw text; env overrides (HOST, PORT, ...)
//   config_reader.cpp    the document walk: top-level keys and server-wide sections
//   config_apps.cpp      `app_manager` and each app: limits, features, origins, precedence
//   config_webhooks.cpp  top-level `webhooks` and each app's webhook list
//   config_urls.cpp      redis:// and webhook http(s):// URL parsing
//   config_values.cpp    key paths, error messages, scalar conversions, the object walker
//   config_load.cpp      the pipeline, the embedded default, the default app, final checks
//
// Conventions: `path` is the key path used in messages (`app_manager.array.apps[0].key`); every
// invalid value throws ConfigError "<path>: <problem>"; warnings are appended, one line each,
// except the Sockudo options this server does not implement: they are collected and reported
// in one line at the end of read_document.

#include <simdjson.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.hpp"

namespace server::config_detail {

namespace dom = simdjson::dom;

inline constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

// ================================================================================================
// Key paths, messages, text (config_values.cpp)
// ================================================================================================

/// `parent.key`, or `key` when parent is empty (the root).
std::string join_path(std::string_view parent, std::string_view key);
/// `parent[index]`.
std::string index_path(std::string_view parent, std::size_t index);
/// The value as JSON text, shortened to at most 60 characters, for messages.
std::string show(dom::element value);
/// `"text"` (no escaping), for messages.
std::string in_quotes(std::string_view text);
/// Throws ConfigError "<path>: <problem>".
[[noreturn]] void fail(std::string_view path, std::string_view problem);
/// Throws ConfigError "<path>: expected <expected>, got <got>".
[[noreturn]] void fail_value(std::string_view path, std::string_view expected,
                             std::string_view got);

/// `s` without leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view s);
/// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);
/// True when `s` is a non-empty HTTP token (RFC 9110 §5.6.2): a method or a header name.
[[nodiscard]] bool is_http_token(std::string_view s);
/// True when `prefix` can start a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*; "" too).
[[nodiscard]] bool is_metric_prefix(std::string_view prefix);
/// A whole non-negative number written as text ("12", " 5.0 ", "1e3"; trimmed), or nullopt.
std::optional<std::uint64_t> parse_uint_text(std::string_view text);
/// "a non-negative integer", "an integer >= MIN" or "an integer in MIN..MAX" (max u64_max means
/// no upper bound).
std::string range_text(std::uint64_t min, std::uint64_t max);

/// True if `key` is one of `list`.
template <std::size_t N>
bool is_one_of(std::string_view key, const std::string_view (&list)[N]) {
  for (const std::string_view item : list) {
    if (item == key) {
      return true;
    }
  }
  return false;
}

// ================================================================================================
// JSON scalar conversions (config_values.cpp). Each throws ConfigError naming `path`.
// ================================================================================================

/// A JSON integer, whole double or numeric string in [min, max].
std::uint64_t to_uint(dom::element value, std::string_view path, std::uint64_t min = 0,
                      std::uint64_t max = u64_max);
/// A non-negative JSON number (fractions allowed) or numeric string.
double to_number(dom::element value, std::string_view path);
/// `true` / `false`, or the strings "true" / "false" (any case).
bool to_bool(dom::element value, std::string_view path);
/// A JSON string.
std::string to_string(dom::element value, std::string_view path);
/// A non-empty JSON string.
std::string to_nonempty_string(dom::element value, std::string_view path);
/// An array of strings, or one string holding a comma-separated list (items trimmed, empty
/// items dropped).
std::vector<std::string> to_string_list(dom::element value, std::string_view path);
/// Whole seconds in [min, 10^9] (bounded so that a time_point plus it cannot overflow).
std::chrono::seconds to_seconds(dom::element value, std::string_view path, std::uint64_t min);
/// 0..65535.
std::uint16_t to_port(dom::element value, std::string_view path);
/// Whole milliseconds in [min_ms, max_ms].
std::chrono::milliseconds to_millis(dom::element value, std::string_view path, std::uint64_t min_ms,
                                    std::uint64_t max_ms);

// ================================================================================================
// The object walker (config_values.cpp)
// ================================================================================================

/// Visits the fields of JSON objects and collects the warnings of one parse_config call.
class FieldWalker {
 public:
  /// Called for each field; returns false for a key it does not know.
  using FieldFn =
      std::function<bool(std::string_view key, dom::element value, const std::string& path)>;

  explicit FieldWalker(std::vector<std::string>& warnings) : warnings_(warnings) {}

  void warn(std::string message);
  /// "<path>: unknown key, ignored".
  void warn_unknown(const std::string& path);
  /// Notes `path` as a Sockudo option this server does not implement (the whole subtree when it
  /// is a section). Reported by report_unsupported, all in one warning.
  void warn_unsupported(const std::string& path);
  /// Appends the one warning "Sockudo options not supported by this server, ignored: <path>,
  /// <path>, ..." (in the order noted) if any were noted, and forgets them.
  void report_unsupported();

  /// Calls `fn` for each field of the object `value` (throws if it is not an object; `path` ""
  /// is reported as "config"). A null value means "unset" and is skipped; a repeated key warns
  /// and is visited again (the last one wins); a key `fn` rejects warns as unknown.
  void for_each_field(dom::element value, std::string_view path, const FieldFn& fn);

 private:
  std::vector<std::string>& warnings_;
  std::vector<std::string> unsupported_;
};

// ================================================================================================
// Intermediate, optional-valued pieces: read first, resolved once the whole document is read
// ================================================================================================

/// Per-app limits as read (`policy.limits`, the flat app keys, or the server-wide sections).
struct LimitsIn {
  std::optional<std::uint64_t> max_connections;
  std::optional<std::uint64_t> max_client_events_per_second;
  std::optional<std::uint64_t> client_event_decay_seconds;
  std::optional<bool> terminate_on_client_event_limit;
  std::optional<std::uint64_t> max_presence_members_per_channel;
  std::optional<double> max_presence_member_size_in_kb;
  std::optional<std::uint64_t> max_channel_name_length;
  std::optional<std::uint64_t> max_event_name_length;
  std::optional<double> max_event_payload_in_kb;
  std::optional<std::uint64_t> max_event_channels_at_once;
  std::optional<std::uint64_t> max_event_batch_size;
  std::optional<std::uint64_t> max_channels_per_connection;
  std::optional<int> quota_close_code;  ///< not a limit, but accepted here too
  std::optional<std::uint64_t> max_backend_events_per_second;
  std::optional<std::uint64_t> max_read_requests_per_second;
  /// Set together (by the number or the object form of `message_rate_limit`).
  std::optional<std::uint64_t> message_rate_limit;
  std::optional<std::uint64_t> message_rate_window_seconds;
  std::optional<bool> message_rate_terminate;

  /// Overwrites the fields of `out` that are set here (quota_close_code is not in AppLimits).
  void apply_to(AppLimits& out) const;  // config_apps.cpp
};

/// Per-app feature switches as read (`policy.features` or the flat app keys).
struct FeaturesIn {
  std::optional<bool> enable_client_messages;
  std::optional<bool> enable_user_authentication;
  std::optional<bool> enable_watchlist_events;

  /// Overwrites the switches of `out` that are set here.
  void apply_to(App& out) const;  // config_apps.cpp
};

/// Webhook retry settings as read; unset fields inherit (per webhook: from the global retry).
struct RetryIn {
  std::optional<bool> enabled;
  std::optional<std::uint64_t> max_attempts;
  std::optional<std::chrono::milliseconds> initial_interval;
  std::optional<std::chrono::milliseconds> max_interval;
  std::optional<std::chrono::milliseconds> max_elapsed_time;

  /// Overwrites the fields of `out` that are set here.
  void apply_to(WebhookRetry& out) const;  // config_webhooks.cpp
};

/// One webhook as read: everything but the retry, which is resolved against the global one.
struct WebhookIn {
  WebhookTarget target;
  std::optional<RetryIn> retry;
};

/// One app as read, with each source of its settings kept apart until resolve_app.
struct AppIn {
  std::string path;  ///< "app_manager.array.apps[N]"
  App app;           ///< id/key/secret/enabled as read; limits and features resolved later
  LimitsIn flat_limits;
  LimitsIn policy_limits;
  FeaturesIn flat_features;
  FeaturesIn policy_features;
  std::optional<std::vector<std::string>> flat_origins;
  std::optional<std::vector<std::string>> policy_origins;
  std::optional<std::vector<WebhookIn>> flat_webhooks;
  std::optional<std::vector<WebhookIn>> policy_webhooks;
};

// ================================================================================================
// Section readers
// ================================================================================================

/// Reads the whole document `root` (config_reader.cpp): every known key, warnings for the rest,
/// then the precedence rules. The server-level limit variables of `env` (apply_env_limits) are
/// applied before the apps inherit the defaults; the other env overrides and the final checks
/// are not applied yet.
Config read_document(dom::element root, EnvLookup env, std::vector<std::string>& warnings);

/// `app_manager` {driver, array {apps}, cache {ttl, negative_ttl}, max_apps, lookup_timeout_ms}
/// (config_apps.cpp): appends each app to `apps`, the rest goes to `out`.
void read_app_manager(FieldWalker& walker, dom::element value, std::string_view path,
                      std::vector<AppIn>& apps, AppManagerSettings& out);
/// The app manager driver `name` means ("array", "postgres" or "mysql"; Sockudo's aliases
/// memory, pgsql, postgresql; any case), or nullopt.
std::optional<std::string> app_manager_driver_name(std::string_view name);
inline constexpr std::string_view app_manager_drivers_text =
    "\"array\"/\"memory\" (apps from the config file), \"postgres\"/\"pgsql\" or \"mysql\"";
/// A table name the app managers put into SQL text: letters, digits and '_', optionally
/// schema.table, at most 128 characters (config_apps.cpp).
bool is_table_name(std::string_view name);
inline constexpr std::string_view table_name_text =
    "letters, digits and _ (optionally schema.table)";
std::string to_table_name(dom::element value, std::string_view path);
/// `database` {postgres {...}, mysql {...}} (config_apps.cpp); the other databases warn as
/// unsupported.
void read_database(FieldWalker& walker, dom::element value, std::string_view path,
                   AppManagerSettings& out);
/// The final App of `in` (config_apps.cpp). Precedence, lowest first: `defaults` < flat app keys
/// < policy.*; webhook retries inherit `global_retry`. Moves out of `in`.
App resolve_app(AppIn& in, const AppLimits& defaults, const WebhookRetry& global_retry);

/// Top-level `webhooks` (config_webhooks.cpp): the sender settings go to `out`, the `retry`
/// section to `retry` (applied to out.retry once everything is read).
void read_webhook_settings(FieldWalker& walker, dom::element value, std::string_view path,
                           WebhookSettings& out, std::optional<RetryIn>& retry);
/// An app's `webhooks` / `policy.webhooks` (config_webhooks.cpp): an array of webhook objects.
/// Entries with only an AWS Lambda target are skipped with a warning.
std::vector<WebhookIn> read_webhook_list(FieldWalker& walker, dom::element value,
                                         const std::string& path);
/// The targets of `list`, each retry override completed from `global_retry`. Moves out of
/// `list` (config_webhooks.cpp).
std::vector<WebhookTarget> resolve_webhooks(std::vector<WebhookIn>& list,
                                            const WebhookRetry& global_retry);

/// Splits an http:// or https:// URL into out.tls/host/port/target and sets out.url
/// (config_urls.cpp). Returns "" on success or the problem; `out` is then partly written. No
/// user info (credentials belong in `headers`), no whitespace or control bytes.
std::string parse_webhook_url(std::string_view url, WebhookTarget& out);

/// `url` as redis://[user:password@]host:port/db (user and password percent-encoded, an IPv6
/// host in brackets); parse_redis_url reads it back unchanged (config_urls.cpp).
std::string format_redis_url(const RedisUrl& url);

// ================================================================================================
// TOML (config_toml.cpp)
// ================================================================================================

/// The TOML document `toml_text` as JSON text with the same structure: tables become objects,
/// integers stay integers, floats stay floats (`5.0`), strings are JSON-escaped, dates and times
/// become strings. Throws ConfigError naming the line and column of a TOML syntax error, or the
/// key of a nan/inf float.
std::string toml_to_json(std::string_view toml_text);

// ================================================================================================
// Environment and defaults
// ================================================================================================

/// One environment variable setting of the table in config_env.cpp (README "Environment
/// variables" lists the same rows).
struct EnvSettingInfo {
  std::string_view names[2];    ///< Sockudo's names ("" = none); the first one set wins
  std::string_view aliases[2];  ///< Soketi's names, used when no Sockudo name is set
  std::string_view key;         ///< the config key it sets
};
/// Every row of the table, in the order they are applied.
std::vector<EnvSettingInfo> env_settings();

/// The server-level limit variables (Soketi's SOKETI_EVENT_MAX_*, SOKETI_PRESENCE_MAX_*,
/// SOKETI_CHANNEL_LIMITS_MAX_NAME_LENGTH): written into `server_limits`, which the apps then
/// inherit like the `event_limits` / `presence` / `channel_limits` sections (config_env.cpp).
void apply_env_limits(LimitsIn& server_limits, EnvLookup env);

/// Applies the other env overrides documented at parse_config (config_env.cpp). An empty
/// variable counts as unset; a malformed value throws ConfigError naming the variable.
void apply_env_overrides(Config& config, EnvLookup env);

/// The default app (app-id / app-key / app-secret, client messages on) with `limits`
/// (config_load.cpp).
App make_default_app(const AppLimits& limits);

}  // namespace server::config_detail
