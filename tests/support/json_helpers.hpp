#pragma once
// JSON helpers for e2e tests: quoting, client frame builders, and parsing server frames with the
// simdjson DOM API (convenient, not fast; tests only).

#include <simdjson.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace test_support {

// ---------------------------------------------------------------------------------------------
// Building JSON
// ---------------------------------------------------------------------------------------------

/// Returns `s` as a JSON string literal with quotes. Escapes `"`, `\` and control characters;
/// other bytes (UTF-8 or not) are copied as they are.
[[nodiscard]] std::string json_quote(std::string_view s);

/// `{"event":"pusher:subscribe","data":{"auth":..,"channel_data":..,"channel":..}}`. An empty
/// `auth` / `channel_data` is left out of the frame (use a hand-written frame to send "").
[[nodiscard]] std::string subscribe_frame(std::string_view channel, std::string_view auth = {},
                                          std::string_view channel_data = {});
/// `{"event":"pusher:unsubscribe","data":{"channel":..}}`.
[[nodiscard]] std::string unsubscribe_frame(std::string_view channel);
/// `{"event":"pusher:ping","data":{}}` (what pusher-js sends).
[[nodiscard]] std::string ping_frame();
/// `{"event":"pusher:pong","data":{}}` (what pusher-js answers to a server ping).
[[nodiscard]] std::string pong_frame();
/// `{"event":<event>,"channel":<channel>,"data":<data_json>}`; `data_json` is raw JSON.
[[nodiscard]] std::string client_event_frame(std::string_view event, std::string_view channel,
                                             std::string_view data_json);

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// A parsed JSON document that owns its parser (the DOM element points into it).
/// Throws std::runtime_error (with the text) when the input is not valid JSON.
class JsonDoc {
 public:
  explicit JsonDoc(std::string_view text);
  [[nodiscard]] simdjson::dom::element root() const { return root_; }

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
};

/// Returns the minified JSON text of `e`.
[[nodiscard]] std::string to_json(simdjson::dom::element e);

/// One server frame, decoded.
struct Frame {
  std::string event;
  std::optional<std::string> channel;
  bool has_data = false;
  bool data_is_string = false;
  /// The string's contents when `data` is a JSON string; minified JSON text otherwise.
  std::string data;
  std::optional<std::string> user_id;
  std::vector<std::string> keys;  ///< top-level keys in wire order
};

/// Parses a frame. Throws std::runtime_error (with the text) on invalid JSON, a non-object, or a
/// missing/non-string `event`.
[[nodiscard]] Frame parse_frame(std::string_view text);

/// Shortcuts over parse_frame.
[[nodiscard]] std::string event_of(std::string_view text);
[[nodiscard]] std::optional<std::string> channel_of(std::string_view text);
[[nodiscard]] std::string data_of(std::string_view text);

/// `data` of a `pusher:error` frame.
struct ErrorData {
  std::int64_t code = 0;
  std::string message;
};
/// Decodes a `pusher:error` frame. Throws std::runtime_error if `text` is not one, or if `data`
/// is not an object with an integer `code` and a string `message`.
[[nodiscard]] ErrorData error_of(std::string_view text);

/// Decoded presence part of a presence `subscription_succeeded` data string.
struct PresenceData {
  std::vector<std::string> ids;             ///< in wire order; a number as its JSON text
  std::vector<std::string> numeric_ids;     ///< the ids that were JSON numbers, in wire order
  std::map<std::string, std::string> hash;  ///< user_id -> minified user_info
  std::int64_t count = -1;
};
/// Parses `{"presence":{"ids":[..],"hash":{..},"count":N}}`. Throws on any other shape.
[[nodiscard]] PresenceData parse_presence(std::string_view data);

/// Extracts the socket id from a `pusher:connection_established` frame. Throws if `text` is not
/// one.
[[nodiscard]] std::string socket_id_of(std::string_view text);

/// True if `id` is "<a>.<b>" with a and b plain decimal (no sign, no leading zeros except "0")
/// and each in [0, 10000000000] (protocol.md §1.4).
[[nodiscard]] bool is_valid_socket_id(std::string_view id);

}  // namespace test_support
