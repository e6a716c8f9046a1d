#pragma once

/// WebSocket close codes and Pusher error codes (protocol.md §8.2, §8.3; RFC 6455 §7.4).

#include <cstdint>

namespace protocol {

/// Close codes we send (or recognise). The Pusher range decides what clients do next:
/// 4000-4099 don't reconnect, 4100-4199 back off, 4200-4299 reconnect now, 4300+ don't reconnect.
/// Values are the wire values and are never renumbered.
enum class CloseCode : std::uint16_t {
  normal = 1000,            ///< Normal closure.
  going_away = 1001,        ///< Endpoint going away (shutdown, page left).
  protocol_error = 1002,    ///< RFC 6455 framing violation by the peer.
  unsupported_data = 1003,  ///< Data type the endpoint cannot accept.
  no_status = 1005,         ///< Never sent: reported for a close frame without a payload.
  abnormal = 1006,          ///< Never sent: the connection dropped without a close frame.
  invalid_payload = 1007,   ///< Invalid UTF-8 in a text frame or close reason.
  policy_violation = 1008,  ///< Generic policy violation.
  message_too_big = 1009,   ///< Inbound message over the configured size cap.
  internal_error = 1011,    ///< Unexpected server condition.

  ssl_only = 4000,                      ///< "Application only accepts SSL connections".
  invalid_message_format = 4000,        ///< The same value as a pusher:error code (§8.3).
  app_not_found = 4001,                 ///< "Application does not exist".
  app_disabled = 4003,                  ///< "Application disabled".
  app_over_quota = 4004,                ///< "Application is over adapter quota".
  path_not_found = 4005,                ///< "Path not found" (defined, unused).
  invalid_version_format = 4006,        ///< "Invalid version string format" (defined, unused).
  unsupported_protocol_version = 4007,  ///< "Unsupported protocol version" (defined, unused).
  no_protocol_version = 4008,           ///< "No protocol version supplied" (defined, unused).
  unauthorized = 4009,                  ///< Origin rejected, sign-in timeout, terminated by app.
  over_capacity = 4100,                 ///< Node connection cap reached, or slow consumer.
  reconnect_immediately = 4200,         ///< Shutdown or force_reconnect.
  pong_timeout = 4201,                  ///< "Pong reply not received in time".
  closed_after_inactivity = 4202,       ///< Defined, unused in V1.
  channel_error = 4300,                 ///< Channel errors (sent as error frames only in V1).
  client_event_error = 4301,            ///< Client-event rejection / rate-limit termination.
  watchlist_limit_exceeded = 4302,      ///< Defined, unused.
  broadcast_error = 4303,               ///< Internal broadcast error.
};

/// The numeric wire value of a close code.
[[nodiscard]] constexpr std::uint16_t to_uint(CloseCode c) noexcept {
  return static_cast<std::uint16_t>(c);
}

/// The close code as the `int` used in `pusher:error` frames.
[[nodiscard]] constexpr int to_int(CloseCode c) noexcept {
  return static_cast<int>(c);
}

/// `code` values of `pusher:error` frames (protocol.md §8.3), as `int` for `Error` / `Result`.
namespace error_codes {
/// Invalid JSON, missing event, bad subscribe/unsubscribe shape, event name too long.
inline constexpr int invalid_message_format = 4000;
/// Unknown app key.
inline constexpr int app_not_found = 4001;
/// Disabled app.
inline constexpr int app_disabled = 4003;
/// App connection quota reached.
inline constexpr int app_over_quota = 4004;
/// Authentication failures (subscribe, sign-in), origin rejection, sign-in timeout.
inline constexpr int unauthorized = 4009;
/// Over capacity (node cap, presence channel full).
inline constexpr int over_capacity = 4100;
/// Reconnect immediately (shutdown, force_reconnect).
inline constexpr int reconnect_immediately = 4200;
/// Pong not received in time.
inline constexpr int pong_timeout = 4201;
/// Channel errors: invalid name, presence data errors.
inline constexpr int channel_error = 4300;
/// Client-event errors and rate limiting.
inline constexpr int client_event_error = 4301;
}  // namespace error_codes

}  // namespace protocol
