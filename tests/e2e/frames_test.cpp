// protocol.md §0 (parsing rules, message size) and RFC 6455 framing errors (§8: 1002/1007/1009).

#include "tests/e2e/e2e.hpp"

namespace e2e {

TEST_CASE("e2e: malformed JSON gets pusher:error 4000 and the connection stays open") {
  Server server;
  WsClient c;
  c.open(server.port());
  for (const char* bad : {"{not json", "", "[1,2]", "\"str\"", "{\"event\":"}) {
    CAPTURE(bad);
    c.send_text(bad);
    const std::string msg = c.expect_message(soon());
    const ErrorData e = error_of(msg);
    CHECK(e.code == 4000);
    CHECK_FALSE(parse_frame(msg).channel.has_value());
  }
  c.send_text("{not json");
  const std::string m = c.expect_error(4000, soon());
  CHECK_MESSAGE(m.rfind("Invalid message format", 0) == 0, m);
  c.expect_alive_and_idle();
}

TEST_CASE("e2e: a frame without event gets 4000 'Event name is required'") {
  Server server;
  WsClient c;
  c.open(server.port());
  c.send_text(R"({"data":{}})");
  CHECK(c.expect_error(4000, soon()) == "Invalid event name: Event name is required");
  c.expect_alive_and_idle();
}

TEST_CASE("e2e: unknown events are ignored silently") {
  Server server;
  WsClient c;
  c.open(server.port());
  c.send_text(R"({"event":"pusher:bogus","data":{}})");
  c.send_text(R"({"event":"my-event","data":"x"})");
  c.send_text(R"({"event":"pusher_internal:subscription_succeeded","channel":"x","data":"{}"})");
  c.expect_alive_and_idle();
}

TEST_CASE("e2e: binary frames are parsed as JSON too") {
  Server server;
  WsClient c;
  c.open(server.port());
  c.send_binary(ping_frame());
  CHECK(c.expect_message(soon()) == R"({"event":"pusher:pong"})");
}

TEST_CASE("e2e: a message over websocket_max_payload_kb is closed with 1009") {
  Server server;  // default cap: 64 KiB
  const std::string pad = std::string(60 * 1024, 'x');
  const std::string fits = R"({"event":"pusher:ping","data":{"pad":")" + pad + "\"}}";
  const std::string too_big =
      R"({"event":"pusher:ping","data":{"pad":")" + std::string(64 * 1024, 'x') + "\"}}";

  SUBCASE("one frame") {
    RawWsClient c;
    c.open(server.port());
    REQUIRE(c.send_text(fits));
    c.expect_event("pusher:pong", soon());
    c.send_text(too_big);  // the server may close before reading all of it
    const CloseInfo r = c.expect_close(soon(), false);
    CHECK(r.clean);
    CHECK(r.code == 1009);
  }
  SUBCASE("fragments that add up to more than the cap") {
    RawWsClient c;
    c.open(server.port());
    const std::string_view whole = too_big;
    const std::size_t third = whole.size() / 3;
    bool ok = c.send_frame(Opcode::text, whole.substr(0, third), non_final());
    ok = ok && c.send_frame(Opcode::continuation, whole.substr(third, third), non_final());
    ok = ok && c.send_frame(Opcode::continuation, whole.substr(2 * third), {});
    const CloseInfo r = c.expect_close(soon(), false);
    CHECK(r.clean);
    CHECK(r.code == 1009);
  }
  SUBCASE("Beast client sees the same close") {
    WsClient c;
    c.open(server.port());
    c.send_text(too_big);
    const CloseInfo r = c.expect_close(soon());
    CHECK(r.code == 1009);
  }
}

TEST_CASE("e2e: a fragmented message with an interleaved ping is reassembled") {
  Server server;
  RawWsClient c;
  c.open(server.port());
  REQUIRE(c.send_frame(Opcode::text, R"({"event":"pus)", non_final()));
  REQUIRE(c.send_frame(Opcode::ping, "mid"));
  REQUIRE(c.send_frame(Opcode::continuation, R"(her:ping",)", non_final()));
  REQUIRE(c.send_frame(Opcode::continuation, R"("data":{}})", {}));
  const RawFrame pong = c.read_frame(soon());
  REQUIRE_MESSAGE(pong.is_frame(), pong.describe());
  CHECK(pong.opcode == static_cast<std::uint8_t>(Opcode::pong));
  CHECK(pong.payload == "mid");
  CHECK(c.expect_event("pusher:pong", soon()) == R"({"event":"pusher:pong"})");
  // A UTF-8 sequence split across fragments is valid.
  REQUIRE(c.send_frame(Opcode::text, "{\"event\":\"my-\xc3", non_final()));
  REQUIRE(c.send_frame(Opcode::continuation, "\xa9vent\"}", {}));
  REQUIRE(c.send_text(ping_frame()));
  CHECK(c.expect_event("pusher:pong", soon()) == R"({"event":"pusher:pong"})");
}

TEST_CASE("e2e: RFC 6455 protocol violations close the connection with 1002") {
  Server server;
  RawWsClient c;
  c.open(server.port());
  SUBCASE("unmasked client frame") {
    c.send_frame(Opcode::text, ping_frame(), unmasked());
  }
  SUBCASE("RSV1 without a negotiated extension") {
    c.send_frame(Opcode::text, ping_frame(), with_rsv(4));
  }
  SUBCASE("reserved opcode 0x3") {
    c.send_frame(static_cast<Opcode>(0x3), "x");
  }
  SUBCASE("continuation without a started message") {
    c.send_frame(Opcode::continuation, "x");
  }
  SUBCASE("new data frame inside a fragmented message") {
    c.send_frame(Opcode::text, "{", non_final());
    c.send_frame(Opcode::text, "}");
  }
  SUBCASE("fragmented control frame") {
    c.send_frame(Opcode::ping, "x", non_final());
  }
  SUBCASE("control frame payload over 125 bytes") {
    c.send_frame(Opcode::ping, std::string(126, 'p'));
  }
  const CloseInfo r = c.expect_close(soon(), false);
  CHECK(r.clean);
  CHECK(r.code == 1002);
  CHECK(c.wait_eof(soon()));
}

TEST_CASE("e2e: invalid UTF-8 in a text message closes the connection with 1007") {
  Server server;
  RawWsClient c;
  c.open(server.port());
  SUBCASE("invalid bytes") {
    c.send_text("{\"event\":\"pusher:ping\",\"data\":\"\xff\xfe\"}");
  }
  SUBCASE("overlong encoding") {
    c.send_text("{\"event\":\"x\xc0\xaf\"}");
  }
  SUBCASE("truncated sequence at the end of the message") {
    c.send_text("{\"event\":\"x\"}\xe2\x82");
  }
  const CloseInfo r = c.expect_close(soon(), false);
  CHECK(r.clean);
  CHECK(r.code == 1007);
}

}  // namespace e2e
