#pragma once

/// RFC 6455 framing, server side: parse client frame headers, unmask, write server frame
/// headers, close payloads and UTF-8 validation. Pure functions; no I/O.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/codes.hpp"

namespace protocol {

/// Frame opcodes (RFC 6455 §5.2). Other values are rejected by `parse_frame_header`.
enum class Opcode : std::uint8_t {
  continuation = 0,  ///< Continuation of a fragmented data message.
  text = 1,          ///< UTF-8 text data frame.
  binary = 2,        ///< Binary data frame.
  close = 8,         ///< Close control frame.
  ping = 9,          ///< Ping control frame.
  pong = 10,         ///< Pong control frame.
};

/// True for close, ping and pong.
[[nodiscard]] constexpr bool is_control(Opcode op) noexcept {
  return (static_cast<std::uint8_t>(op) & 0x08) != 0;
}

/// Largest server frame header: 2 bytes + 8-byte extended length (server frames are unmasked).
inline constexpr std::size_t max_frame_header = 10;
/// Largest client frame header: 2 + 8 + 4-byte masking key.
inline constexpr std::size_t max_client_frame_header = 14;
/// Largest payload of a control frame (RFC 6455 §5.5).
inline constexpr std::size_t max_control_payload = 125;

/// A parsed frame header. `header_length` bytes precede the payload in the input.
struct FrameHeader {
  bool fin = false;                      ///< Final fragment.
  bool rsv = false;                      ///< Any RSV bit set (always false on success).
  Opcode opcode = Opcode::continuation;  ///< Frame opcode.
  bool masked = false;                   ///< Mask bit (always true on success).
  std::array<std::uint8_t, 4> mask{};    ///< Masking key.
  std::uint64_t payload_length = 0;      ///< Payload length in bytes.
  std::size_t header_length = 0;         ///< Bytes of header, including the masking key.
};

/// Result of `parse_frame_header`. Values are never renumbered.
enum class FrameError {
  none,                ///< A complete header was parsed.
  need_more,           ///< The input is shorter than the header; read more and retry.
  reserved_bits,       ///< An RSV bit is set (no extension was negotiated).
  unknown_opcode,      ///< Opcode 3-7 or 11-15.
  unmasked,            ///< A client frame without the mask bit.
  control_too_long,    ///< A control frame with more than 125 payload bytes.
  control_fragmented,  ///< A control frame with FIN = 0.
  too_big,             ///< Payload longer than the caller's limit.
  non_minimal_length,  ///< Extended length used where a shorter form fits.
  invalid_length,      ///< 64-bit length with the most significant bit set.
};

/// The close code to send for a frame error: 1009 for `too_big`, 1002 for the others. Must not
/// be called with `none` or `need_more` (returns `protocol_error` for them).
[[nodiscard]] CloseCode close_code_for(FrameError e) noexcept;

/// Parses the header of a client-to-server frame at the start of `in`. On `none`, fills `out`.
/// Errors that the first two bytes already show (RSV, opcode, mask bit, control rules) are
/// reported before `need_more`; length errors once the extended length is available. A payload
/// longer than `max_payload` gives `too_big` (it also applies to each fragment; the caller
/// limits the total of a fragmented message).
[[nodiscard]] FrameError parse_frame_header(std::span<const std::uint8_t> in,
                                            std::uint64_t max_payload, FrameHeader& out) noexcept;

/// XORs `payload` in place with `mask`. `offset` is the position of `payload[0]` within the
/// whole frame payload, so a payload can be unmasked in pieces as it arrives. Works a 64-bit word
/// at a time; no alignment requirement.
void unmask(std::span<std::uint8_t> payload, const std::array<std::uint8_t, 4>& mask,
            std::size_t offset = 0) noexcept;

/// Writes an unmasked server frame header to `out` (at least `max_frame_header` bytes) and
/// returns its length: 2, 4 or 10.
std::size_t write_frame_header(std::uint8_t* out, Opcode op, std::uint64_t payload_length,
                               bool fin = true) noexcept;

/// Returns a complete unmasked server frame: header followed by `payload`.
[[nodiscard]] std::string make_frame(Opcode op, std::string_view payload);

/// Client-side encoder for tests and the bench: a masked frame with the given key.
[[nodiscard]] std::string make_masked_frame(Opcode op, std::string_view payload,
                                            std::array<std::uint8_t, 4> mask, bool fin = true);

/// Close frame payload: the code (big-endian) and `reason`, truncated so the payload fits in 125
/// bytes without splitting a UTF-8 sequence. `reason` is assumed to be valid UTF-8.
[[nodiscard]] std::string close_payload(std::uint16_t code, std::string_view reason);

/// Close frame payload: see the `std::uint16_t` overload.
[[nodiscard]] std::string close_payload(CloseCode code, std::string_view reason);

/// A parsed close payload. `reason` is a view into the parsed bytes.
struct ClosePayload {
  std::uint16_t code = 0;   ///< Close code; 1005 (`no_status`) when the payload was empty.
  std::string_view reason;  ///< Valid UTF-8 reason, possibly empty.
};

/// Parses a received close payload. Empty → `{1005, ""}`. Returns `std::nullopt` (the caller
/// closes with 1002) for a 1-byte payload, a payload over 125 bytes, a code that may not appear
/// on the wire, or a reason that is not valid UTF-8. Valid codes: 1000-1003, 1007-1014 and
/// 3000-4999 (RFC 6455 §7.4 plus the IANA registry).
[[nodiscard]] std::optional<ClosePayload> parse_close_payload(std::string_view payload) noexcept;

/// True when `code` may be sent in a close frame (see `parse_close_payload`).
[[nodiscard]] bool is_valid_close_code(std::uint16_t code) noexcept;

/// True when `s` is valid UTF-8 (simdjson's validator; fast path for text frames).
[[nodiscard]] bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace protocol
