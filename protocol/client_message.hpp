#pragma once

/// Parsing of client → server Pusher frames and of the payloads of the system events
/// (protocol.md §0, §3.2-3.5, §5.1, §7.1). Every function validates the whole JSON text it is
/// given; a syntax error anywhere (even in a part that is not otherwise read) is an error.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.hpp"

namespace protocol {

/// Bytes that must be readable after the text passed to `ClientMessageParser::parse_padded`
/// (equals `SIMDJSON_PADDING`).
inline constexpr std::size_t json_padding = 64;

/// Nesting depth limit for client JSON (serde_json's default, so Sockudo rejects deeper input
/// too). It also bounds the stack used by validation.
inline constexpr int max_json_depth = 128;

/// One parsed client frame. Owns its bytes.
struct ClientMessage {
  std::string event;                   ///< The `event` value (unescaped).
  std::optional<std::string> channel;  ///< Top-level `channel`, unset if absent or `null`.
  std::string data_raw;  ///< Raw JSON text of `data` exactly as sent; empty if absent.
};

/// Result of `ClientMessageParser::parse`.
using ParseResult = Result<ClientMessage>;

/// Parses client frames with simdjson On-Demand. Keep one per worker thread and reuse it (it
/// keeps its buffers); one instance must not be used by two threads at once. A moved-from
/// parser may only be destroyed or assigned to.
///
/// Errors (all code 4000, the connection stays open):
/// - invalid JSON anywhere, non-object message, a non-string non-null `channel`, a duplicated
///   `event`/`channel`/`data` key, nesting deeper than `max_json_depth`:
///   "Invalid message format: Decode failed: <detail>"
/// - `event` missing, `null` or not a string: "Invalid event name: Event name is required"
class ClientMessageParser {
 public:
  ClientMessageParser();
  ~ClientMessageParser();
  ClientMessageParser(ClientMessageParser&&) noexcept;
  ClientMessageParser& operator=(ClientMessageParser&&) noexcept;
  ClientMessageParser(const ClientMessageParser&) = delete;
  ClientMessageParser& operator=(const ClientMessageParser&) = delete;

  /// Parses `text` after copying it into an internal padded buffer. Safe for any input.
  [[nodiscard]] ParseResult parse(std::string_view text);

