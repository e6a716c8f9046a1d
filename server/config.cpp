#include "server/config.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <sstream>
#include <unordered_set>
#include <utility>

namespace server {

bool WebhookFilter::pattern_numbers_bounded(std::string_view pattern) noexcept {
  const auto digits_at = [&](std::size_t i) {
    std::size_t n = 0;
    while (i + n < pattern.size() && pattern[i + n] >= '0' && pattern[i + n] <= '9') ++n;
    return n;
  };
  bool in_braces = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (digits_at(i + 1) > max_pattern_number_digits) return false;
      ++i;  // the escaped character
    } else if (c == '{' || (c == ',' && in_braces)) {
      in_braces = true;
      if (digits_at(i + 1) > max_pattern_number_digits) return false;
    } else if (c == '}') {
      in_braces = false;
    }
  }
  return true;
}
namespace {

namespace dom = simdjson::dom;

// The configuration used when no --config is given. Env overrides still apply.
constexpr std::string_view embedded_default_json = R"({
  "host": "127.0.0.1",
  "port": 6001,
  "app_manager": {
    "driver": "array",
    "array": {
      "apps": [
        {
          "id": "app-id",
          "key": "app-key",
          "secret": "app-secret",
          "enabled": true,
          "policy": {
            "features": {"enable_client_messages": true, "enable_user_authentication": false}
          }
        }
      ]
    }
  }
})";

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

// Sockudo options that this server does not implement: accepted with one warning each so that
// a Sockudo config file loads unchanged.
constexpr std::string_view unsupported_top_level[] = {
    "adapter", "cleanup", "database",     "database_pooling", "instance",
    "logging", "queue",   "rate_limiter", "unix_socket"};
constexpr std::string_view unsupported_app_keys[] = {"channel_delta_compression",
                                                     "enable_delta_compression"};

// Webhook event types this server produces (protocol.md §10.2).
constexpr std::string_view webhook_event_types[] = {
    "channel_occupied", "channel_vacated", "member_added",      "member_removed",
    "client_event",     "cache_miss",      "subscription_count"};
// Headers the sender sets itself: a configured value would break the signature check or HTTP.
constexpr std::string_view reserved_webhook_headers[] = {
    "content-type", "content-length", "x-pusher-key",     "x-pusher-signature",
    "host",         "connection",     "transfer-encoding"};

// ================================================================================================
// Low-level helpers: paths, messages, scalar conversions
// ================================================================================================

std::string join_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) {
    out += '.';
  }
  out += key;
  return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

// The offending value as JSON text, shortened for the message.
std::string show(dom::element value) {
  std::string text = simdjson::minify(value);
  constexpr std::size_t max_chars = 60;
  if (text.size() > max_chars) {
    text.resize(max_chars - 3);
    text += "...";
  }
  return text;
}

std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

[[noreturn]] void fail(std::string_view path, std::string_view problem) {
  throw ConfigError(std::string(path) + ": " + std::string(problem));
}

