// protocol.md §3.6: cache channels (miss, replay of the last HTTP publish, prefix-only rule).

#include "tests/e2e/e2e.hpp"

namespace e2e {

TEST_CASE("e2e: cache channel: cache_miss first, then the last HTTP publish is replayed") {
  Server server;
  HttpClient http(server.port());
  const std::string ch = "cache-prices";
  WsClient a;
  a.open(server.port());
  CHECK(a.subscribe_ok(ch) == "{}");
  CHECK(a.expect_message(soon()) ==
        R"({"event":"pusher:cache_miss","channel":"cache-prices","data":"{}"})");

  CHECK(http.publish(app, publish_body("price", {ch}, json_quote(R"({"p":1})"))).status == 200);
  CHECK(http.publish(app, publish_body("price", {ch}, json_quote(R"({"p":2})"))).status == 200);
  CHECK(a.expect_message(soon()) ==
        R"({"event":"price","channel":"cache-prices","data":"{\"p\":1}"})");
  CHECK(a.expect_message(soon()) ==
        R"({"event":"price","channel":"cache-prices","data":"{\"p\":2}"})");

  WsClient b;
  b.open(server.port());
  CHECK(b.subscribe_ok(ch) == "{}");
  CHECK(b.expect_message(soon()) ==
        R"({"event":"price","channel":"cache-prices","data":"{\"p\":2}"})");
  b.expect_alive_and_idle();
  // A double subscribe replays again.
  CHECK(b.subscribe_ok(ch) == "{}");
  CHECK(b.expect_message(soon()) ==
        R"({"event":"price","channel":"cache-prices","data":"{\"p\":2}"})");
  a.expect_alive_and_idle();
}

TEST_CASE("e2e: client events do not fill the cache; presence-cache- is presence and cache") {
  Server server;
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  const std::string ch = "private-cache-room";
  join_private(a, ch);
  a.expect_event("pusher:cache_miss", soon());
  join_private(b, ch);
  b.expect_event("pusher:cache_miss", soon());
  // Client events are allowed on private-cache- (deviation from Sockudo) ...
  a.send_text(client_event_frame("client-x", ch, R"({"v":1})"));
  CHECK(b.expect_message(soon()) == client_event_frame("client-x", ch, R"({"v":1})"));
  // ... but are not cached.
  WsClient c;
  c.open(server.port());
  join_private(c, ch);
  CHECK(c.expect_message(soon()) ==
        R"({"event":"pusher:cache_miss","channel":"private-cache-room","data":"{}"})");

  WsClient p;
  p.open(server.port());
  const std::string pch = "presence-cache-lobby";
  CHECK(join_presence(p, pch, R"({"user_id":"9"})") ==
        R"({"presence":{"ids":["9"],"hash":{"9":{}},"count":1}})");
  p.expect_event("pusher:cache_miss", soon());
}

TEST_CASE("e2e: only a cache- prefix makes a cache channel") {
  Server server;
  WsClient c;
  c.open(server.port());
  CHECK(c.subscribe_ok("my-cache-1") == "{}");
  c.expect_alive_and_idle();  // no cache_miss
}

}  // namespace e2e
