// protocol.md §3 and §4: public/private/encrypted subscriptions, names, signature checks,
// double subscribe, unsubscribe, and the auth_denied log line.

#include "tests/e2e/e2e.hpp"

namespace e2e {
namespace {

std::string succeeded(std::string_view channel) {
  return R"({"event":"pusher_internal:subscription_succeeded","channel":)" + json_quote(channel) +
         R"(,"data":"{}"})";
}

}  // namespace

TEST_CASE("e2e: public subscribe, HTTP publish, unsubscribe") {
  Server server;
  HttpClient http(server.port());
  WsClient c;
  c.open(server.port());
  c.subscribe("my-channel");
  CHECK(c.expect_message(soon()) == succeeded("my-channel"));

  const auto res =
      http.publish(app, publish_body("my-event", {"my-channel"}, json_quote(R"({"x":1})")));
  CHECK(res.status == 200);
  CHECK(res.body == R"({"ok":true})");
  CHECK(c.expect_message(soon()) ==
        R"({"event":"my-event","channel":"my-channel","data":"{\"x\":1}"})");

  // Unsubscribe has no reply; the pong proves the server has processed it.
  c.unsubscribe("my-channel");
  c.expect_alive_and_idle();
  CHECK(http.publish(app, publish_body("my-event", {"my-channel"}, json_quote("2"))).status == 200);
  c.expect_alive_and_idle();

  // Unsubscribing from a channel the socket is not in is a silent no-op.
  c.unsubscribe("never-joined");
  c.expect_alive_and_idle();
}

TEST_CASE("e2e: subscribing twice replies subscription_succeeded again") {
  Server server;
  WsClient c;
  c.open(server.port());
  c.subscribe("twice");
  c.subscribe("twice");
  CHECK(c.expect_message(soon()) == succeeded("twice"));
  CHECK(c.expect_message(soon()) == succeeded("twice"));
  c.expect_alive_and_idle();
  // Still one subscription: one publish, one delivery.
  HttpClient http(server.port());
  CHECK(http.publish(app, publish_body("e", {"twice"}, json_quote("d"))).status == 200);
  CHECK(c.expect_message(soon()) == R"({"event":"e","channel":"twice","data":"d"})");
  c.expect_alive_and_idle();
}

TEST_CASE(
    "e2e: invalid channel names get pusher:error 4300 (and pusher:subscription_error on the "
    "channel); the connection stays open") {
  Server server;
  WsClient c;
  c.open(server.port());
  const std::string too_long(201, 'a');
  for (const std::string& name :
       {std::string("bad channel"), std::string("bad!chan"), std::string(""), too_long,
        std::string("caf\xc3\xa9"), std::string("ns:chan"), std::string("a#b")}) {
    CAPTURE(name);
    c.subscribe(name);
    const std::string msg = c.expect_message(soon());
    const Frame f = parse_frame(msg);
    CHECK_MESSAGE(f.event == "pusher:error", msg);
    CHECK_FALSE(f.channel.has_value());
    const ErrorData e = error_of(msg);
    CHECK(e.code == 4300);
    CHECK_MESSAGE(e.message.rfind("Channel error: ", 0) == 0, e.message);
    // Then the same refusal scoped to the channel: a name over the limit is LimitReached 4009
    // (Soketi's cause), any other invalid name ServerError with the code. An empty name has no
    // channel to scope it to.
    if (name.empty()) continue;
    const Frame s = parse_frame(c.expect_message(soon()));
    CHECK(s.event == "pusher:subscription_error");
    CHECK(s.channel == name);
    const bool too_long_name = name.size() > 200;
    CHECK(s.data == R"({"type":")" + std::string(too_long_name ? "LimitReached" : "ServerError") +
                        R"(","error":)" + json_quote(e.message) + R"(,"status":)" +
                        (too_long_name ? "4009" : "4300") + "}");
  }
  c.subscribe(too_long);
  CHECK(c.expect_refused(too_long, 4300, "LimitReached", 4009, soon()) ==
        "Channel error: Channel name too long. Max length is 200");
  // 200 bytes and every allowed character are fine.
  const std::string max_len(200, 'b');
  CHECK(c.subscribe_ok(max_len) == "{}");
  CHECK(c.subscribe_ok("AZaz09_-=@,.;") == "{}");
  c.expect_alive_and_idle();
}

TEST_CASE("e2e: subscribe without a channel field gets 4000") {
  Server server;
  WsClient c;
  c.open(server.port());
  c.send_text(R"({"event":"pusher:subscribe","data":{}})");
  CHECK(c.expect_error(4000, soon()) == "Invalid message format: Missing channel field");
  c.send_text(R"({"event":"pusher:unsubscribe","data":{}})");
  CHECK(c.expect_error(4000, soon()) ==
        "Invalid message format: Missing channel in unsubscribe message");
  c.expect_alive_and_idle();
}