[[noreturn]] void fail_value(std::string_view path, std::string_view expected,
                             std::string_view got) {
  fail(path, "expected " + std::string(expected) + ", got " + std::string(got));
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

// A finite number written in full, e.g. "12", "0.5", "1e3". No sign prefix "+", no hex.
std::optional<double> parse_number_text(std::string_view text) {
  text = trim(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// A whole, non-negative double that fits in 64 bits.
std::optional<std::uint64_t> whole(double value) {
  // 2^64 as a double; every double below it converts exactly.
  constexpr double two_pow_64 = 18446744073709551616.0;
  if (!(value >= 0) || value >= two_pow_64 || std::floor(value) != value) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(value);
}

std::optional<std::uint64_t> parse_uint_text(std::string_view text) {
  text = trim(text);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!text.empty() && ec == std::errc{} && end == text.data() + text.size()) {
    return value;
  }
  if (const auto number = parse_number_text(text)) {
    return whole(*number);  // "5.0", "1e3"
  }
  return std::nullopt;
}

std::string range_text(std::uint64_t min, std::uint64_t max) {
  if (max == u64_max) {
    return min == 0 ? "a non-negative integer" : "an integer >= " + std::to_string(min);
  }
  return "an integer in " + std::to_string(min) + ".." + std::to_string(max);
}

// A JSON integer (or whole double, or numeric string) in [min, max].
std::uint64_t to_uint(dom::element value, std::string_view path, std::uint64_t min = 0,
                      std::uint64_t max = u64_max) {
  std::optional<std::uint64_t> result;
  switch (value.type()) {
    case dom::element_type::UINT64:
      result = value.get_uint64().value_unsafe();
      break;
    case dom::element_type::INT64: {
      const std::int64_t v = value.get_int64().value_unsafe();
      if (v >= 0) {
        result = static_cast<std::uint64_t>(v);
      }
      break;
    }
    case dom::element_type::DOUBLE:
      result = whole(value.get_double().value_unsafe());
      break;
    case dom::element_type::STRING:
      result = parse_uint_text(value.get_string().value_unsafe());
      break;
    default:
      break;
  }
  if (!result) {
    fail_value(path, "a non-negative integer", show(value));
  }
  if (*result < min || *result > max) {
    fail_value(path, range_text(min, max), show(value));
  }
  return *result;
}

// A non-negative JSON number (fractions allowed) or numeric string.
double to_number(dom::element value, std::string_view path) {
  std::optional<double> result;
  switch (value.type()) {
    case dom::element_type::UINT64:
      result = static_cast<double>(value.get_uint64().value_unsafe());
      break;
    case dom::element_type::INT64:
      result = static_cast<double>(value.get_int64().value_unsafe());
      break;
    case dom::element_type::DOUBLE:
      result = value.get_double().value_unsafe();
      break;
    case dom::element_type::STRING:
      result = parse_number_text(value.get_string().value_unsafe());
      break;
    default:
      break;
  }
  if (!result || !(*result >= 0)) {
    fail_value(path, "a non-negative number", show(value));
  }
  return *result;
}

bool to_bool(dom::element value, std::string_view path) {
  if (value.type() == dom::element_type::BOOL) {
    return value.get_bool().value_unsafe();
  }
  if (value.type() == dom::element_type::STRING) {
    const std::string_view text = trim(value.get_string().value_unsafe());
    if (iequals(text, "true")) {
      return true;
    }
    if (iequals(text, "false")) {
      return false;
    }
  }
  fail_value(path, "true or false", show(value));
}

std::string to_string(dom::element value, std::string_view path) {
  if (value.type() != dom::element_type::STRING) {
    fail_value(path, "a string", show(value));
  }
  return std::string(value.get_string().value_unsafe());
}

std::string to_nonempty_string(dom::element value, std::string_view path) {
  std::string text = to_string(value, path);
  if (text.empty()) {
    fail_value(path, "a non-empty string", show(value));
  }
  return text;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    if (!item.empty()) {
      out.emplace_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return out;
}

// An array of strings, or one string holding a comma-separated list.
std::vector<std::string> to_string_list(dom::element value, std::string_view path) {
  if (value.type() == dom::element_type::STRING) {
    return split_list(value.get_string().value_unsafe());
  }
  if (value.type() != dom::element_type::ARRAY) {
    fail_value(path, "an array of strings", show(value));
  }
  std::vector<std::string> out;
  std::size_t index = 0;
  for (const dom::element item : dom::array(value)) {
    out.push_back(to_string(item, index_path(path, index)));
    ++index;
  }
  return out;
}

std::chrono::seconds to_seconds(dom::element value, std::string_view path, std::uint64_t min) {
  // Bounded so that adding a duration to a time_point cannot overflow (~31 years).
  constexpr std::uint64_t max_seconds = 1'000'000'000;
  return std::chrono::seconds(static_cast<std::int64_t>(to_uint(value, path, min, max_seconds)));
}

std::uint16_t to_port(dom::element value, std::string_view path) {
  return static_cast<std::uint16_t>(to_uint(value, path, 0, 65535));
}

// A duration in whole milliseconds in [min_ms, max_ms].
std::chrono::milliseconds to_millis(dom::element value, std::string_view path, std::uint64_t min_ms,
                                    std::uint64_t max_ms) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(to_uint(value, path, min_ms, max_ms)));
}

// RFC 9110 token characters (header field names).
bool is_token(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    extra.find(c) != std::string_view::npos;
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Splits an http:// or https:// URL into the parts the sender needs. Returns "" on success or
// the problem. No user info (credentials belong in `headers`), no whitespace or control bytes.
std::string parse_webhook_url(std::string_view url, WebhookTarget& out) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return "contains whitespace or control characters";
    }
  }
  std::string_view rest;
  if (url.size() > 7 && iequals(url.substr(0, 7), "http://")) {
    out.tls = false;
    out.port = 80;
    rest = url.substr(7);
  } else if (url.size() > 8 && iequals(url.substr(0, 8), "https://")) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(8);
  } else {
    return "must start with http:// or https://";
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return "user info (user:password@) is not supported; put credentials in `headers`";
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return "unterminated IPv6 address";
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return "unexpected text after the IPv6 address";
      }
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    return "has no host";
  }
  if (!port.empty()) {
    const auto number = parse_uint_text(port);
    if (!number || *number < 1 || *number > 65535 || port.find('.') != std::string_view::npos) {
      return "port must be 1..65535";
    }
    out.port = static_cast<std::uint16_t>(*number);
  } else if (authority.back() == ':') {
    return "empty port";
  }
  if (const std::size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  out.host = std::string(host);
  out.target = target.empty()
                   ? "/"
                   : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
  out.url = std::string(url);
  return "";
}

int to_quota_close_code(dom::element value, std::string_view path) {
  const std::uint64_t code = to_uint(value, path);
  if (code != 4004 && code != 4100) {
    fail_value(path, "4004 or 4100", show(value));
  }
  return static_cast<int>(code);
}

std::optional<std::string> lookup(EnvLookup env, std::string_view name) {
  if (env == nullptr) {
    return std::nullopt;
  }
  auto value = env(name);
  if (value && value->empty()) {
    return std::nullopt;  // an empty variable counts as unset
  }
  return value;
}

// An env value parsed like a JSON numeric string, with the variable as the "path".
std::uint64_t env_uint(std::string_view name, const std::string& text, std::uint64_t min,
                       std::uint64_t max) {
  const auto value = parse_uint_text(text);
  if (!value) {
    fail_value(name, "a non-negative integer", in_quotes(text));
  }
  if (*value < min || *value > max) {
    fail_value(name, range_text(min, max), in_quotes(text));
  }
  return *value;
}

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

// "/" or "" -> "" (no prefix); otherwise one leading "/" and no trailing "/".
std::string normalize_path_prefix(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.pop_back();
  }
  if (!prefix.empty() && prefix.front() != '/') {
    prefix.insert(prefix.begin(), '/');
  }
  return prefix;
}

// ================================================================================================
// Intermediate, optional-valued pieces (resolved once everything is read)
// ================================================================================================

struct LimitsIn {
  std::optional<std::uint64_t> max_connections;
  std::optional<std::uint64_t> max_client_events_per_second;
  std::optional<std::uint64_t> client_event_decay_seconds;
  std::optional<std::uint64_t> max_presence_members_per_channel;
  std::optional<double> max_presence_member_size_in_kb;
  std::optional<std::uint64_t> max_channel_name_length;
  std::optional<std::uint64_t> max_event_name_length;
  std::optional<double> max_event_payload_in_kb;
  std::optional<std::uint64_t> max_event_channels_at_once;
  std::optional<std::uint64_t> max_event_batch_size;
  std::optional<std::uint64_t> max_channels_per_connection;
  std::optional<int> quota_close_code;  // not a limit, but accepted here too
  std::optional<std::uint64_t> max_backend_events_per_second;
  std::optional<std::uint64_t> max_read_requests_per_second;
  std::optional<std::uint64_t> message_rate_limit;

