// The error maps (server/errors.hpp): every WebSocket row pinned to its wire code, delivery and
// text; every HTTP row to its status, code and text.
#include "server/errors.hpp"

#include <doctest/doctest.h>

#include <set>

#include "protocol/ws_frame.hpp"

using server::Delivery;
using server::WsError;

TEST_CASE("the error table is in enum order, one row per situation") {
  for (std::size_t i = 0; i < server::ws_error_table.size(); ++i) {
    CHECK(static_cast<std::size_t>(server::ws_error_table[i].error) == i);
  }
  CHECK(static_cast<std::size_t>(WsError::rewind_invalid) + 1 == server::ws_error_table.size());
}

TEST_CASE("every row: code, delivery, message") {
  struct Row {
    WsError e;
    int code;
    Delivery d;
    const char* message;
  };
  const Row rows[] = {
      {WsError::app_not_found, 4001, Delivery::error_and_close, "Application does not exist"},
      {WsError::app_disabled, 4003, Delivery::error_and_close, "Application disabled"},
      {WsError::origin_not_allowed, 4009, Delivery::error_and_close, "Origin not allowed"},
      {WsError::over_capacity, 4100, Delivery::error_and_close, "Over capacity"},
      {WsError::app_over_quota, 4004, Delivery::error_and_close,
       "Application is over adapter quota"},
      {WsError::slow_consumer, 4100, Delivery::error_and_close, "Over capacity"},
      {WsError::pong_timeout, 4201, Delivery::error_and_close, "Pong reply not received in time"},
      {WsError::signin_timeout, 4009, Delivery::error_and_close,
       "Connection not authorized within timeout."},
      {WsError::terminated_by_app, 4009, Delivery::error_and_close,
       "You got disconnected by the app."},
      {WsError::force_reconnect, 4200, Delivery::error_and_close,
       "Force reconnect requested by the app."},
      {WsError::shutting_down, 4200, Delivery::error_and_close, "Server shutting down"},
      {WsError::app_removed, 4001, Delivery::error_and_close, "Application does not exist"},
      {WsError::app_disabled_by_reload, 4003, Delivery::error_and_close, "Application disabled"},
      {WsError::rate_limit_terminate, 4301, Delivery::error_and_close,
       "Connection closed due to client event rate limit"},
      {WsError::frame_too_big, 1009, Delivery::close_only, "Message too big"},
      {WsError::frame_protocol_error, 1002, Delivery::close_only, "Protocol error"},
      {WsError::expected_continuation, 1002, Delivery::close_only, "Expected continuation frame"},
      {WsError::unexpected_continuation, 1002, Delivery::close_only,
       "Unexpected continuation frame"},
      {WsError::invalid_utf8, 1007, Delivery::close_only, "Invalid UTF-8"},
      {WsError::invalid_channel_name, 4300, Delivery::error_frame, ""},
      {WsError::signature_missing, 4009, Delivery::error_frame,
       "Authentication error: Authentication signature required for this channel"},
      {WsError::signature_invalid, 4009, Delivery::error_frame,
       "Authentication error: Channel requires authentication"},
      {WsError::foreign_server_to_user, 4009, Delivery::error_frame,
       "Authentication error: Cannot subscribe to another user's channel"},
      {WsError::subscription_limit, 4300, Delivery::error_frame,
       "Channel error: Subscription limit reached ("},
      {WsError::presence_data_missing, 4000, Delivery::error_frame,
       "Invalid message format: Missing channel_data for presence channel"},
      {WsError::presence_member_too_big, 4300, Delivery::error_frame,
       "Channel error: Presence member data size ("},
      {WsError::presence_full, 4100, Delivery::error_frame, "Over capacity"},
      {WsError::client_event_rate, 4301, Delivery::error_frame,
       "Client event rejected due to rate limit"},
      {WsError::client_event_no_channel, 4301, Delivery::error_frame,
       "Client event error: Channel required for client event"},
      {WsError::client_events_disabled, 4301, Delivery::error_frame,
       "Client event error: Client events are not enabled for this app"},
      {WsError::client_event_name_too_long, 4000, Delivery::error_frame,
       "Invalid event name: Event name exceeds maximum length of "},
      {WsError::client_event_channel_too_long, 4300, Delivery::error_frame,
       "Channel name invalid: Channel name exceeds maximum length of "},
      {WsError::client_event_wrong_channel, 4301, Delivery::error_frame,
       "Client event error: Client events can only be sent to private or presence channels"},
      {WsError::client_event_too_big, 4301, Delivery::error_frame,
       "Client event error: Event payload size "},
      {WsError::client_event_not_subscribed, 4301, Delivery::error_frame,
       "Client event error: Socket "},
      {WsError::signin_disabled, 4009, Delivery::error_frame,
       "Authentication error: User authentication is disabled for this app"},
      {WsError::signin_invalid, 4009, Delivery::error_frame,
       "Authentication error: Connection not authorized for signin."},
      {WsError::user_id_too_long, 4009, Delivery::error_frame,
       "Authentication error: User id exceeds maximum length of "},
      {WsError::watchlist_too_long, 4302, Delivery::error_frame, "Watchlist limit exceeded"},
      {WsError::recovery_disabled, 4301, Delivery::error_frame,
       "Connection recovery is not enabled"},
      {WsError::resume_no_positions, 4302, Delivery::error_frame,
       "No channel recovery positions provided"},
      {WsError::resume_invalid, 4000, Delivery::error_frame, "Invalid message format: "},
      {WsError::rewind_v1, 4300, Delivery::error_frame,
       "Channel error: Channel rewind is only supported on protocol V2"},
      {WsError::rewind_disabled, 4300, Delivery::error_frame,
       "Channel error: Channel rewind is disabled by policy for channel "},
      {WsError::rewind_invalid, 4000, Delivery::error_frame,
       "Invalid message format: Invalid rewind option in subscription data"},
  };
  REQUIRE(std::size(rows) == server::ws_error_table.size());
  std::set<WsError> seen;
  for (const Row& r : rows) {
    CAPTURE(r.message);
    CHECK(seen.insert(r.e).second);
    CHECK(server::code_of(r.e) == r.code);
    CHECK(server::spec(r.e).delivery == r.d);
    CHECK(server::spec(r.e).message == std::string_view(r.message));
  }
}

