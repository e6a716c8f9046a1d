#pragma once
// Every situation in which the server refuses something on a WebSocket connection, or closes it,
// and what the client gets for it: one enum, one table (protocol.md §8; Sockudo's codes and
// messages). The session only names the situation; code, text and whether the connection ends
// come from here. tests/unit/limits/errors_test.cpp pins every row.
//
// How a row is sent (`Delivery`):
//  - error_frame: `pusher:error {code, message}`, the connection stays open;
//  - error_and_close: `pusher:error` then a close frame with the same code and message;
//  - close_only: a close frame alone (RFC 6455 violations: the client broke the framing).
// Messages ending in a separator ("... of ", "(") take a detail appended by the caller
// (`error_message(e, detail)`), e.g. the configured limit.
//
// The same for HTTP (`ApiError`, below): every refusal of the HTTP API and of the main port's
// HTTP stage, with its status, Sockudo-style `code` and message; the body is
// `{"error":message,"code":code,"status":N}` (http_api::error_response). Not in the table: the
// rate limiter's 429 (its own body, http_api::too_many_requests) and unknown routes (a plain
// `404 NOT FOUND`).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/codes.hpp"

namespace server {

enum class WsError : std::uint8_t {
  // ---- admission (protocol.md §1.2): error frame + close ----------------------------------
  app_not_found,       ///< unknown app key
  app_disabled,        ///< app.enabled = false
  origin_not_allowed,  ///< Origin not in allowed_origins
  over_capacity,       ///< node cap, per-IP cap, app quota with quota_close_code 4100
  app_over_quota,      ///< app max_connections reached (4004)
  // ---- connection life: error frame + close -------------------------------------------------
  slow_consumer,      ///< send queue over budget under backpressure
  pong_timeout,       ///< no pong after our ping
  signin_timeout,     ///< user authentication required and not done in time
  terminated_by_app,  ///< POST .../terminate_connections
  force_reconnect,    ///< POST .../users/{id}/force_reconnect (Sockudo 5): reconnect at once
  shutting_down,      ///< graceful shutdown
  app_removed,        ///< removed by a config reload
  app_disabled_by_reload,
  rate_limit_terminate,  ///< message_rate_limit / client events over the limit, terminate_on_limit
  // ---- RFC 6455 violations: close frame only --------------------------------------------------
  frame_too_big,            ///< message over websocket_max_payload_kb
  frame_protocol_error,     ///< unmasked, reserved bits, unknown opcode, bad control frame
  expected_continuation,    ///< a data frame inside a fragmented message
  unexpected_continuation,  ///< a continuation with no fragmented message
  invalid_utf8,             ///< text message (or fragments) not UTF-8
  // ---- subscriptions: error frame, stays open ------------------------------------------------
  invalid_channel_name,     ///< detail: the validator's message (whole text)
  signature_missing,        ///< protected channel without auth
  signature_invalid,        ///< HMAC does not verify
  foreign_server_to_user,   ///< #server-to-user-<someone else>
  subscription_limit,       ///< detail: "N channels per connection)"
  presence_data_missing,    ///< presence subscribe without channel_data
  presence_member_too_big,  ///< detail: "x KB) exceeds limit (y KB)"
  presence_full,            ///< max_presence_members_per_channel reached
  // ---- client events: error frame, stays open ------------------------------------------------
  client_event_rate,  ///< max_client_events_per_second, or message_rate_limit
  client_event_no_channel,
  client_events_disabled,
  client_event_name_too_long,     ///< detail: the limit
  client_event_channel_too_long,  ///< detail: the limit
  client_event_wrong_channel,     ///< not a private/presence channel
  client_event_too_big,           ///< detail: "(N bytes) exceeds limit (xKB)"
  client_event_not_subscribed,    ///< detail: "<socket id> is not subscribed to channel <ch>"
  // ---- sign-in: error frame, stays open ------------------------------------------------------
  signin_disabled,
  signin_invalid,
  user_id_too_long,  ///< detail: the limit
  watchlist_too_long,
  // ---- protocol V2 (docs/PROTOCOL_V2.md): error frame, stays open ----------------------------
  recovery_disabled,    ///< resume while connection_recovery is off
  resume_no_positions,  ///< resume with an empty position map
  resume_invalid,       ///< detail: what is wrong with the resume data
  rewind_v1,            ///< rewind asked on a protocol-7 connection
  rewind_disabled,      ///< detail: "'<channel>'" (no replay buffer to rewind from)
  rewind_invalid,       ///< rewind value is not a positive count / {count, seconds}
};

enum class Delivery : std::uint8_t { error_frame, error_and_close, close_only };

struct WsErrorSpec {
  WsError error;
  protocol::CloseCode code;  ///< the pusher:error code and/or the close code
  Delivery delivery;
  std::string_view message;  ///< whole text, or the prefix a detail completes
};

using protocol::CloseCode;
inline constexpr std::array<WsErrorSpec, 45> ws_error_table{{
    {WsError::app_not_found, CloseCode::app_not_found, Delivery::error_and_close,
     "Application does not exist"},
    {WsError::app_disabled, CloseCode::app_disabled, Delivery::error_and_close,
     "Application disabled"},
    {WsError::origin_not_allowed, CloseCode::unauthorized, Delivery::error_and_close,
     "Origin not allowed"},
    {WsError::over_capacity, CloseCode::over_capacity, Delivery::error_and_close, "Over capacity"},
    {WsError::app_over_quota, CloseCode::app_over_quota, Delivery::error_and_close,
     "Application is over adapter quota"},
    {WsError::slow_consumer, CloseCode::over_capacity, Delivery::error_and_close, "Over capacity"},
    {WsError::pong_timeout, CloseCode::pong_timeout, Delivery::error_and_close,
     "Pong reply not received in time"},
    {WsError::signin_timeout, CloseCode::unauthorized, Delivery::error_and_close,
     "Connection not authorized within timeout."},
    {WsError::terminated_by_app, CloseCode::unauthorized, Delivery::error_and_close,
     "You got disconnected by the app."},
    {WsError::force_reconnect, CloseCode::reconnect_immediately, Delivery::error_and_close,
     "Force reconnect requested by the app."},
    {WsError::shutting_down, CloseCode::reconnect_immediately, Delivery::error_and_close,
     "Server shutting down"},
    {WsError::app_removed, CloseCode::app_not_found, Delivery::error_and_close,
     "Application does not exist"},
    {WsError::app_disabled_by_reload, CloseCode::app_disabled, Delivery::error_and_close,
     "Application disabled"},
    {WsError::rate_limit_terminate, CloseCode::client_event_error, Delivery::error_and_close,
     "Connection closed due to client event rate limit"},
    {WsError::frame_too_big, CloseCode::message_too_big, Delivery::close_only, "Message too big"},
    {WsError::frame_protocol_error, CloseCode::protocol_error, Delivery::close_only,
     "Protocol error"},
    {WsError::expected_continuation, CloseCode::protocol_error, Delivery::close_only,
     "Expected continuation frame"},
    {WsError::unexpected_continuation, CloseCode::protocol_error, Delivery::close_only,
     "Unexpected continuation frame"},
    {WsError::invalid_utf8, CloseCode::invalid_payload, Delivery::close_only, "Invalid UTF-8"},
    {WsError::invalid_channel_name, CloseCode::channel_error, Delivery::error_frame, ""},
    {WsError::signature_missing, CloseCode::unauthorized, Delivery::error_frame,
     "Authentication error: Authentication signature required for this channel"},
    {WsError::signature_invalid, CloseCode::unauthorized, Delivery::error_frame,
     "Authentication error: Channel requires authentication"},
    {WsError::foreign_server_to_user, CloseCode::unauthorized, Delivery::error_frame,
     "Authentication error: Cannot subscribe to another user's channel"},
    {WsError::subscription_limit, CloseCode::channel_error, Delivery::error_frame,
     "Channel error: Subscription limit reached ("},
    {WsError::presence_data_missing, CloseCode::invalid_message_format, Delivery::error_frame,
     "Invalid message format: Missing channel_data for presence channel"},
    {WsError::presence_member_too_big, CloseCode::channel_error, Delivery::error_frame,
     "Channel error: Presence member data size ("},
    {WsError::presence_full, CloseCode::over_capacity, Delivery::error_frame, "Over capacity"},
    {WsError::client_event_rate, CloseCode::client_event_error, Delivery::error_frame,
     "Client event rejected due to rate limit"},
    {WsError::client_event_no_channel, CloseCode::client_event_error, Delivery::error_frame,
     "Client event error: Channel required for client event"},
    {WsError::client_events_disabled, CloseCode::client_event_error, Delivery::error_frame,
     "Client event error: Client events are not enabled for this app"},
    {WsError::client_event_name_too_long, CloseCode::invalid_message_format, Delivery::error_frame,
     "Invalid event name: Event name exceeds maximum length of "},
    {WsError::client_event_channel_too_long, CloseCode::channel_error, Delivery::error_frame,
     "Channel name invalid: Channel name exceeds maximum length of "},
    {WsError::client_event_wrong_channel, CloseCode::client_event_error, Delivery::error_frame,
     "Client event error: Client events can only be sent to private or presence channels"},
    {WsError::client_event_too_big, CloseCode::client_event_error, Delivery::error_frame,
     "Client event error: Event payload size "},
    {WsError::client_event_not_subscribed, CloseCode::client_event_error, Delivery::error_frame,
     "Client event error: Socket "},
    {WsError::signin_disabled, CloseCode::unauthorized, Delivery::error_frame,
     "Authentication error: User authentication is disabled for this app"},
    {WsError::signin_invalid, CloseCode::unauthorized, Delivery::error_frame,
     "Authentication error: Connection not authorized for signin."},
    {WsError::user_id_too_long, CloseCode::unauthorized, Delivery::error_frame,
     "Authentication error: User id exceeds maximum length of "},
    {WsError::watchlist_too_long, CloseCode::watchlist_limit_exceeded, Delivery::error_frame,
     "Watchlist limit exceeded"},
    {WsError::recovery_disabled, CloseCode::client_event_error, Delivery::error_frame,
     "Connection recovery is not enabled"},
    {WsError::resume_no_positions, CloseCode::watchlist_limit_exceeded, Delivery::error_frame,
     "No channel recovery positions provided"},
    {WsError::resume_invalid, CloseCode::invalid_message_format, Delivery::error_frame,
     "Invalid message format: "},
    {WsError::rewind_v1, CloseCode::channel_error, Delivery::error_frame,
     "Channel error: Channel rewind is only supported on protocol V2"},
    {WsError::rewind_disabled, CloseCode::channel_error, Delivery::error_frame,
     "Channel error: Channel rewind is disabled by policy for channel "},
    {WsError::rewind_invalid, CloseCode::invalid_message_format, Delivery::error_frame,
     "Invalid message format: Invalid rewind option in subscription data"},
}};

/// The row of `e` (the table is in enum order; the unit test checks that).
[[nodiscard]] constexpr const WsErrorSpec& spec(WsError e) noexcept {
  return ws_error_table[static_cast<std::size_t>(e)];
}

/// The wire code of `e` (pusher:error `code` and/or close code).
[[nodiscard]] constexpr std::uint16_t code_of(WsError e) noexcept {
  return protocol::to_uint(spec(e).code);
}

/// The message of `e`, completed by `detail` where the row takes one.
[[nodiscard]] inline std::string error_message(WsError e, std::string_view detail = {}) {
  std::string out(spec(e).message);
  out.append(detail);
  return out;
}

/// How a refused subscription is told to its channel: `pusher:subscription_error`
/// {type, error, status} (Soketi's shape; protocol.md §3.4 revised), sent after the row's
/// connection-level `pusher:error`.
struct SubscriptionRefusal {
  std::string_view type;  ///< AuthError, LimitReached or ServerError
  int status;             ///< 401 for AuthError; the cause's code otherwise
};

/// The channel-scoped refusal of a subscription row: auth failures are AuthError 401, limits
/// LimitReached with Soketi's status (4100 full or too many channels, 4301 member too big),
/// everything else ServerError with the row's code. A channel name over the length limit is
/// LimitReached 4009 (Soketi's), decided by the caller (the validator's text names the cause).
[[nodiscard]] constexpr SubscriptionRefusal subscription_refusal(WsError e) noexcept {
  switch (e) {
    case WsError::signature_missing:
    case WsError::signature_invalid:
    case WsError::foreign_server_to_user:
      return {"AuthError", 401};
    case WsError::presence_full:
    case WsError::subscription_limit:
      return {"LimitReached", 4100};
    case WsError::presence_member_too_big:
      return {"LimitReached", 4301};
    default:
      return {"ServerError", protocol::to_int(spec(e).code)};
  }
}

/// The close frame for an RFC 6455 frame error found by protocol::parse_frame_header.
[[nodiscard]] constexpr WsError ws_error_for(protocol::CloseCode frame_close) noexcept {
  return frame_close == CloseCode::message_too_big ? WsError::frame_too_big
                                                   : WsError::frame_protocol_error;
}

// ============================================================================================
// HTTP
// ============================================================================================

enum class ApiError : std::uint8_t {
  // ---- the request itself (HTTP stage): answered, then the connection closes ----------------
  malformed_request,  ///< Beast could not parse the request
  body_too_large,     ///< body over http_request_limit_mb
  header_too_large,   ///< request line + headers over 16 KB
  // ---- the WebSocket route (/app/{key}) refused before the upgrade ---------------------------
  upgrade_shutting_down,  ///< graceful shutdown: no new connections
  upgrade_not_get,
  upgrade_invalid,             ///< not an upgrade, no key, or not version 13
  upgrade_protocol_invalid,    ///< `protocol` query parameter not a number 0..255
  upgrade_format_unsupported,  ///< V2 `format` pushcore does not speak; detail: "'<format>'"
  // ---- authentication and routing (protocol.md §9.1) -----------------------------------------
  auth_params_missing,  ///< no query string at all
  app_key_unknown,      ///< `auth_key` missing or not a known app
  app_mismatch,         ///< the route's app id is not the key's app
  auth_failed,          ///< detail: auth::message(ApiAuthError) (whole text)
  app_not_found,        ///< GET /up/{app_id} of an unknown or disabled app
  cluster_unavailable,  ///< cluster mode, Redis unreachable (+ Retry-After: 1)
  // ---- publishing (/events, /batch_events) ----------------------------------------------------
  body_not_json,
  batch_missing,         ///< no `batch` array
  batch_too_large,       ///< detail: "N) exceeds limit (M)"
  event_not_object,      ///< a batch item that is not an object
  event_name_missing,    ///< no `name` string
  event_name_too_long,   ///< detail: the limit
  channel_not_string,    ///< an entry of `channels` that is not a string
  channel_missing,       ///< neither `channel` nor a non-empty `channels`
  too_many_channels,     ///< detail: "N) exceeds limit (M)"
  invalid_channel_name,  ///< detail: the validator's message (whole text)
  encrypted_multi_channel,
  event_data_too_large,  ///< detail: "N bytes) exceeds limit (M bytes)"
  idempotency_key_empty,
  idempotency_key_too_long,  ///< detail: the limit
  idempotency_in_progress,   ///< a retry while the first request is unanswered (+ Retry-After: 1)
  // ---- queries ----------------------------------------------------------------------------------
  user_count_needs_presence_prefix,  ///< GET /channels?info=user_count over non-presence channels
  user_count_needs_presence,         ///< GET /channels/{non-presence}?info=user_count
  users_need_presence,               ///< GET /channels/{non-presence}/users
};

struct ApiErrorSpec {
  ApiError error;
  std::uint16_t status;      ///< HTTP status
  std::string_view code;     ///< the body's `code`
  std::string_view message;  ///< whole text, or the prefix a detail completes
};

inline constexpr std::array<ApiErrorSpec, 32> api_error_table{{
    {ApiError::malformed_request, 400, "invalid_input", "Malformed HTTP request"},
    {ApiError::body_too_large, 413, "payload_too_large",
     "Request body exceeds the configured limit"},
    {ApiError::header_too_large, 431, "header_too_large", "Request header fields too large"},
    {ApiError::upgrade_shutting_down, 503, "service_unavailable", "Server is shutting down"},
    {ApiError::upgrade_not_get, 405, "invalid_input", "WebSocket upgrade requires GET"},
    {ApiError::upgrade_invalid, 400, "invalid_input", "Invalid WebSocket upgrade request"},
    {ApiError::upgrade_protocol_invalid, 400, "invalid_input", "Invalid protocol version"},
    {ApiError::upgrade_format_unsupported, 400, "invalid_input",
     "Unsupported wire format (this server speaks json only): "},
    {ApiError::auth_params_missing, 400, "invalid_input",
     "Missing authentication query parameters"},
    {ApiError::app_key_unknown, 404, "app_not_found",
     "Application key not found or invalid: Invalid app key"},
    {ApiError::app_mismatch, 401, "auth_failed", "Authenticated app does not match route app_id"},
    {ApiError::auth_failed, 401, "auth_failed", ""},
    {ApiError::app_not_found, 404, "app_not_found", "Application not found"},
    {ApiError::cluster_unavailable, 503, "cluster_unavailable",
     "The cluster backend (Redis) is unreachable, retry later"},
    {ApiError::body_not_json, 400, "invalid_input", "Request body is not valid JSON"},
    {ApiError::batch_missing, 400, "invalid_input", "Missing 'batch' array"},
    {ApiError::batch_too_large, 400, "limit_exceeded", "Batch size ("},
    {ApiError::event_not_object, 400, "invalid_input", "Event must be a JSON object"},
    {ApiError::event_name_missing, 400, "invalid_input", "Event name is required"},
    {ApiError::event_name_too_long, 400, "limit_exceeded", "Event name exceeds maximum length of "},
    {ApiError::channel_not_string, 400, "invalid_input", "Channel names must be strings"},
    {ApiError::channel_missing, 400, "missing_channel_info",
     "Missing channel information: provide 'channel' or a non-empty 'channels'"},
    {ApiError::too_many_channels, 400, "limit_exceeded", "Number of channels ("},
    {ApiError::invalid_channel_name, 400, "invalid_input", ""},
    {ApiError::encrypted_multi_channel, 400, "invalid_input",
     "An event to an encrypted channel must have exactly one channel"},
    {ApiError::event_data_too_large, 413, "payload_too_large", "Event data size ("},
    {ApiError::idempotency_key_empty, 400, "invalid_input", "Idempotency key must not be empty"},
    {ApiError::idempotency_key_too_long, 400, "invalid_input",
     "Idempotency key exceeds maximum length of "},
    {ApiError::idempotency_in_progress, 503, "backpressure",
     "Idempotent publish is still in progress"},
    {ApiError::user_count_needs_presence_prefix, 400, "invalid_input",
     "user_count is only available for presence channels. Use filter_by_prefix=presence-"},
    {ApiError::user_count_needs_presence, 400, "invalid_input",
     "user_count is only available for presence channels"},
    {ApiError::users_need_presence, 400, "invalid_input",
     "Only presence channels support this endpoint"},
}};

/// The row of `e` (the table is in enum order; the unit test checks that).
[[nodiscard]] constexpr const ApiErrorSpec& spec(ApiError e) noexcept {
  return api_error_table[static_cast<std::size_t>(e)];
}

/// The message of `e`, completed by `detail` where the row takes one.
[[nodiscard]] inline std::string error_message(ApiError e, std::string_view detail = {}) {
  std::string out(spec(e).message);
  out.append(detail);
  return out;
}

}  // namespace server