  void apply_to(AppLimits& out) const {
    const auto set = [](auto& field, const auto& value) {
      if (value) {
        field = *value;
      }
    };
    set(out.max_connections, max_connections);
    set(out.max_client_events_per_second, max_client_events_per_second);
    set(out.client_event_decay_seconds, client_event_decay_seconds);
    set(out.max_presence_members_per_channel, max_presence_members_per_channel);
    set(out.max_presence_member_size_in_kb, max_presence_member_size_in_kb);
    set(out.max_channel_name_length, max_channel_name_length);
    set(out.max_event_name_length, max_event_name_length);
    set(out.max_event_payload_in_kb, max_event_payload_in_kb);
    set(out.max_event_channels_at_once, max_event_channels_at_once);
    set(out.max_event_batch_size, max_event_batch_size);
    set(out.max_channels_per_connection, max_channels_per_connection);
    set(out.max_backend_events_per_second, max_backend_events_per_second);
    set(out.max_read_requests_per_second, max_read_requests_per_second);
    set(out.message_rate_limit, message_rate_limit);
  }
};

struct FeaturesIn {
  std::optional<bool> enable_client_messages;
  std::optional<bool> enable_user_authentication;
  std::optional<bool> enable_watchlist_events;

  void apply_to(App& out) const {
    if (enable_client_messages) {
      out.enable_client_messages = *enable_client_messages;
    }
    if (enable_user_authentication) {
      out.enable_user_authentication = *enable_user_authentication;
    }
    if (enable_watchlist_events) {
      out.enable_watchlist_events = *enable_watchlist_events;
    }
  }
};

// Reads one per-app limit key (shared by `policy.limits` and the flat app keys). Returns false
// for a key that is not a limit.
bool read_limit(std::string_view key, dom::element value, std::string_view path, LimitsIn& out) {
  const auto whole_limit = [&](std::optional<std::uint64_t>& field) {
    field = to_uint(value, path);
  };
  if (key == "max_connections") {
    whole_limit(out.max_connections);
  } else if (key == "max_client_events_per_second") {
    whole_limit(out.max_client_events_per_second);
  } else if (key == "client_event_decay_seconds" || key == "decay_seconds") {
    out.client_event_decay_seconds = to_uint(value, path, 1);
  } else if (key == "max_presence_members_per_channel") {
    whole_limit(out.max_presence_members_per_channel);
  } else if (key == "max_presence_member_size_in_kb") {
    out.max_presence_member_size_in_kb = to_number(value, path);
  } else if (key == "max_channel_name_length") {
    whole_limit(out.max_channel_name_length);
  } else if (key == "max_event_name_length") {
    whole_limit(out.max_event_name_length);
  } else if (key == "max_event_payload_in_kb") {
    out.max_event_payload_in_kb = to_number(value, path);
  } else if (key == "max_event_channels_at_once") {
    whole_limit(out.max_event_channels_at_once);
  } else if (key == "max_event_batch_size") {
    whole_limit(out.max_event_batch_size);
  } else if (key == "max_channels_per_connection") {
    whole_limit(out.max_channels_per_connection);
  } else if (key == "quota_close_code") {
    out.quota_close_code = to_quota_close_code(value, path);
  } else if (key == "max_backend_events_per_second") {
    whole_limit(out.max_backend_events_per_second);
  } else if (key == "max_read_requests_per_second") {
    whole_limit(out.max_read_requests_per_second);
  } else if (key == "message_rate_limit") {
    whole_limit(out.message_rate_limit);
  } else {
    return false;
  }
  return true;
}

bool read_feature(std::string_view key, dom::element value, std::string_view path,
                  FeaturesIn& out) {
  if (key == "enable_client_messages") {
    out.enable_client_messages = to_bool(value, path);
  } else if (key == "enable_user_authentication") {
    out.enable_user_authentication = to_bool(value, path);
  } else if (key == "enable_watchlist_events") {
    out.enable_watchlist_events = to_bool(value, path);
  } else {
    return false;
  }
  return true;
}

// Retry settings as read; unset fields inherit (per webhook: from the global retry).
struct RetryIn {
  std::optional<bool> enabled;
  std::optional<std::uint64_t> max_attempts;
  std::optional<std::chrono::milliseconds> initial_interval;
  std::optional<std::chrono::milliseconds> max_interval;
  std::optional<std::chrono::milliseconds> max_elapsed_time;

  void apply_to(WebhookRetry& out) const {
    if (enabled) {
      out.enabled = *enabled;
    }
    if (max_attempts) {
      out.max_attempts = *max_attempts;
    }
    if (initial_interval) {
      out.initial_interval = *initial_interval;
    }
    if (max_interval) {
      out.max_interval = *max_interval;
    }
    if (max_elapsed_time) {
      out.max_elapsed_time = *max_elapsed_time;
    }
  }
};

struct WebhookIn {
  WebhookTarget target;
  std::optional<RetryIn> retry;  // resolved against the global retry once everything is read
};

struct AppIn {
  std::string path;  // "app_manager.array.apps[N]"
  App app;           // id/key/secret/enabled as read; limits and features resolved later
  LimitsIn flat_limits;
  LimitsIn policy_limits;
  FeaturesIn flat_features;
  FeaturesIn policy_features;
  std::optional<std::vector<std::string>> flat_origins;
  std::optional<std::vector<std::string>> policy_origins;
  std::optional<std::vector<WebhookIn>> flat_webhooks;
  std::optional<std::vector<WebhookIn>> policy_webhooks;
};

App make_default_app(const AppLimits& limits) {
  App app;
  app.id = "app-id";
  app.key = "app-key";
  app.secret = "app-secret";
  app.enabled = true;
  app.limits = limits;
  app.enable_client_messages = true;
  app.enable_user_authentication = false;
  return app;
}

// ================================================================================================
// The document walker
// ================================================================================================

class Reader {
 public:
  explicit Reader(std::vector<std::string>& warnings) : warnings_(warnings) {}

  Config read(dom::element root) {
    read_root(root);
    resolve();
    return std::move(config_);
  }

 private:
  using FieldFn =
      std::function<bool(std::string_view key, dom::element value, const std::string& path)>;

  void warn(std::string message) { warnings_.push_back(std::move(message)); }
  void warn_unknown(const std::string& path) { warn(path + ": unknown key, ignored"); }
  void warn_unsupported(const std::string& path) {
    warn(path + ": Sockudo option not supported by this server, ignored");
  }

