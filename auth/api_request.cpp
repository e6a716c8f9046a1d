#include "auth/api_request.hpp"

#include <charconv>
#include <optional>
#include <system_error>

#include "auth/crypto.hpp"

namespace auth {
namespace {

// ---------------------------------------------------------------------------------------------
// Text helpers (ASCII only; bytes >= 0x80 pass through unchanged)
// ---------------------------------------------------------------------------------------------

constexpr std::string_view signature_key = "auth_signature";

char to_lower_ascii(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

char to_upper_ascii(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string to_lower_ascii(std::string text) {
  for (char& c : text) c = to_lower_ascii(c);
  return text;
}

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  }
  return true;
}

// Value of one hex digit, or -1.
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding: '+' -> space, "%XX" -> byte. A '%' not followed by
// two hex digits is kept literally, like the text after it.
std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
      continue;
    }
    if (c == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>((high << 4) | low);
        i += 2;
        continue;
      }
    }
    out += c;
  }
  return out;
}

// Percent-encodes everything except RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~).
void append_percent_encoded(std::string& out, std::string_view text) {
  static constexpr std::string_view hex_digits = "0123456789ABCDEF";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += hex_digits[byte >> 4U];
      out += hex_digits[byte & 0x0FU];
    }
  }
}

// Parses a base-10 signed 64-bit integer that fills the whole text (no sign '+', no spaces).
std::optional<std::int64_t> parse_int64(std::string_view text) noexcept {
  std::int64_t value = 0;
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

// abs(now - timestamp) <= window, without signed overflow for any int64 inputs: the difference
// of the larger and the smaller value always fits in uint64 and is exact modulo 2^64.
bool within_window(std::int64_t now, std::int64_t timestamp, std::int64_t window) noexcept {
  if (window < 0) return false;
  const auto high = static_cast<std::uint64_t>(now > timestamp ? now : timestamp);
  const auto low = static_cast<std::uint64_t>(now > timestamp ? timestamp : now);
  return high - low <= static_cast<std::uint64_t>(window);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Query parsing and the string to sign
// ---------------------------------------------------------------------------------------------

const std::string* QueryParams::get(std::string_view key) const {
  const auto it = values.find(key);
  return it == values.end() ? nullptr : &it->second;
}

QueryParams parse_query(std::string_view raw_query) {
  QueryParams params;
  while (!raw_query.empty()) {
    const std::size_t amp = raw_query.find('&');
    const std::string_view piece = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
    if (piece.empty()) continue;
    const std::size_t eq = piece.find('=');
    const std::string_view raw_key = piece.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
    params.values.insert_or_assign(to_lower_ascii(url_decode(raw_key)), url_decode(raw_value));
  }
  return params;
}

std::string api_string_to_sign(std::string_view method, std::string_view path,
                               const QueryParams& params) {
  std::string out;
  out.reserve(method.size() + path.size() + 2 + params.values.size() * 32);
  for (const char c : method) out += to_upper_ascii(c);
  out += '\n';
  out += path;
  out += '\n';
  bool first = true;
  for (const auto& [key, value] : params.values) {
    if (key == signature_key) continue;
    if (!first) out += '&';
    first = false;
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

std::string sign_api_request(std::string_view secret, std::string_view method,
                             std::string_view path, const QueryParams& params) {
  return hmac_sha256_hex(secret, api_string_to_sign(method, path, params));
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

std::string_view message(ApiAuthError error) noexcept {
  switch (error) {
    case ApiAuthError::none:
      return "OK";
    case ApiAuthError::timestamp_missing:
      return "auth_timestamp is missing";
    case ApiAuthError::timestamp_invalid:
      return "Invalid auth_timestamp format";
    case ApiAuthError::timestamp_expired:
      return "Timestamp expired or too far in the future";
    case ApiAuthError::body_md5_missing:
      return "body_md5 is required for POST requests";
    case ApiAuthError::body_md5_on_get:
      return "body_md5 must not be present for GET requests";
    case ApiAuthError::body_md5_mismatch:
      return "body_md5 does not match the request body";
    case ApiAuthError::signature_missing:
      return "auth_signature is missing";
    case ApiAuthError::signature_invalid:
      return "Invalid API signature";
  }
  return "Unknown API authentication error";
}

ApiAuthError verify_api_request(std::string_view method, std::string_view path,
                                const QueryParams& params, std::string_view body,
                                std::string_view secret, std::int64_t now_unix_seconds,
                                std::int64_t window_seconds) {
  // 1-3: the timestamp is present, an integer, and inside the window both ways.
  const std::string* timestamp_text = params.get("auth_timestamp");
  if (timestamp_text == nullptr) return ApiAuthError::timestamp_missing;
  const std::optional<std::int64_t> timestamp = parse_int64(*timestamp_text);
  if (!timestamp) return ApiAuthError::timestamp_invalid;
  if (!within_window(now_unix_seconds, *timestamp, window_seconds)) {
    return ApiAuthError::timestamp_expired;
  }

  // 4: body_md5 is required on POST, forbidden on GET, and must match when present. The MD5 is
  // not secret, so a plain comparison is fine.
  const std::string* body_md5 = params.get("body_md5");
  if (equals_ignore_case(method, "GET")) {
    if (body_md5 != nullptr) return ApiAuthError::body_md5_on_get;
  } else {
    if (body_md5 == nullptr) {
      if (equals_ignore_case(method, "POST")) return ApiAuthError::body_md5_missing;
    } else {
      const std::optional<std::string> actual = try_md5_hex(body);
      if (!actual || *actual != *body_md5) return ApiAuthError::body_md5_mismatch;
    }
  }

  // 5-6: the signature is present and matches (constant time; fails closed on OpenSSL errors).
  const std::string* signature = params.get(signature_key);
  if (signature == nullptr) return ApiAuthError::signature_missing;
  const std::optional<std::string> expected =
      try_hmac_sha256_hex(secret, api_string_to_sign(method, path, params));
  if (!expected || !constant_time_equal(*expected, *signature)) {
    return ApiAuthError::signature_invalid;
  }
  return ApiAuthError::none;
}

// ---------------------------------------------------------------------------------------------
// Client side (SDK emulation for tests and the bench client)
// ---------------------------------------------------------------------------------------------

std::string build_signed_query(
    std::string_view app_key, std::string_view secret, std::string_view method,
    std::string_view path, std::string_view body, std::int64_t timestamp,
    const std::vector<std::pair<std::string, std::string>>& extra_params) {
  QueryParams params;
  params.values.insert_or_assign("auth_key", std::string(app_key));
  params.values.insert_or_assign("auth_timestamp", std::to_string(timestamp));
  params.values.insert_or_assign("auth_version", "1.0");
  if (!equals_ignore_case(method, "GET")) params.values.insert_or_assign("body_md5", md5_hex(body));
  for (const auto& [key, value] : extra_params) {
    std::string lowered = to_lower_ascii(key);
    if (lowered == signature_key) continue;
    params.values.insert_or_assign(std::move(lowered), value);
  }

  const std::string signature = sign_api_request(secret, method, path, params);
  std::string query;
  for (const auto& [key, value] : params.values) {
    append_percent_encoded(query, key);
    query += '=';
    append_percent_encoded(query, value);
    query += '&';
  }
  query += signature_key;
  query += '=';
  query += signature;
  return query;
}

}  // namespace auth
