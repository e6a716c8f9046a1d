#pragma once

/// JSON string escaping for the frame encoders.

#include <string>
#include <string_view>

namespace protocol {

/// Appends `s` to `out` as a quoted JSON string. Escapes `"` and `\`, writes control characters
/// (< 0x20) as `\b \f \n \r \t` or `\u00XX`, and copies everything else (including UTF-8 and `/`)
/// unchanged, which is how Sockudo serializes strings. `s` is not checked for valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

/// Appends a presence member id (§5.1, revised) as the app's backend signed it: when `numeric`,
/// `id` is a JSON number token (as parsed from `channel_data`) and is copied unchanged;
/// otherwise it is written as a quoted JSON string.
void append_user_id(std::string& out, std::string_view id, bool numeric);

/// True when `s` is exactly one JSON number token (RFC 8259 grammar: `-?(0|[1-9][0-9]*)`, an
/// optional fraction and exponent; no whitespace). Range is not checked.
[[nodiscard]] bool is_json_number(std::string_view s) noexcept;

/// Returns `s` as a quoted JSON string (see `append_json_string`).
[[nodiscard]] std::string json_string(std::string_view s);

}  // namespace protocol