  // Visits each field of an object value. `fn` returns false for an unknown key (one warning).
  // A null value means "unset" and is skipped; a repeated key warns and the last one wins.
  void for_each_field(dom::element value, std::string_view path, const FieldFn& fn) {
    if (value.type() != dom::element_type::OBJECT) {
      fail_value(path.empty() ? std::string_view("config") : path, "an object", show(value));
    }
    std::unordered_set<std::string_view> seen;
    for (const dom::key_value_pair field : dom::object(value)) {
      const std::string field_path = join_path(path, field.key);
      if (!seen.insert(field.key).second) {
        warn(field_path + ": duplicate key, the last value wins");
      }
      if (field.value.is_null()) {
        continue;
      }
      if (!fn(field.key, field.value, field_path)) {
        warn_unknown(field_path);
      }
    }
  }

  // Visits an object whose every key is a known-but-unsupported option.
  void ignore_fields(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view, dom::element, const std::string& p) {
      warn_unsupported(p);
      return true;
    });
  }

  void read_root(dom::element root) {
    for_each_field(root, "", [this](std::string_view k, dom::element v, const std::string& p) {
      Config& c = config_;
      if (k == "host") {
        c.host = to_nonempty_string(v, p);
      } else if (k == "port") {
        c.port = to_port(v, p);
      } else if (k == "activity_timeout") {
        c.activity_timeout = to_seconds(v, p, 1);
      } else if (k == "pong_timeout") {
        c.pong_timeout = to_seconds(v, p, 1);
      } else if (k == "user_authentication_timeout") {
        c.user_authentication_timeout = to_seconds(v, p, 1);
      } else if (k == "handshake_timeout") {
        c.handshake_timeout = to_seconds(v, p, 1);
      } else if (k == "close_timeout") {
        c.close_timeout = to_seconds(v, p, 1);
      } else if (k == "shutdown_grace_period") {
        c.shutdown_grace = to_seconds(v, p, 0);
      } else if (k == "max_connections") {
        c.max_connections = to_uint(v, p);
      } else if (k == "workers") {
        c.workers = static_cast<std::uint32_t>(to_uint(v, p, 0, 4096));
      } else if (k == "websocket_max_payload_kb") {
        c.websocket_max_payload_kb = to_uint(v, p, 1, 1024 * 1024);
      } else if (k == "debug") {
        debug_ = to_bool(v, p);
      } else if (k == "mode") {
        (void)to_string(v, p);  // Sockudo's "production"/"development": no effect here
      } else if (k == "log_level") {
        log_level_ = read_log_level(v, p);
      } else if (k == "path_prefix") {
        c.path_prefix = normalize_path_prefix(to_string(v, p));
      } else if (k == "send_queue") {
        read_send_queue(v, p);
      } else if (k == "cache") {
        read_cache(v, p);
      } else if (k == "channel_limits") {
        read_channel_limits(v, p);
      } else if (k == "event_limits") {
        read_event_limits(v, p);
      } else if (k == "presence") {
        read_presence_limits(v, p);
      } else if (k == "http_api") {
        read_http_api(v, p);
      } else if (k == "cors") {
        read_cors(v, p);
      } else if (k == "metrics") {
        read_metrics(v, p);
      } else if (k == "app_manager") {
        read_app_manager(v, p);
      } else if (k == "webhooks") {
        read_webhook_settings(v, p);
      } else if (k == "rate_limiter") {
        read_rate_limiter(v, p);
      } else if (k == "max_connections_per_ip") {
        c.ip_limits.max_connections_per_ip = to_uint(v, p);
      } else if (k == "ssl") {
        read_ssl(v, p);
      } else if (k == "adapter") {  // before the unsupported list, which still names it
        read_adapter(v, p);
      } else if (is_one_of(k, unsupported_top_level)) {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  template <std::size_t N>
  static bool is_one_of(std::string_view key, const std::string_view (&list)[N]) {
    for (const std::string_view item : list) {
      if (item == key) {
        return true;
      }
    }
    return false;
  }

  static std::string read_log_level(dom::element v, std::string_view p) {
    const std::string level = to_string(v, p);
    if (iequals(level, "trace") || iequals(level, "debug")) {
      return "debug";
    }
    if (iequals(level, "info")) {
      return "info";
    }
    if (iequals(level, "warn") || iequals(level, "warning")) {
      return "warn";
    }
    if (iequals(level, "error")) {
      return "error";
    }
    fail_value(p, "one of \"debug\", \"info\", \"warn\", \"error\"", show(v));
  }

  // Sockudo's `rate_limiter`: the per-IP WebSocket connect rate (this server keeps counters in
  // memory, per node; `driver` and `redis` are accepted and ignored).
  void read_rate_limiter(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      IpLimits& ip = config_.ip_limits;
      if (k == "enabled") {
        ip.rate_limit_enabled = to_bool(v, p);
      } else if (k == "websocket_rate_limit") {
        for_each_field(v, p, [&ip](std::string_view k2, dom::element v2, const std::string& p2) {
          if (k2 == "max_requests") {
            ip.connects_per_window = to_uint(v2, p2, 1);
          } else if (k2 == "window_seconds") {
            ip.connect_window = to_seconds(v2, p2, 1);
          } else if (k2 == "identifier" || k2 == "trust_hops") {
            return true;  // Sockudo bookkeeping; the peer address is the identifier here
          } else {
            return false;
          }
          return true;
        });
      } else if (k == "driver" || k == "redis" || k == "api_rate_limit") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_send_queue(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_bytes") {
        config_.send_queue_max_bytes = to_uint(v, p, 1);
      } else if (k == "max_messages") {
        config_.send_queue_max_messages = to_uint(v, p, 1);
      } else if (k == "socket_buffer_kb") {
        config_.send_socket_buffer_kb = to_uint(v, p, 0, 64 * 1024);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_cache(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "ttl") {
        cache_ttl_ = to_seconds(v, p, 0);
      } else if (k == "driver" || k == "redis" || k == "memory") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_channel_limits(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_name_length") {
        server_limits_.max_channel_name_length = to_uint(v, p);
      } else if (k == "cache_ttl") {
        channel_cache_ttl_ = to_seconds(v, p, 0);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_event_limits(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_channels_at_once") {
        server_limits_.max_event_channels_at_once = to_uint(v, p);
      } else if (k == "max_name_length") {
        server_limits_.max_event_name_length = to_uint(v, p);
      } else if (k == "max_payload_in_kb") {
        server_limits_.max_event_payload_in_kb = to_number(v, p);
      } else if (k == "max_batch_size") {
        server_limits_.max_event_batch_size = to_uint(v, p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_presence_limits(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "max_members_per_channel") {
        server_limits_.max_presence_members_per_channel = to_uint(v, p);
      } else if (k == "max_member_size_in_kb") {
        server_limits_.max_presence_member_size_in_kb = to_number(v, p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_http_api(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "request_limit_in_mb") {
        config_.http_request_limit_mb = to_uint(v, p, 1, 4096);
      } else if (k == "accept_traffic") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_cors(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "origin") {
        std::vector<std::string> origins = to_string_list(v, p);
        if (origins.empty()) {
          origins.emplace_back("*");
        }
        const bool any = std::find(origins.begin(), origins.end(), "*") != origins.end();
        config_.cors_origin = any ? "*" : origins.front();
        config_.cors_origins = std::move(origins);
      } else if (k == "credentials" || k == "methods" || k == "allowed_headers") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  // ---- webhooks -------------------------------------------------------------------------------

  // Top-level `webhooks`: the sender's settings (batching, queue bounds, timeouts, retries).
  void read_webhook_settings(dom::element value, std::string_view path) {
    WebhookSettings& w = config_.webhooks;
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "batching") {
        for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
          if (k2 == "enabled") {
            w.batching_enabled = to_bool(v2, p2);
          } else if (k2 == "duration") {
            w.batching_duration = to_millis(v2, p2, 0, 60'000);
          } else if (k2 == "max_batch_size") {
            w.max_batch_size = to_uint(v2, p2, 1, 10'000);
          } else {
            return false;
          }
          return true;
        });
      } else if (k == "max_queue_size") {
        w.max_queue_size = to_uint(v, p, 1, 100'000'000);
      } else if (k == "max_queue_bytes") {
        w.max_queue_bytes = to_uint(v, p, 1024);
      } else if (k == "max_concurrent_requests") {
        w.max_concurrent_requests = to_uint(v, p, 1, 10'000);
      } else if (k == "request_timeout_ms") {
        w.request_timeout = to_millis(v, p, 1, 3'600'000);
      } else if (k == "vacate_delay_ms") {
        w.vacate_delay = to_millis(v, p, 0, 3'600'000);
      } else if (k == "retry") {
        webhook_retry_ = read_retry(v, p);
      } else {
        return false;
      }
      return true;
    });
  }

  RetryIn read_retry(dom::element value, std::string_view path) {
    RetryIn r;
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "enabled") {
        r.enabled = to_bool(v, p);
      } else if (k == "max_attempts") {
        r.max_attempts = to_uint(v, p);
      } else if (k == "initial_interval_ms") {
        r.initial_interval = to_millis(v, p, 1, 3'600'000);
      } else if (k == "max_interval_ms") {
        r.max_interval = to_millis(v, p, 1, 3'600'000);
      } else if (k == "max_elapsed_time_ms") {
        r.max_elapsed_time = to_millis(v, p, 0, 86'400'000);
      } else {
        return false;
      }
      return true;
    });
    return r;
  }

  // An app's `webhooks` / `policy.webhooks`: an array of webhook objects. Lambda-only entries
  // (Sockudo) are skipped with a warning.
  std::vector<WebhookIn> read_webhook_list(dom::element value, const std::string& path) {
    if (value.type() != dom::element_type::ARRAY) {
      fail_value(path, "an array of webhooks", show(value));
    }
    std::vector<WebhookIn> out;
    std::size_t index = 0;
    for (const dom::element item : dom::array(value)) {
      if (auto webhook = read_webhook(item, index_path(path, index))) {
        out.push_back(std::move(*webhook));
      }
      ++index;
    }
    return out;
  }

  std::optional<WebhookIn> read_webhook(dom::element value, const std::string& path) {
    WebhookIn in;
    bool has_url = false;
    bool has_lambda = false;
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "url") {
        const std::string url = to_string(v, p);
        if (const std::string problem = parse_webhook_url(url, in.target); !problem.empty()) {
          fail(p, "invalid webhook URL " + in_quotes(url) + ": " + problem);
        }
        has_url = true;
      } else if (k == "event_types") {
        in.target.event_types = to_string_list(v, p);
        for (const std::string& type : in.target.event_types) {
          if (!is_one_of(type, webhook_event_types)) {
            warn(p + ": unknown webhook event type " + in_quotes(type) + ", never sent");
          }
        }
      } else if (k == "headers") {
        in.target.headers = read_webhook_headers(v, p);
      } else if (k == "filter") {
        read_webhook_filter(v, p, in.target.filter);
      } else if (k == "request_timeout_ms") {
        in.target.request_timeout = to_millis(v, p, 1, 3'600'000);
      } else if (k == "retry") {
        in.retry = read_retry(v, p);
      } else if (k == "lambda_function" || k == "lambda") {
        has_lambda = true;
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
    if (!has_url) {
      if (has_lambda) {
        warn(path + ": webhook without `url` (AWS Lambda only), skipped");
        return std::nullopt;
      }
      fail(join_path(path, "url"), "required, an http:// or https:// URL");
    }
    if (in.target.event_types.empty()) {
      warn(join_path(path, "event_types") + ": no event types, this webhook receives nothing");
    }
    return in;
  }

  // `headers`: an object of string values. Sockudo's nested {"headers": {...}} form is accepted.
  std::vector<std::pair<std::string, std::string>> read_webhook_headers(dom::element value,
                                                                        const std::string& path) {
    if (value.type() == dom::element_type::OBJECT) {
      dom::element inner;
      const dom::object object(value);
      if (object.size() == 1 && !object["headers"].get(inner) &&
          inner.type() == dom::element_type::OBJECT) {
        return read_webhook_headers(inner, join_path(path, "headers"));
      }
    }
    std::vector<std::pair<std::string, std::string>> out;
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      std::string text;
      if (v.type() == dom::element_type::STRING) {
        text = std::string(v.get_string().value_unsafe());
      } else if (v.is_number()) {
        text = simdjson::minify(v);
      } else {
        fail_value(p, "a string", show(v));
      }
      if (!is_token(k)) {
        fail(p, "invalid HTTP header name");
      }
      if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        fail(p, "header value contains CR, LF or NUL");
      }
      std::string lower(k);
      for (char& c : lower) {
        c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      }
      if (is_one_of(lower, reserved_webhook_headers)) {
        warn(p + ": header set by the server, ignored");
        return true;
      }
      out.emplace_back(std::string(k), std::move(text));
      return true;
    });
    return out;
  }

  void read_webhook_filter(dom::element value, std::string_view path, WebhookFilter& out) {
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "channel_prefix" || k == "channel_name_starts_with") {
        out.channel_prefix = to_string(v, p);
      } else if (k == "channel_suffix" || k == "channel_name_ends_with") {
        out.channel_suffix = to_string(v, p);
      } else if (k == "channel_pattern") {
        out.channel_pattern = to_string(v, p);
        if (out.channel_pattern.size() > WebhookFilter::max_pattern_length) {
          fail(p, "a regular expression of at most " +
                      std::to_string(WebhookFilter::max_pattern_length) + " characters");
        }
        if (!WebhookFilter::pattern_numbers_bounded(out.channel_pattern)) {
          fail(p, "a regular expression whose back-references and {m,n} counts have at most " +
                      std::to_string(WebhookFilter::max_pattern_number_digits) + " digits");
        }
        try {
          const std::regex compiled(out.channel_pattern, std::regex::ECMAScript);
          out.pattern_valid = true;
        } catch (const std::regex_error&) {
          out.pattern_valid = false;
          warn(p + ": invalid regular expression, this filter matches no channel");
        }
      } else if (k == "channel_namespace") {
        out.channel_namespaces.push_back(to_string(v, p));
      } else if (k == "channel_namespaces") {
        for (std::string& ns : to_string_list(v, p)) {
          out.channel_namespaces.push_back(std::move(ns));
        }
      } else {
        return false;
      }
      return true;
    });
  }

  std::vector<WebhookTarget> resolve_webhooks(std::vector<WebhookIn>& list) const {
    std::vector<WebhookTarget> out;
    for (WebhookIn& in : list) {
      if (in.retry) {
        WebhookRetry retry = config_.webhooks.retry;
        in.retry->apply_to(retry);
        in.target.retry = retry;
      }
      out.push_back(std::move(in.target));
    }
    return out;
  }

  void read_ssl(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      SslConfig& ssl = config_.ssl;
      if (k == "enabled") {
        ssl.enabled = to_bool(v, p);
      } else if (k == "cert_path") {
        ssl.cert_path = to_string(v, p);
      } else if (k == "key_path") {
        ssl.key_path = to_string(v, p);
      } else if (k == "ca_path") {
        ssl.ca_path = to_string(v, p);
      } else if (k == "passphrase") {
        ssl.passphrase = to_string(v, p);
      } else if (k == "redirect_http" || k == "http_port") {
        warn_unsupported(p);  // Sockudo's plain-HTTP redirect listener
      } else {
        return false;
      }
      return true;
    });
  }

  void read_metrics(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "enabled") {
        config_.metrics_enabled = to_bool(v, p);
      } else if (k == "host") {
        config_.metrics_host = to_nonempty_string(v, p);
      } else if (k == "port") {
        config_.metrics_port = to_port(v, p);
      } else if (k == "driver") {
        if (!iequals(to_string(v, p), "prometheus")) {
          fail_value(p, "\"prometheus\"", show(v));
        }
      } else if (k == "prometheus") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  // `adapter`: {driver, redis {url, prefix, requests_timeout (ms, Sockudo's name) or
  // request_timeout_ms, heartbeat_interval_ms, node_timeout_ms}}.
  void read_adapter(dom::element value, std::string_view path) {
    AdapterSettings& a = config_.adapter;
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "driver") {
        const std::string driver = to_string(v, p);
        if (iequals(driver, "local")) {
          a.driver = "local";
        } else if (iequals(driver, "redis")) {
          a.driver = "redis";
        } else {
          fail_value(p, "\"local\" or \"redis\"", show(v));
        }
      } else if (k == "redis") {
        for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
          if (k2 == "url") {
            a.redis_url = to_nonempty_string(v2, p2);
            try {
              (void)parse_redis_url(a.redis_url);
            } catch (const ConfigError& e) {
              fail(p2, e.what());
            }
          } else if (k2 == "prefix") {
            a.redis_prefix = to_nonempty_string(v2, p2);
          } else if (k2 == "requests_timeout" || k2 == "request_timeout_ms") {
            a.request_timeout = to_millis(v2, p2, 10, 600'000);
          } else if (k2 == "heartbeat_interval_ms") {
            a.heartbeat_interval = to_millis(v2, p2, 50, 600'000);
          } else if (k2 == "node_timeout_ms") {
            a.node_timeout = to_millis(v2, p2, 100, 3'600'000);
          } else if (k2 == "redis_pub_options" || k2 == "redis_sub_options" ||
                     k2 == "cluster_mode" || k2 == "sentinels") {
            warn_unsupported(p2);
          } else {
            return false;
          }
          return true;
        });
      } else if (k == "cluster" || k == "nats" || k == "buffer_multiplier_per_cpu" ||
                 k == "enable_socket_counting") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
    if (a.node_timeout <= a.heartbeat_interval) {
      fail(join_path(path, "redis.node_timeout_ms"), "must be greater than heartbeat_interval_ms");
    }
  }

  void read_app_manager(dom::element value, std::string_view path) {
    for_each_field(value, path, [this](std::string_view k, dom::element v, const std::string& p) {
      if (k == "driver") {
        const std::string driver = to_string(v, p);
        if (!iequals(driver, "array") && !iequals(driver, "memory")) {
          fail_value(p, "\"array\" or \"memory\" (apps from the config file)", show(v));
        }
      } else if (k == "array") {
        for_each_field(v, p, [this](std::string_view k2, dom::element v2, const std::string& p2) {
          if (k2 != "apps") {
            return false;
          }
          read_apps(v2, p2);
          return true;
        });
      } else if (k == "cache") {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
  }

  void read_apps(dom::element value, const std::string& path) {
    if (value.type() != dom::element_type::ARRAY) {
      fail_value(path, "an array of apps", show(value));
    }
    std::size_t index = 0;
    for (const dom::element item : dom::array(value)) {
      apps_.push_back(read_app(item, index_path(path, index)));
      ++index;
    }
  }

  AppIn read_app(dom::element value, std::string path) {
    AppIn in;
    in.path = std::move(path);
    for_each_field(value, in.path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "id") {
        // Pusher app ids are often numeric; accept 12345 as "12345".
        in.app.id =
            v.type() == dom::element_type::STRING ? to_string(v, p) : std::to_string(to_uint(v, p));
      } else if (k == "key") {
        in.app.key = to_string(v, p);
      } else if (k == "secret") {
        in.app.secret = to_string(v, p);
      } else if (k == "enabled") {
        in.app.enabled = to_bool(v, p);
      } else if (k == "allowed_origins") {
        in.flat_origins = to_string_list(v, p);
      } else if (k == "policy") {
        read_policy(v, p, in);
      } else if (read_limit(k, v, p, in.flat_limits) || read_feature(k, v, p, in.flat_features)) {
        // flat Sockudo-style alias, read above
      } else if (k == "webhooks") {
        in.flat_webhooks = read_webhook_list(v, p);
      } else if (is_one_of(k, unsupported_app_keys)) {
        warn_unsupported(p);
      } else {
        return false;
      }
      return true;
    });
    return in;
  }

  void read_policy(dom::element value, std::string_view path, AppIn& in) {
    for_each_field(value, path, [&](std::string_view k, dom::element v, const std::string& p) {
      if (k == "limits") {
        for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
          return read_limit(k2, v2, p2, in.policy_limits);
        });
      } else if (k == "features") {
        for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
          return read_feature(k2, v2, p2, in.policy_features);
        });
      } else if (k == "channels") {
        for_each_field(v, p, [&](std::string_view k2, dom::element v2, const std::string& p2) {
          if (k2 != "allowed_origins") {
            return false;
          }
          in.policy_origins = to_string_list(v2, p2);
          return true;
        });
      } else if (k == "webhooks") {
        in.policy_webhooks = read_webhook_list(v, p);
      } else {
        return false;
      }
      return true;
    });
  }

  // Precedence, lowest first: AppLimits defaults < server-level sections < flat app keys <
  // policy.*. cache.ttl wins over Sockudo's channel_limits.cache_ttl.
  void resolve() {
    server_limits_.apply_to(config_.default_limits);
    if (channel_cache_ttl_) {
      config_.cache_ttl = *channel_cache_ttl_;
    }
    if (cache_ttl_) {
      config_.cache_ttl = *cache_ttl_;
    }
    if (log_level_) {
      config_.log_level = *log_level_;
    } else if (debug_) {
      config_.log_level = "debug";
    }
    if (webhook_retry_) {
      webhook_retry_->apply_to(config_.webhooks.retry);
    }
    for (AppIn& in : apps_) {
      App app = std::move(in.app);
      if (in.policy_webhooks) {
        app.webhooks = resolve_webhooks(*in.policy_webhooks);
      } else if (in.flat_webhooks) {
        app.webhooks = resolve_webhooks(*in.flat_webhooks);
      }
      app.limits = config_.default_limits;
      in.flat_limits.apply_to(app.limits);
      in.policy_limits.apply_to(app.limits);
      if (in.flat_limits.quota_close_code) {
        app.quota_close_code = *in.flat_limits.quota_close_code;
      }
      if (in.policy_limits.quota_close_code) {
        app.quota_close_code = *in.policy_limits.quota_close_code;
      }
      in.flat_features.apply_to(app);
      in.policy_features.apply_to(app);
      if (in.flat_origins) {
        app.allowed_origins = std::move(*in.flat_origins);
      }
      if (in.policy_origins) {
        app.allowed_origins = std::move(*in.policy_origins);
      }
      config_.apps.push_back(std::move(app));
    }
  }

  std::vector<std::string>& warnings_;
  Config config_;
  LimitsIn server_limits_;
  std::optional<std::chrono::seconds> cache_ttl_;
  std::optional<std::chrono::seconds> channel_cache_ttl_;
  std::optional<std::string> log_level_;
  std::optional<RetryIn> webhook_retry_;
  bool debug_ = false;
  std::vector<AppIn> apps_;
};

