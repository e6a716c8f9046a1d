// protocol.md §2: client ping, server ping + pong timeout (4201), WebSocket-level ping/pong,
// the close handshake, and the user-authentication timeout.

#include "tests/e2e/e2e.hpp"

namespace e2e {
namespace {

constexpr std::string_view server_ping = R"({"event":"pusher:ping"})";

ServerConfig quick_heartbeat() {
  ServerConfig cfg = default_config();
  cfg.activity_timeout = 1s;
  cfg.pong_timeout = 1s;
  return cfg;
}

}  // namespace

TEST_CASE("e2e: pusher:ping is answered with pusher:pong without a data key") {
  Server server;
  WsClient c;
  c.open(server.port());
  c.send_text(ping_frame());
  CHECK(c.expect_message(soon()) == R"({"event":"pusher:pong"})");
  // pusher-js style ping with other payload shapes.
  c.send_text(R"({"event":"pusher:ping"})");
  CHECK(c.expect_message(soon()) == R"({"event":"pusher:pong"})");
  c.send_text(R"({"event":"pusher:ping","data":"x"})");
  CHECK(c.expect_message(soon()) == R"({"event":"pusher:pong"})");
}

TEST_CASE("e2e: an idle client is pinged after activity_timeout and closed with 4201") {
  Server server(quick_heartbeat());
  WsClient c;
  const auto start = Clock::now();
  const std::string id = c.open(server.port());
  CHECK(c.established_frame().find(R"(\"activity_timeout\":1})") != std::string::npos);
  CHECK(c.expect_message(within(5s)) == server_ping);
  CHECK(ms_since(start) >= 900);
  const auto r = c.expect_error_then_close(4201, within(5s));
  CHECK(r.message == "Pong reply not received in time");
  CHECK(r.close.reason == "Pong reply not received in time");
  CHECK(ms_since(start) >= 1800);
}

TEST_CASE("e2e: answering the server ping keeps the connection alive") {
  Server server(quick_heartbeat());
  RawWsClient c;
  c.open(server.port());
  auto answer = [&](const char* how) {
    if (std::string_view(how) == "pusher:pong") {
      REQUIRE(c.send_text(pong_frame()));
    } else if (std::string_view(how) == "pusher:ping") {
      REQUIRE(c.send_text(ping_frame()));
      CHECK(c.expect_event("pusher:pong", soon()) == R"({"event":"pusher:pong"})");
    } else {
      REQUIRE(c.send_frame(Opcode::ping, "hb"));
      const RawFrame f = c.read_frame(soon());
      REQUIRE_MESSAGE(f.is_frame(), f.describe());
      CHECK(f.opcode == static_cast<std::uint8_t>(Opcode::pong));
    }
  };
  const char* how = "pusher:pong";
  SUBCASE("with pusher:pong") {
    how = "pusher:pong";
  }
  SUBCASE("with pusher:ping") {
    how = "pusher:ping";
  }
  SUBCASE("with a WebSocket ping frame") {
    how = "ws-ping";
  }
  CAPTURE(how);
  // Two full ping cycles: if the answer did not clear the ping state, the second thing to
  // arrive would be the 4201 error instead of another ping.
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    const auto msg = c.read_message(within(5s));
    REQUIRE_MESSAGE(msg.has_value(), c.last_frame().describe());
    CHECK(*msg == server_ping);
    answer(how);
  }
  REQUIRE(c.send_text(ping_frame()));
  CHECK(c.expect_event("pusher:pong", soon()) == R"({"event":"pusher:pong"})");
}

TEST_CASE("e2e: other messages after a server ping do not count as a pong") {
  Server server(quick_heartbeat());
  WsClient c;
  c.open(server.port());
  CHECK(c.expect_message(within(5s)) == server_ping);
  c.subscribe("some-channel");
  CHECK(event_of(c.expect_message(soon())) == "pusher_internal:subscription_succeeded");
  c.expect_error_then_close(4201, within(5s));
}

TEST_CASE("e2e: a WebSocket ping frame is answered with a pong carrying the same payload") {
  Server server;
  RawWsClient c;
  c.open(server.port());
  REQUIRE(c.send_frame(Opcode::ping, "hello"));
  const RawFrame f = c.read_frame(soon());
  REQUIRE_MESSAGE(f.is_frame(), f.describe());
  CHECK(f.opcode == static_cast<std::uint8_t>(Opcode::pong));
  CHECK(f.payload == "hello");
  CHECK(f.fin);
  CHECK_FALSE(f.masked);
  // An unsolicited pong from the client is ignored.
  REQUIRE(c.send_frame(Opcode::pong, "x"));
  REQUIRE(c.send_text(ping_frame()));
  CHECK(c.expect_event("pusher:pong", soon()) == R"({"event":"pusher:pong"})");
}

TEST_CASE("e2e: close handshake: the server answers a close frame and ends the connection") {
  Server server;
  SUBCASE("raw client") {
    RawWsClient c;
    c.open(server.port());
    REQUIRE(c.send_close(1000, "bye"));
    const RawFrame f = c.read_frame(soon());
    REQUIRE_MESSAGE(f.is_frame(), f.describe());
    CHECK(f.opcode == static_cast<std::uint8_t>(Opcode::close));
    CHECK(f.close_code() == 1000);
    CHECK(c.wait_eof(soon()));
  }
  SUBCASE("Beast client") {
    WsClient c;
    c.open(server.port());
    const auto r = c.close(1000, "bye");
    REQUIRE_MESSAGE(r.has_value(), c.last_error());
    CHECK(r->clean);
    CHECK(r->code == 1000);
  }
}

TEST_CASE("e2e: user_authentication_timeout closes sockets that neither sign in nor subscribe") {
  ServerConfig cfg = default_config();
  cfg.app().enable_user_authentication = true;
  cfg.user_authentication_timeout = 1s;
  Server server(cfg);

  SUBCASE("idle socket -> 4009") {
    WsClient c;
    const auto start = Clock::now();
    c.open(server.port());
    const auto r = c.expect_error_then_close(4009, within(5s));
    CHECK(r.message == "Connection not authorized within timeout.");
    CHECK(r.close.reason == "Connection not authorized within timeout.");
    CHECK(ms_since(start) >= 900);
  }
  SUBCASE("a private subscription clears the timer") {
    WsClient c;
    c.open(server.port());
    join_private(c, "private-ok");
    // Outlive the timeout by waiting for something unrelated that takes longer: a second
    // socket's 4009 close.
    WsClient idle;
    idle.open(server.port());
    idle.expect_error_then_close(4009, within(5s));
    c.expect_alive_and_idle();
  }
}

}  // namespace e2e
