#pragma once

/// \file
/// HTTP API request signing and verification (protocol.md §9.1).
///
/// String to sign: "METHOD\npath\nk1=v1&k2=v2..." over every query parameter except
/// `auth_signature`, with keys lowercased and values URL-decoded, sorted by key in byte order.
/// Pure: the current time is a parameter. Callable from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace auth {

/// Decoded query parameters of an HTTP API request.
struct QueryParams {
  /// Lowercased, URL-decoded key -> URL-decoded value, sorted by key in byte order. A key that
  /// appeared several times holds its last value.
  std::map<std::string, std::string, std::less<>> values;

  /// Returns the value stored for `key`, or nullptr when absent. `key` is matched exactly, so
  /// pass it in lowercase. The pointer is valid until `values` is modified or destroyed.
  [[nodiscard]] const std::string* get(std::string_view key) const;
};

/// Parses a raw query string (without the leading '?'). Pieces are separated by '&'; empty pieces
/// are skipped; a piece without '=' is a key with an empty value; only the first '=' splits.
/// Keys and values are URL-decoded ("%XX" and '+' -> space); a '%' that does not start a valid
/// escape is kept literally. Keys are then lowercased (ASCII). The last duplicate wins. Never
/// fails.
[[nodiscard]] QueryParams parse_query(std::string_view raw_query);

/// Returns "METHOD\npath\nk1=v1&k2=v2..." for `params` without `auth_signature`. The method is
/// uppercased (ASCII); `path` is used as received (no decoding); values are not re-encoded.
[[nodiscard]] std::string api_string_to_sign(std::string_view method, std::string_view path,
                                             const QueryParams& params);

/// Returns the lowercase hex HMAC-SHA256 (keyed with `secret`) of `api_string_to_sign(...)`.
/// Throws `std::runtime_error` if OpenSSL fails.
[[nodiscard]] std::string sign_api_request(std::string_view secret, std::string_view method,
                                           std::string_view path, const QueryParams& params);

/// Why an HTTP API request failed authentication. Every value maps to HTTP 401 `auth_failed`.
/// Values are stable: never renumber or reuse them.
enum class ApiAuthError : std::uint8_t {
  /// The request is authentic.
  none = 0,
  /// There is no `auth_timestamp` parameter.
  timestamp_missing = 1,
  /// `auth_timestamp` is not a base-10 integer that fits in 64 bits.
  timestamp_invalid = 2,
  /// `auth_timestamp` is more than the window away from now, in either direction.
  timestamp_expired = 3,
  /// A POST request has no `body_md5` (required even for an empty body).
  body_md5_missing = 4,
  /// A GET request carries `body_md5`.
  body_md5_on_get = 5,
  /// `body_md5` is not the lowercase hex MD5 of the exact body bytes.
  body_md5_mismatch = 6,
  /// There is no `auth_signature` parameter.
  signature_missing = 7,
  /// `auth_signature` does not equal the expected signature.
  signature_invalid = 8,
};

/// Returns the Sockudo-style error message for `error` (for the JSON error body).
[[nodiscard]] std::string_view message(ApiAuthError error) noexcept;

/// Verifies a signed HTTP API request. Checks run in Sockudo's order and the first failure is
/// returned:
///   1. `auth_timestamp` present, 2. an integer, 3. abs(now - timestamp) <= `window_seconds`,
///   4. `body_md5`: required on POST (also for an empty body), forbidden on GET, and when present
///      it must equal md5_hex(`body`) (other methods: optional, checked when present),
///   5. `auth_signature` present, 6. equal in constant time to `sign_api_request(...)`.
/// Does not look at `auth_key` (the caller selects the app and its `secret` with it). Methods are
/// compared case-insensitively. Fails closed if OpenSSL fails.
[[nodiscard]] ApiAuthError verify_api_request(std::string_view method, std::string_view path,
                                              const QueryParams& params, std::string_view body,
                                              std::string_view secret,
                                              std::int64_t now_unix_seconds,
                                              std::int64_t window_seconds = 600);

/// Builds the query string (without '?') an SDK sends for this request: `auth_key`,
/// `auth_timestamp`, `auth_version=1.0`, `body_md5` (every method except GET), then
/// `extra_params`, all sorted by key, followed by `auth_signature` last. Keys of `extra_params`
/// are lowercased; an extra param replaces a standard one of the same name (useful to build
/// deliberately odd requests in tests), except `auth_signature`, which is always computed and
/// never taken from `extra_params`. Keys and values are percent-encoded (RFC 3986 unreserved
/// characters kept, everything else as %XX). Throws `std::runtime_error` if OpenSSL fails.
[[nodiscard]] std::string build_signed_query(
    std::string_view app_key, std::string_view secret, std::string_view method,
    std::string_view path, std::string_view body, std::int64_t timestamp,
    const std::vector<std::pair<std::string, std::string>>& extra_params = {});

}  // namespace auth