// ================================================================================================
// Env overrides and final checks
// ================================================================================================

void apply_env_overrides(Config& config, EnvLookup env) {
  if (auto host = lookup(env, "HOST")) {
    config.host = std::move(*host);
  }
  if (const auto port = lookup(env, "PORT")) {
    config.port = static_cast<std::uint16_t>(env_uint("PORT", *port, 0, 65535));
  }
  if (const auto timeout = lookup(env, "ACTIVITY_TIMEOUT")) {
    config.activity_timeout = std::chrono::seconds(
        static_cast<std::int64_t>(env_uint("ACTIVITY_TIMEOUT", *timeout, 1, 1'000'000'000)));
  }
  if (const auto max = lookup(env, "SOCKUDO_MAX_CONNECTIONS")) {
    config.max_connections = env_uint("SOCKUDO_MAX_CONNECTIONS", *max, 0, u64_max);
  }
  // TLS (the `ssl` section).
  if (const auto enabled = lookup(env, "SSL_ENABLED")) {
    if (iequals(trim(*enabled), "true") || trim(*enabled) == "1") {
      config.ssl.enabled = true;
    } else if (iequals(trim(*enabled), "false") || trim(*enabled) == "0") {
      config.ssl.enabled = false;
    } else {
      fail_value("SSL_ENABLED", "true or false", in_quotes(*enabled));
    }
  }
  if (auto v = lookup(env, "SSL_CERT_PATH")) config.ssl.cert_path = std::move(*v);
  if (auto v = lookup(env, "SSL_KEY_PATH")) config.ssl.key_path = std::move(*v);
  if (auto v = lookup(env, "SSL_CA_PATH")) config.ssl.ca_path = std::move(*v);
  if (auto v = lookup(env, "SSL_PASSPHRASE")) config.ssl.passphrase = std::move(*v);
  if (const auto driver = lookup(env, "ADAPTER_DRIVER")) {
    if (iequals(*driver, "local") || iequals(*driver, "redis")) {
      config.adapter.driver = iequals(*driver, "redis") ? "redis" : "local";
    } else {
      fail("ADAPTER_DRIVER", "expected \"local\" or \"redis\", got " + in_quotes(*driver));
    }
  }
  if (auto url = lookup(env, "REDIS_URL")) {
    try {
      (void)parse_redis_url(*url);
    } catch (const ConfigError& e) {
      fail("REDIS_URL", e.what());
    }
    config.adapter.redis_url = std::move(*url);
  }

  auto id = lookup(env, "SOCKUDO_DEFAULT_APP_ID");
  auto key = lookup(env, "SOCKUDO_DEFAULT_APP_KEY");
  auto secret = lookup(env, "SOCKUDO_DEFAULT_APP_SECRET");
  if (!id && !key && !secret) {
    return;
  }
  if (config.apps.empty()) {
    config.apps.push_back(make_default_app(config.default_limits));
  }
  App& first = config.apps.front();
  if (id) {
    first.id = std::move(*id);
  }
  if (key) {
    first.key = std::move(*key);
  }
  if (secret) {
    first.secret = std::move(*secret);
  }
}

void validate_apps(const Config& config) {
  for (std::size_t i = 0; i < config.apps.size(); ++i) {
    const App& app = config.apps[i];
    const std::string path = index_path("app_manager.array.apps", i);
    const std::pair<const char*, const std::string*> required[] = {
        {"id", &app.id}, {"key", &app.key}, {"secret", &app.secret}};
    for (const auto& [name, field] : required) {
      if (field->empty()) {
        fail(join_path(path, name), "required, a non-empty string");
      }
    }
    for (std::size_t j = 0; j < i; ++j) {
      const std::string other = "apps[" + std::to_string(j) + "]";
      if (config.apps[j].id == app.id) {
        fail(join_path(path, "id"),
             "duplicate app id " + in_quotes(app.id) + " (also " + other + ")");
      }
      if (config.apps[j].key == app.key) {
        fail(join_path(path, "key"),
             "duplicate app key " + in_quotes(app.key) + " (also " + other + ")");
      }
    }
  }
}

}  // namespace

// ================================================================================================
// Public API
// ================================================================================================

RedisUrl parse_redis_url(std::string_view url) {
  RedisUrl out;
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) {
    throw ConfigError(
        "expected a redis://[:password@]host[:port][/db] URL (rediss:// is not "
        "supported)");
  }
  std::string_view rest = url.substr(scheme.size());
  const auto decode = [](std::string_view s) {
    std::string d;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
        d.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
        i += 2;
      } else {
        d.push_back(s[i]);
      }
    }
    return d;
  };
  // Credentials end at the last '@' before the path (a password may contain '@' unescaped).
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  std::string_view hostport = authority;
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = authority.substr(0, at);
    hostport = authority.substr(at + 1);
    const std::size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      out.password = decode(cred);  // redis://secret@host: a bare password
    } else {
      out.username = decode(cred.substr(0, colon));
      out.password = decode(cred.substr(colon + 1));
    }
  }
  std::string_view port_text;
  if (!hostport.empty() && hostport.front() == '[') {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) throw ConfigError("unterminated [IPv6] host");
    out.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw ConfigError("unexpected text after the [IPv6] host");
      port_text = after.substr(1);
      if (port_text.empty()) throw ConfigError("empty port");
    }
  } else {
    const std::size_t colon = hostport.find(':');
    out.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      if (port_text.empty()) throw ConfigError("empty port");
    }
  }
  if (out.host.empty()) throw ConfigError("missing host");
  const auto to_number = [](std::string_view s, std::uint64_t max, const char* what) {
    if (s.empty() || s.size() > 10) throw ConfigError(std::string("invalid ") + what);
    std::uint64_t n = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') throw ConfigError(std::string("invalid ") + what);
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > max) throw ConfigError(std::string(what) + " out of range");
    return n;
  };
  if (!port_text.empty()) {
    out.port = static_cast<std::uint16_t>(to_number(port_text, 65535, "port"));
    if (out.port == 0) throw ConfigError("port out of range");
  }
  if (const std::size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path.size() > 1) {
    out.db = static_cast<std::uint32_t>(to_number(path.substr(1), 1'000'000, "database number"));
  }
  return out;
}

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

Config parse_config(std::string_view json_text, EnvLookup env, std::vector<std::string>& warnings) {
  const std::string text = interpolate_env(json_text, env);

  dom::parser parser;
  dom::element root;
  if (const auto error = parser.parse(text).get(root)) {
    throw ConfigError(std::string("config: invalid JSON (after ${VAR} interpolation): ") +
                      simdjson::error_message(error));
  }

  Config config = Reader(warnings).read(root);
  apply_env_overrides(config, env);
  if (config.apps.empty()) {
    config.apps.push_back(make_default_app(config.default_limits));
  }
  validate_apps(config);
  if (config.ssl.enabled && (config.ssl.cert_path.empty() || config.ssl.key_path.empty())) {
    fail("ssl", "enabled needs cert_path and key_path");
  }
  return config;
}

Config load_config_file(const std::string& path, EnvLookup env,
                        std::vector<std::string>& warnings) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  }
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) {
    throw ConfigError(path + ": cannot read config file");
  }
  return parse_config(content.str(), env, warnings);
}

Config default_config(EnvLookup env, std::vector<std::string>& warnings) {
  Config config = parse_config(embedded_default_json, env, warnings);
  config.embedded_default = true;
  return config;
}

}  // namespace server
