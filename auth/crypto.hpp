#pragma once

/// \file
/// Hashing, HMAC, base64 and constant-time comparison primitives (OpenSSL libcrypto).
///
/// Everything here is pure: no I/O, no clocks, no global mutable state apart from OpenSSL's own
/// algorithm cache. All functions may be called from any thread at the same time.
///
/// Failure policy: the functions returning `std::string` throw `std::runtime_error` if OpenSSL
/// itself fails (only on allocation failure or when a provider configuration disables the
/// algorithm, e.g. MD5 under FIPS). Verification code must not depend on that exception: it uses
/// the `try_` variants, which return `std::nullopt` instead, and fails closed.

#include <optional>
#include <string>
#include <string_view>

namespace auth {

/// Returns HMAC-SHA256(`key`, `message`) as 64 lowercase hex characters. `key` is used as raw
/// bytes (an app secret is keyed by the bytes of its string). Throws `std::runtime_error` if
/// OpenSSL fails.
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// Same as `hmac_sha256_hex`, but returns `std::nullopt` instead of throwing if OpenSSL fails.
[[nodiscard]] std::optional<std::string> try_hmac_sha256_hex(std::string_view key,
                                                             std::string_view message);

/// Returns MD5(`data`) as 32 lowercase hex characters (the HTTP API's `body_md5`). Throws
/// `std::runtime_error` if OpenSSL fails.
[[nodiscard]] std::string md5_hex(std::string_view data);

/// Same as `md5_hex`, but returns `std::nullopt` instead of throwing if OpenSSL fails.
[[nodiscard]] std::optional<std::string> try_md5_hex(std::string_view data);

/// Returns base64(SHA256(`data`)) with padding (44 characters). Throws `std::runtime_error` if
/// OpenSSL fails.
[[nodiscard]] std::string sha256_base64(std::string_view data);

/// Encodes arbitrary bytes as standard base64 (RFC 4648 §4 alphabet, `=` padding). Never fails.
[[nodiscard]] std::string base64_encode(std::string_view bytes);

/// Decodes standard base64 (RFC 4648 §4 alphabet). Accepts input with correct `=` padding and
/// input with the padding left off. Returns `std::nullopt` for any other character (including
/// whitespace and the URL-safe `-`/`_`), misplaced or excess `=`, or a length that cannot be
/// base64 (4n+1 characters). Unused low bits in the last character are ignored.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

/// Returns the RFC 6455 `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`:
/// base64(SHA1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). The key is used as given (the
/// caller trims header whitespace). Throws `std::runtime_error` if OpenSSL fails.
[[nodiscard]] std::string websocket_accept_key(std::string_view sec_websocket_key);

/// Compares two byte strings without an early exit over their content (`CRYPTO_memcmp`).
/// Strings of different lengths compare unequal immediately, so only the length can leak.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Returns the encrypted-channel shared secret that server SDKs derive and hand to clients:
/// base64(SHA256(`channel` || `master_key_bytes`)). `master_key_bytes` is the raw 32-byte master
/// key (already base64-decoded). The server itself never needs this; tests and SDK emulation do.
/// Throws `std::runtime_error` if OpenSSL fails.
[[nodiscard]] std::string encrypted_channel_shared_secret(std::string_view channel,
                                                          std::string_view master_key_bytes);

}  // namespace auth
