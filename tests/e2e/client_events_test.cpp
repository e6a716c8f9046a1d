// protocol.md §6: client events (checks, relay, user_id on presence, rate limit).

#include "tests/e2e/e2e.hpp"

namespace e2e {

namespace {

/// A refused client event: `pusher:error` {code} carrying the event's `channel` (pusher-js then
/// also hands it to that channel). Returns the message.
std::string expect_channel_error(WsClient& c, std::string_view channel, std::int64_t code) {
  const std::string msg = c.expect_message(soon());
  CHECK_MESSAGE(channel_of(msg) == std::string(channel), msg);
  const ErrorData e = error_of(msg);
  CHECK(e.code == code);
  return e.message;
}

}  // namespace

TEST_CASE("e2e: client events get 4301 when the app does not enable them") {
  ServerConfig cfg = default_config();
  cfg.app().enable_client_messages = false;
  Server server(cfg);
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  join_private(a, "private-chat");
  join_private(b, "private-chat");
  a.send_text(client_event_frame("client-x", "private-chat", "{}"));
  CHECK(expect_channel_error(a, "private-chat", 4301) ==
        "Client event error: Client events are not enabled for this app");
  a.expect_alive_and_idle();
  b.expect_alive_and_idle();
}

TEST_CASE("e2e: a client event on a channel the socket did not join gets 4301") {
  Server server;
  WsClient a;
  WsClient b;
  const std::string id = a.open(server.port());
  b.open(server.port());
  join_private(b, "private-other");
  a.send_text(client_event_frame("client-x", "private-other", "{}"));
  CHECK(expect_channel_error(a, "private-other", 4301) ==
        "Client event error: Socket " + id + " is not subscribed to channel private-other");
  a.expect_alive_and_idle();
  b.expect_alive_and_idle();
}

TEST_CASE("e2e: client events on public and encrypted channels get 4301") {
  Server server;
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  SUBCASE("public") {
    CHECK(a.subscribe_ok("pub") == "{}");
    CHECK(b.subscribe_ok("pub") == "{}");
    a.send_text(client_event_frame("client-x", "pub", "{}"));
  }
  SUBCASE("private-encrypted-") {
    join_private(a, "private-encrypted-x");
    join_private(b, "private-encrypted-x");
    a.send_text(client_event_frame("client-x", "private-encrypted-x", "{}"));
  }
  CHECK(a.expect_error(4301, soon()) ==
        "Client event error: Client events can only be sent to private or presence channels");
  a.expect_alive_and_idle();
  b.expect_alive_and_idle();
}

TEST_CASE("e2e: client events are relayed byte for byte to the others, never to the sender") {
  Server server;
  const std::string ch = "private-chat";
  WsClient a;
  WsClient b;
  WsClient c;
  a.open(server.port());
  b.open(server.port());
  c.open(server.port());
  join_private(a, ch);
  join_private(b, ch);
  join_private(c, ch);
  // Key order, number formatting and escapes must survive untouched.
  for (const std::string& data :
       {std::string(R"({"text":"hi","n":1.50,"z":{"b":2,"a":1},"u":"\u00e9\n","e":1E3,"l":[]})"),
        std::string(R"("a plain \"string\"")"), std::string("12.0"), std::string("null")}) {
    CAPTURE(data);
    const std::string frame = client_event_frame("client-typing", ch, data);
    a.send_text(frame);
    CHECK(b.expect_message(soon()) == frame);
    CHECK(c.expect_message(soon()) == frame);
  }
  a.expect_alive_and_idle();
  // A missing data is relayed as null.
  a.send_text(R"({"event":"client-nodata","channel":"private-chat"})");
  CHECK(b.expect_message(soon()) ==
        R"({"event":"client-nodata","channel":"private-chat","data":null})");
  a.expect_alive_and_idle();
}

TEST_CASE("e2e: client events on presence channels carry the sender's user_id") {
  Server server;
  const std::string ch = "presence-chat";
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  join_presence(a, ch, R"({"user_id":"1"})");
  join_presence(b, ch, R"({"user_id":"2"})");
  a.expect_event("pusher_internal:member_added", soon());
  a.send_text(client_event_frame("client-x", ch, R"({"a":1})"));
  CHECK(b.expect_message(soon()) ==
        R"({"event":"client-x","channel":"presence-chat","data":{"a":1},"user_id":"1"})");
  a.expect_alive_and_idle();
}

TEST_CASE("e2e: client events over max_client_events_per_second get 4301 and are dropped") {
  ServerConfig cfg = default_config();
  cfg.app().max_client_events_per_second = 2;
  Server server(cfg);
  const std::string ch = "private-rl";
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  join_private(a, ch);
  join_private(b, ch);
  for (int i = 1; i <= 3; ++i) {
    a.send_text(client_event_frame("client-n", ch, std::to_string(i)));
  }
  CHECK(expect_channel_error(a, ch, 4301) == "Client event rejected due to rate limit");
  a.expect_alive_and_idle();
  CHECK(b.expect_message(soon()) == client_event_frame("client-n", ch, "1"));
  CHECK(b.expect_message(soon()) == client_event_frame("client-n", ch, "2"));
  b.expect_alive_and_idle();
}

}  // namespace e2e