TEST_CASE("e2e: subscribe data may be a JSON string of the object") {
  Server server;
  WsClient c;
  c.open(server.port());
  c.send_text(R"({"event":"pusher:subscribe","data":"{\"channel\":\"stringly\"}"})");
  CHECK(c.expect_message(soon()) == succeeded("stringly"));
}

TEST_CASE("e2e: private channel with a valid signature succeeds") {
  Server server;
  WsClient c;
  const std::string id = c.open(server.port());
  c.subscribe("private-orders", private_auth(id, "private-orders"));
  CHECK(c.expect_message(soon()) == succeeded("private-orders"));
  // channel_data sent on a private channel is ignored, not signed.
  c.subscribe("private-other", private_auth(id, "private-other"), R"({"user_id":"1"})");
  CHECK(c.expect_message(soon()) == succeeded("private-other"));
}

TEST_CASE("e2e: private channel with a bad signature gets 4009 and logs auth_denied") {
  Server server;
  WsClient c;
  const std::string id = c.open(server.port());
  WsClient other;
  const std::string other_id = other.open(server.port());

  struct Case {
    const char* what;
    std::string channel;
    std::string auth;
  };
  const std::string good_hex = private_auth(id, "private-x").substr(app.key.size() + 1);
  const std::vector<Case> cases = {
      {"wrong secret", "private-x", auth::sign_channel(app.key, "wrong-secret", id, "private-x")},
      {"wrong key prefix", "private-x", "other-key:" + good_hex},
      {"another socket's signature", "private-x", private_auth(other_id, "private-x")},
      {"another channel's signature", "private-x", private_auth(id, "private-y")},
      {"upper-case hex", "private-x",
       app.key + ":" +
           [&] {
             std::string h = good_hex;
             for (char& ch : h)
               ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
             return h;
           }()},
      {"private-cache- (Sockudo skips the check)", "private-cache-x",
       auth::sign_channel(app.key, "wrong-secret", id, "private-cache-x")},
      {"private-encrypted-cache-", "private-encrypted-cache-x",
       auth::sign_channel(app.key, "wrong-secret", id, "private-encrypted-cache-x")},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    const std::size_t from = server.log_count();
    c.subscribe(k.channel, k.auth);
    CHECK(c.expect_refused(k.channel, 4009, "AuthError", 401, soon()) ==
          "Authentication error: Channel requires authentication");
    const auto line = server.wait_for_log("msg=auth_denied", within(5s), from);
    REQUIRE_MESSAGE(line.has_value(), server.log_tail());
    const std::string hex = k.auth.substr(k.auth.find(':') + 1);
    CHECK_MESSAGE(line->find(hex) == std::string::npos, *line);
    CHECK_MESSAGE(line->find(app.secret) == std::string::npos, *line);
    // Exactly one line per denied attempt.
    c.expect_alive_and_idle();
    std::size_t denied = 0;
    const auto lines = server.log_lines();
    for (std::size_t i = from; i < lines.size(); ++i) {
      if (lines[i].find("msg=auth_denied") != std::string::npos) ++denied;
    }
    CHECK(denied == 1);
  }
  // No partial state: the right signature still works afterwards.
  join_private(c, "private-x");
}

TEST_CASE("e2e: private/presence subscribe without auth gets 4009 'signature required'") {
  Server server;
  WsClient c;
  c.open(server.port());
  for (const char* channel : {"private-x", "presence-x", "private-encrypted-x"}) {
    CAPTURE(channel);
    c.subscribe(channel);
    CHECK(c.expect_refused(channel, 4009, "AuthError", 401, soon()) ==
          "Authentication error: Authentication signature required for this channel");
  }
  // An empty auth string is no better.
  c.send_text(R"({"event":"pusher:subscribe","data":{"auth":"","channel":"private-x"}})");
  c.expect_refused("private-x", 4009, "AuthError", 401, soon());
  c.expect_alive_and_idle();
}

TEST_CASE("e2e: encrypted channels authorize like private channels") {
  Server server;
  WsClient c;
  const std::string id = c.open(server.port());
  const std::string ch = "private-encrypted-bla";
  SUBCASE("valid signature") {
    c.subscribe(ch, private_auth(id, ch));
    CHECK(c.expect_message(soon()) == succeeded(ch));
  }
  SUBCASE("channel_data is not signed on encrypted channels") {
    c.subscribe(ch, private_auth(id, ch), "\"foo\"");
    CHECK(c.expect_message(soon()) == succeeded(ch));
  }
  SUBCASE("a signature over channel_data (SDK quirk) is rejected") {
    c.subscribe(ch, auth::sign_channel(app.key, app.secret, id, ch, "\"foo\""), "\"foo\"");
    c.expect_error(4009, soon());
  }
  SUBCASE("bad signature") {
    c.subscribe(ch, auth::sign_channel(app.key, "nope", id, ch));
    c.expect_error(4009, soon());
  }
}

}  // namespace e2e