  /// Parses `text` in place, without a copy. The `capacity` bytes starting at `text.data()` must
  /// be readable and `capacity >= text.size() + json_padding` (e.g. a receive buffer whose
  /// capacity exceeds its contents); the padding bytes are read, never written. Returns a 4000
  /// error if the capacity is too small.
  [[nodiscard]] ParseResult parse_padded(std::string_view text, std::size_t capacity);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Payload helpers --------------------------------------------------------------------------
// Each takes the raw JSON of a frame's `data` (`ClientMessage::data_raw`) or of a field inside it.
// `data` may be an object or a JSON string that holds the object (Sockudo accepts both). They use
// a per-thread scratch parser, so any thread may call them.

/// `pusher:subscribe` data.
struct SubscribeData {
  std::string channel;                      ///< `data.channel`.
  std::optional<std::string> auth;          ///< `data.auth` when it is a string.
  std::optional<std::string> channel_data;  ///< `data.channel_data` when it is a string.
  /// Raw JSON of `data.rewind` (protocol V2: a count, or `{count, seconds}`), when present.
  std::optional<std::string> rewind_raw;
};

/// Parses `pusher:subscribe` data (§3.4). Errors (4000):
/// - absent, not an object, or not a JSON string of one:
///   "Invalid message format: Invalid subscription data format"
/// - `channel` missing or not a string: "Invalid message format: Missing channel field"
[[nodiscard]] Result<SubscribeData> parse_subscribe_data(std::string_view data_raw);

/// Parses `pusher:unsubscribe` data: an object `{"channel": "..."}`, or a bare JSON string taken
/// as the channel name (§3.5). Anything else is 4000
/// "Invalid message format: Missing channel in unsubscribe message".
[[nodiscard]] Result<std::string> parse_unsubscribe_channel(std::string_view data_raw);

/// A presence member as given by `channel_data` (§5.1).
struct PresenceChannelData {
  /// Non-empty. The member's identity: a JSON string's unescaped text, or a JSON number's token
  /// exactly as written (`10` → "10", `-1.5e3` → "-1.5e3"), so `10` and `"10"` are one user.
  std::string user_id;
  std::string user_info;  ///< Raw JSON of `user_info`; "{}" when absent.
  /// `user_id` was signed as a JSON number: echo it as that number, not a string (§5.1, revised).
  bool user_id_numeric = false;
};

/// Parses the (unescaped) `channel_data` string of a presence subscribe. Errors:
/// - not valid JSON: 4000 "Invalid message format: Invalid channel_data JSON for presence"
/// - not an object, or `user_id` missing / empty / neither string nor number ([deviate]: numbers
///   are accepted): 4300 "Channel error: Missing user_id in channel_data"
[[nodiscard]] Result<PresenceChannelData> parse_channel_data(std::string_view channel_data);

/// `pusher:signin` data.
struct SigninData {
  std::string auth;       ///< `data.auth` ("key:signature").
  std::string user_data;  ///< `data.user_data`, the exact signed string.
};

/// Parses `pusher:signin` data (§7.1 step 1). Errors:
/// - absent, not an object or a JSON string of one: 4000
///   "Invalid message format: Invalid signin data format"
/// - `user_data` not a string: 4009
///   "Authentication error: Missing 'user_data' field in signin data"
/// - `auth` not a string: 4009 "Authentication error: Missing 'auth' field in signin data"
[[nodiscard]] Result<SigninData> parse_signin_data(std::string_view data_raw);

/// The content of a sign-in `user_data` string.
struct UserData {
  std::string id;                      ///< Non-empty user id.
  std::vector<std::string> watchlist;  ///< String entries of `watchlist` (others are ignored).
  std::string user_info;               ///< Raw JSON of `user_info`; "{}" when absent.
};

/// Parses a sign-in `user_data` string (§7.1 step 3). Errors (4009):
/// - not valid JSON: "Authentication error: Invalid user_data JSON: <detail>"
/// - not an object, `id` missing, not a string or empty:
///   "Authentication error: Missing 'id' field in user_data"
[[nodiscard]] Result<UserData> parse_user_data(std::string_view user_data);

// ---- Sockudo protocol V2 -----------------------------------------------------------------------

/// One channel position of a `resume` (docs/PROTOCOL_V2.md).
struct ResumePosition {
  std::string channel;
  std::optional<std::string> stream_id;  ///< unset: the legacy `channel_serials` form
  std::uint64_t serial = 0;
};

/// Parses `resume` data (an object, or a JSON string holding it): `{"channel_positions":
/// {"<ch>":{"serial":N,"stream_id":"..","last_message_id":".."}}}` or the legacy
/// `{"channel_serials":{"<ch>":N}}`; a serial may be a number or a decimal string. An empty map
/// gives an empty list. Errors (4000, "Invalid message format: ..."): bad JSON, neither map, a
/// position without a valid serial, more than `max_positions` positions.
[[nodiscard]] Result<std::vector<ResumePosition>> parse_resume_data(std::string_view data_raw,
                                                                    std::size_t max_positions);

/// A subscribe's `rewind`: the newest `count` messages, or those of the last `seconds`.
struct RewindRequest {
  std::uint64_t count = 0;               ///< 0 with `seconds` set: no count limit
  std::optional<std::uint64_t> seconds;  ///< `seconds` / `duration_seconds`
};
/// Parses the raw JSON of `rewind`: a positive integer (or decimal string), or an object with a
/// positive `count` (wins) or `seconds` / `duration_seconds`. nullopt for anything else.
[[nodiscard]] std::optional<RewindRequest> parse_rewind(std::string_view rewind_raw);

}  // namespace protocol
