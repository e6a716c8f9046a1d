// protocol.md §9.1-§9.2: signed HTTP publish and its fan-out to WebSocket subscribers.

#include <memory>
#include <vector>

#include "tests/e2e/e2e.hpp"

namespace e2e {

TEST_CASE("e2e: HTTP publish reaches every subscriber except the excluded socket_id") {
  Server server;
  HttpClient http(server.port());
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 5; ++i) {
    auto c = std::make_unique<WsClient>();
    c->open(server.port());
    CHECK(c->subscribe_ok("news") == "{}");
    clients.push_back(std::move(c));
  }
  const auto res = http.publish(
      app, publish_body("ev", {"news"}, json_quote(R"({"id":1})"), clients[0]->socket_id()));
  CHECK(res.status == 200);
  CHECK(res.body == R"({"ok":true})");
  for (std::size_t i = 1; i < clients.size(); ++i) {
    CAPTURE(i);
    CHECK(clients[i]->expect_message(soon()) ==
          R"({"event":"ev","channel":"news","data":"{\"id\":1}"})");
  }
  clients[0]->expect_alive_and_idle();
  for (auto& c : clients) c->expect_alive_and_idle();
}

TEST_CASE("e2e: HTTP publish data forms and multiple channels") {
  Server server;
  HttpClient http(server.port());
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  a.subscribe_ok("ch-a");
  b.subscribe_ok("ch-b");

  SUBCASE("object data is stringified compactly") {
    CHECK(http.publish(app, R"({"name":"e","channel":"ch-a","data":{"id":1,"s":"x"}})").status ==
          200);
    CHECK(a.expect_message(soon()) ==
          R"({"event":"e","channel":"ch-a","data":"{\"id\":1,\"s\":\"x\"}"})");
  }
  SUBCASE("missing data becomes \"null\"") {
    CHECK(http.publish(app, R"({"name":"e","channel":"ch-a"})").status == 200);
    CHECK(a.expect_message(soon()) == R"({"event":"e","channel":"ch-a","data":"null"})");
  }
  SUBCASE("channels array") {
    CHECK(
        http.publish(app, publish_body("e", {"ch-a", "ch-b", "nobody"}, json_quote("d"))).status ==
        200);
    CHECK(a.expect_message(soon()) == R"({"event":"e","channel":"ch-a","data":"d"})");
    CHECK(b.expect_message(soon()) == R"({"event":"e","channel":"ch-b","data":"d"})");
  }
  SUBCASE("info=subscription_count") {
    WsClient a2;
    a2.open(server.port());
    a2.subscribe_ok("ch-a");
    const auto res =
        http.publish(app, publish_body("e", {"ch-a"}, json_quote("d"), {}, "subscription_count"));
    CHECK(res.status == 200);
    JsonDoc doc(res.body);
    std::int64_t count = -1;
    CHECK_FALSE(doc.root()["channels"]["ch-a"]["subscription_count"].get_int64().get(count));
    CHECK(count == 2);
    a2.expect_event("e", soon());
    a.expect_event("e", soon());
  }
  a.expect_alive_and_idle();
  b.expect_alive_and_idle();
}

TEST_CASE("e2e: HTTP publish with bad credentials is refused") {
  Server server;
  HttpClient http(server.port());
  WsClient a;
  a.open(server.port());
  a.subscribe_ok("news");
  const std::string body = publish_body("e", {"news"}, json_quote("d"));
  SUBCASE("wrong secret -> 401") {
    CHECK(http.publish(AppCreds{"app-id", "app-key", "wrong"}, body).status == 401);
  }
  SUBCASE("app id that does not match the key -> 401") {
    CHECK(http.publish(AppCreds{"other-id", "app-key", "app-secret"}, body).status == 401);
  }
  SUBCASE("unknown key -> 404") {
    CHECK(http.publish(AppCreds{"app-id", "no-such-key", "app-secret"}, body).status == 404);
  }
  SUBCASE("unsigned -> 4xx") {
    const auto res = http.request("POST", "/apps/app-id/events", body);
    CHECK(res.status >= 400);
    CHECK(res.status < 500);
  }
  a.expect_alive_and_idle();
}

}  // namespace e2e
