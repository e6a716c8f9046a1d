#pragma once
// Pure wire helpers for the bench client: server frame parsing (RFC 6455, unmasked),
// cheap field extraction from Pusher JSON messages (no full JSON parse per delivery), the
// bench's own data markers, HTTP/1.1 response parsing, per-connection sequence tracking, and
// message builders. No I/O.

#include <cstdint>
#include <string>
#include <string_view>

namespace bench {

// ---- WebSocket ---------------------------------------------------------------------------

struct WsFrame {
  std::uint8_t opcode = 0;  ///< 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong
  bool fin = true;
  std::string_view payload;
};

/// Parses one server-to-client frame at the start of `buf`. Returns the bytes it spans (> 0)
/// when complete, 0 when more bytes are needed, -1 when malformed (mask bit set, RSV bits,
/// absurd length).
[[nodiscard]] long parse_server_frame(std::string_view buf, WsFrame& out) noexcept;

/// The close code of a close frame payload (1005 when empty).
[[nodiscard]] std::uint16_t close_code(std::string_view payload) noexcept;

// ---- Pusher messages -----------------------------------------------------------------------

/// The "event" value of a Pusher JSON message ("" when absent). Fast path for messages that
/// start with {"event":".
[[nodiscard]] std::string_view event_name(std::string_view msg) noexcept;

/// The raw (still escaped) text of the first string field "key":"..." at or after `from`, or an
/// empty view. Finds the first occurrence only; good enough for server frames.
[[nodiscard]] std::string_view string_field(std::string_view msg, std::string_view key,
                                            std::size_t from = 0) noexcept;

/// Like string_field, but returns everything after the opening quote (the value and the rest of
/// the message) without scanning for the closing quote: enough to read a marker at its start.
[[nodiscard]] std::string_view string_field_tail(std::string_view msg, std::string_view key,
                                                 std::size_t from = 0) noexcept;

/// The socket id inside a pusher:connection_established message ("" when absent).
[[nodiscard]] std::string_view socket_id_of(std::string_view msg) noexcept;

/// Error code in a pusher:error message (data.code), 0 when absent.
[[nodiscard]] int error_code_of(std::string_view msg) noexcept;

/// The bench's data marker: a kind letter then dot-terminated decimal numbers, padded with
/// 'x' to a target size. 'B' (published): seq, send time (CLOCK_MONOTONIC ns).
/// 'E' (client event): sender index, seq, send time.
struct Marker {
  char kind = 0;
  std::uint64_t v[3] = {0, 0, 0};
  int count = 0;  ///< numbers parsed
};

/// Parses a marker at the start of `data`; false when `data` does not start with a marker.
[[nodiscard]] bool parse_marker(std::string_view data, Marker& out) noexcept;

/// Builds a marker with `n` numbers, padded with 'x' to at least `size` bytes.
[[nodiscard]] std::string make_marker(char kind, const std::uint64_t* nums, int n,
                                      std::size_t size);

/// JSON string escaping of `s`, without quotes: protocol::append_json_string's rules (`\b \f
/// \n \r \t` or `\u00XX` for control characters).
[[nodiscard]] std::string json_escape(std::string_view s);

/// Message builders (client to server, JSON text; frame them with make_masked_frame).
[[nodiscard]] std::string subscribe_json(std::string_view channel, std::string_view auth,
                                         std::string_view channel_data);
[[nodiscard]] std::string unsubscribe_json(std::string_view channel);
[[nodiscard]] std::string client_event_json(std::string_view event, std::string_view channel,
                                            std::string_view data_marker);

/// HTTP API body for POST /apps/{id}/events: {"name":..,"channel":..,"data":"<marker>"}.
[[nodiscard]] std::string publish_body(std::string_view event, std::string_view channel,
                                       std::string_view data_marker);

// ---- HTTP --------------------------------------------------------------------------------

struct HttpResponse {
  int status = 0;
  bool close = false;  ///< the server will close the connection after this response
  std::string_view body;
};

/// Parses one HTTP/1.x response at the start of `buf`. Returns the bytes it spans (> 0) when
/// complete, 0 when more bytes are needed, -1 when malformed. Handles Content-Length, chunked
/// bodies (body then points at the first chunk only: the bench ignores bodies), and responses
/// without a body (1xx, 204, 304). A response without length that ends at connection close is
/// reported incomplete (0): the caller treats EOF as its end.
[[nodiscard]] long parse_http_response(std::string_view buf, HttpResponse& out) noexcept;

// ---- Sequence tracking -----------------------------------------------------------------------

/// Per-connection tracking of a sequence stream (1, 2, 3, ...) that may arrive slightly out of
/// order (publishes in flight on several HTTP connections). `bits` is a window of `wbits`
/// (a power of two, at least 64) flags for the most recent sequence numbers.
struct SeqState {
  std::uint64_t hi = 0;      ///< highest sequence seen
  std::uint64_t unique = 0;  ///< distinct sequences seen
  std::uint32_t dups = 0;    ///< sequences seen twice (within the window)
  std::uint32_t stale = 0;   ///< sequences older than the window (duplicate or very late)
};

enum class SeqResult { fresh, duplicate, stale };

SeqResult seq_observe(SeqState& st, std::uint64_t* bits, std::uint32_t wbits,
                      std::uint64_t seq) noexcept;

}  // namespace bench
