// The error map (server/errors.hpp): every row pinned to its wire code, delivery and text.
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
  CHECK(static_cast<std::size_t>(WsError::watchlist_too_long) + 1 == server::ws_error_table.size());
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
      {WsError::shutting_down, 4200, Delivery::error_and_close, "Server shutting down"},
      {WsError::app_removed, 4001, Delivery::error_and_close, "Application does not exist"},
      {WsError::app_disabled_by_reload, 4003, Delivery::error_and_close, "Application disabled"},
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
