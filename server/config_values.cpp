// The value layer of the config loader: key paths and error messages, text helpers, the JSON
// scalar conversions every section reader uses (integers, numbers, booleans, strings, lists,
// durations, ports), and the object walker that reports unknown and duplicate keys.

#include <charconv>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "server/config_detail.hpp"

namespace server::config_detail {
namespace {

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

}  // namespace

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

bool is_http_token(std::string_view s) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  if (s.empty()) return false;
  for (const char ch : s) {
    const bool alnum =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && extra.find(ch) == std::string_view::npos) return false;
  }
  return true;
}

bool is_metric_prefix(std::string_view prefix) {
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char ch = prefix[i];
    const bool alpha =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':';
    if (!alpha && !(i > 0 && ch >= '0' && ch <= '9')) return false;
  }
  return true;
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
std::uint64_t to_uint(dom::element value, std::string_view path, std::uint64_t min,
                      std::uint64_t max) {
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

// ================================================================================================
// FieldWalker
// ================================================================================================

void FieldWalker::warn(std::string message) {
  warnings_.push_back(std::move(message));
}

void FieldWalker::warn_unknown(const std::string& path) {
  warn(path + ": unknown key, ignored");
}

void FieldWalker::warn_unsupported(const std::string& path) {
  unsupported_.push_back(path);
}

void FieldWalker::report_unsupported() {
  if (unsupported_.empty()) {
    return;
  }
  std::string line = "Sockudo options not supported by this server, ignored: ";
  for (std::size_t i = 0; i < unsupported_.size(); ++i) {
    if (i > 0) line += ", ";
    line += unsupported_[i];
  }
  unsupported_.clear();
  warn(std::move(line));
}

void FieldWalker::for_each_field(dom::element value, std::string_view path, const FieldFn& fn) {
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

}  // namespace server::config_detail
