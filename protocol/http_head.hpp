#pragma once
// A strict reader for the head of a WebSocket upgrade request (the fast path of the server's
// accept stage). It vouches only for the plainest form: `GET <target> HTTP/1.1`, CRLF line ends,
// token header names, no body headers, each relevant header at most once. Everything else
// (other methods, versions, duplicated or folded headers, bare LF, oversized heads) is reported
// as `other`, and the caller hands the bytes to a general HTTP parser (Beast), which then answers
// exactly as it would have without this reader. So this parser may refuse anything, but must
// never accept a head that the general parser would read differently.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace protocol {

struct UpgradeHead {
  enum class Status : std::uint8_t {
    incomplete,  ///< no blank line yet: read more (the head so far is well-formed)
    complete,    ///< a head this reader vouches for; the fields below are set
    other,       ///< not for this reader: use a general HTTP parser on the same bytes
  };
  Status status = Status::incomplete;
  std::size_t head_size = 0;  ///< bytes up to and including the blank line (complete only)
  std::string_view target;    ///< request target, as sent (path and query)
  std::string_view key;       ///< Sec-WebSocket-Key ("" when absent)
  std::string_view version;   ///< Sec-WebSocket-Version ("" when absent)
  std::string_view origin;    ///< Origin ("" when absent)
  /// X-Forwarded-For ("" when absent; a head repeating it is `other`, so Beast joins the lines)
  std::string_view forwarded_for;
  /// `Connection` lists the `upgrade` token and `Upgrade` lists `websocket` (case-insensitive).
  bool is_upgrade = false;
};

/// Reads the request head at the start of `buf` (all bytes received so far). A head longer
/// than `max_head` bytes (blank line included) is `other`.
[[nodiscard]] UpgradeHead parse_upgrade_head(std::string_view buf, std::size_t max_head) noexcept;

/// Whether the comma-separated token list `list` holds `token` (ASCII case-insensitive; optional
/// whitespace around elements; empty elements ignored). nullopt when an element is not a plain
/// token (a quoted string, parameters, inner spaces): general parsers differ on those.
[[nodiscard]] std::optional<bool> list_has_token(std::string_view list,
                                                 std::string_view token) noexcept;

}  // namespace protocol
