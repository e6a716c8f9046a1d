#pragma once
// Percent-decoding of URL parts (RFC 3986 §2.1): HTTP API path segments (channel names and user
// ids may be percent-encoded) and the credentials of redis:// URLs. '+' is not a space here
// (that is the query-string convention, auth::parse_query).

#include <string>
#include <string_view>

namespace protocol {

/// `%XX` (two hex digits, either case) becomes its byte; a '%' not followed by two hex digits is
/// kept as it is. Never fails.
[[nodiscard]] inline std::string percent_decode(std::string_view s) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace protocol