TEST_CASE("details complete the message; frame errors map to their close rows") {
  CHECK(server::error_message(WsError::subscription_limit, "100 channels per connection)") ==
        "Channel error: Subscription limit reached (100 channels per connection)");
  CHECK(server::error_message(WsError::presence_full) == "Over capacity");
  CHECK(server::ws_error_for(protocol::close_code_for(protocol::FrameError::too_big)) ==
        WsError::frame_too_big);
  CHECK(server::ws_error_for(protocol::close_code_for(protocol::FrameError::unmasked)) ==
        WsError::frame_protocol_error);
  CHECK(server::ws_error_for(protocol::close_code_for(protocol::FrameError::unknown_opcode)) ==
        WsError::frame_protocol_error);
}

// ---- HTTP ----------------------------------------------------------------------------------

using server::ApiError;

TEST_CASE("the HTTP error table is in enum order, one row per situation") {
  for (std::size_t i = 0; i < server::api_error_table.size(); ++i) {
    CHECK(static_cast<std::size_t>(server::api_error_table[i].error) == i);
  }
  CHECK(static_cast<std::size_t>(ApiError::users_need_presence) + 1 ==
        server::api_error_table.size());
}

TEST_CASE("every HTTP row: status, code, message") {
  struct Row {
    ApiError e;
    int status;
    const char* code;
    const char* message;
  };
  const Row rows[] = {
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
      {ApiError::event_name_too_long, 400, "limit_exceeded",
       "Event name exceeds maximum length of "},
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
  };
  REQUIRE(std::size(rows) == server::api_error_table.size());
  std::set<ApiError> seen;
  for (const Row& r : rows) {
    CAPTURE(r.message);
    CHECK(seen.insert(r.e).second);
    CHECK(server::spec(r.e).status == r.status);
    CHECK(server::spec(r.e).code == std::string_view(r.code));
    CHECK(server::spec(r.e).message == std::string_view(r.message));
  }
}

TEST_CASE("HTTP details complete the message") {
  CHECK(server::error_message(ApiError::too_many_channels, "101) exceeds limit (100)") ==
        "Number of channels (101) exceeds limit (100)");
  CHECK(server::error_message(ApiError::event_name_too_long, "200") ==
        "Event name exceeds maximum length of 200");
  CHECK(server::error_message(ApiError::auth_failed, "Invalid signature") == "Invalid signature");
  CHECK(server::error_message(ApiError::body_not_json) == "Request body is not valid JSON");
}

TEST_CASE("refused subscriptions: the channel-scoped type and status of every subscription row") {
  using server::WsError;
  struct Row {
    WsError e;
    std::string_view type;
    int status;
  };
  const Row rows[] = {
      {WsError::signature_missing, "AuthError", 401},
      {WsError::signature_invalid, "AuthError", 401},
      {WsError::foreign_server_to_user, "AuthError", 401},
      {WsError::presence_full, "LimitReached", 4100},
      {WsError::subscription_limit, "LimitReached", 4100},
      {WsError::presence_member_too_big, "LimitReached", 4301},
      {WsError::invalid_channel_name, "ServerError", 4300},
      {WsError::presence_data_missing, "ServerError", 4000},
  };
  for (const Row& r : rows) {
    CAPTURE(static_cast<int>(r.e));
    const server::SubscriptionRefusal got = server::subscription_refusal(r.e);
    CHECK(got.type == r.type);
    CHECK(got.status == r.status);
  }
}
