// protocol.md §1: connection URL, post-upgrade checks (§1.2), connection_established (§1.3) and
// socket ids (§1.4).

#include <memory>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "auth/crypto.hpp"
#include "tests/e2e/e2e.hpp"

namespace e2e {
namespace {

std::string established_frame(std::string_view socket_id, int activity_timeout) {
  return R"({"event":"pusher:connection_established","data":"{\"socket_id\":\")" +
         std::string(socket_id) + R"(\",\"activity_timeout\":)" + std::to_string(activity_timeout) +
         R"(}"})";
}

}  // namespace

TEST_CASE("e2e: connection_established has Sockudo's exact shape and a valid socket id") {
  SUBCASE("default activity_timeout 120") {
    Server server;
    WsClient c;
    REQUIRE(c.connect(server.port()));
    const std::string msg = c.expect_message(soon());
    const std::string id = socket_id_of(msg);
    CHECK(is_valid_socket_id(id));
    CHECK(msg == established_frame(id, 120));
  }
  SUBCASE("activity_timeout comes from the config") {
    ServerConfig cfg = default_config();
    cfg.activity_timeout = 37s;
    Server server(cfg);
    WsClient c;
    const std::string id = c.open(server.port());
    CHECK(c.established_frame() == established_frame(id, 37));
  }
  SUBCASE("protocol parameter missing or not 2 still selects protocol 7") {
    Server server;
    for (const char* path :
         {"/app/app-key", "/app/app-key?protocol=6", "/app/app-key?protocol=7"}) {
      CAPTURE(path);
      WsClient c;
      const std::string id = c.open(server.port(), path);
      CHECK(is_valid_socket_id(id));
    }
  }
}

TEST_CASE("e2e: socket ids are unique across 50 live connections") {
  Server server;
  std::vector<std::unique_ptr<WsClient>> clients;
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    auto c = std::make_unique<WsClient>();
    const std::string id = c->open(server.port());
    CHECK_MESSAGE(is_valid_socket_id(id), id);
    ids.insert(id);
    clients.push_back(std::move(c));
  }
  CHECK(ids.size() == 50);
}

TEST_CASE("e2e: unknown app key gets pusher:error 4001 then close 4001") {
  Server server;
  WsClient c;
  REQUIRE(c.connect(server.port(), ws_path_for("no-such-key")));
  const auto r = c.expect_error_then_close(4001, soon());
  CHECK(r.message == "Application does not exist");
  CHECK(r.close.reason == "Application does not exist");
}

TEST_CASE("e2e: disabled app gets pusher:error 4003 then close 4003") {
  ServerConfig cfg = default_config();
  AppConfig disabled;
  disabled.id = "app-2";
  disabled.key = "key-2";
  disabled.secret = "secret-2";
  disabled.enabled = false;
  cfg.apps.push_back(disabled);
  Server server(cfg);
  WsClient c;
  REQUIRE(c.connect(server.port(), ws_path_for("key-2")));
  const auto r = c.expect_error_then_close(4003, soon());
  CHECK(r.message == "Application disabled");
  CHECK(r.close.reason == "Application disabled");
  // The enabled app on the same server is unaffected.
  WsClient ok;
  CHECK(is_valid_socket_id(ok.open(server.port())));
}

TEST_CASE("e2e: allowed_origins rejects other origins with 4009 and admits listed ones") {
  ServerConfig cfg = default_config();
  cfg.app().allowed_origins = {"https://good.example.com"};
  Server server(cfg);

  SUBCASE("origin not in the list") {
    WsClient c;
    REQUIRE(c.connect(server.port(), default_ws_path, {{"Origin", "https://evil.example.com"}}));
    const auto r = c.expect_error_then_close(4009, soon());
    CHECK(r.message == "Origin not allowed");
    CHECK(r.close.reason == "Origin not allowed");
  }
  SUBCASE("no Origin header counts as the empty origin") {
    WsClient c;
    REQUIRE(c.connect(server.port()));
    c.expect_error_then_close(4009, soon());
  }
  SUBCASE("listed origin") {
    WsClient c;
    CHECK(is_valid_socket_id(
        c.open(server.port(), default_ws_path, {{"Origin", "https://good.example.com"}})));
    c.expect_alive_and_idle();
  }
  SUBCASE("listed origin, matched case-insensitively") {
    WsClient c;
    CHECK(is_valid_socket_id(
        c.open(server.port(), default_ws_path, {{"Origin", "HTTPS://GOOD.example.com"}})));
  }
}

TEST_CASE("e2e: node-wide max_connections closes the extra connection with 4100") {
  ServerConfig cfg = default_config();
  cfg.max_connections = 2;
  Server server(cfg);
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  WsClient extra;
  REQUIRE(extra.connect(server.port()));
  const auto r = extra.expect_error_then_close(4100, soon());
  CHECK(r.message == "Over capacity");
  CHECK(r.close.reason == "Over capacity");

  // A freed slot can be used again. The server releases the slot after it has seen our close,
  // which can complete a moment after the close handshake: retry until a deadline.
  REQUIRE(a.close().has_value());
  const Deadline deadline = within(5s);
  bool admitted = false;
  while (!admitted && Clock::now() < deadline) {
    WsClient again;
    REQUIRE(again.connect(server.port()));
    const std::string msg = again.expect_message(soon());
    admitted = event_of(msg) == "pusher:connection_established";
    if (admitted) again.expect_alive_and_idle();
  }
  CHECK(admitted);
}

TEST_CASE("e2e: app max_connections closes the extra connection with 4004") {
  ServerConfig cfg = default_config();
  cfg.app().max_connections = 2;
  AppConfig other;
  other.id = "app-2";
  other.key = "key-2";
  other.secret = "secret-2";
  cfg.apps.push_back(other);
  Server server(cfg);
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  WsClient extra;
  REQUIRE(extra.connect(server.port()));
  const auto r = extra.expect_error_then_close(4004, soon());
  CHECK(r.message == "Application is over adapter quota");
  CHECK(r.close.reason == "Application is over adapter quota");
  // The quota is per app: another app still accepts connections.
  WsClient c;
  CHECK(is_valid_socket_id(c.open(server.port(), ws_path_for("key-2"))));
}

TEST_CASE("e2e: upgrade requests that cannot start a session are refused at the HTTP level") {
  Server server;
  SUBCASE("protocol that is not a u8 -> 400") {
    for (const char* path : {"/app/app-key?protocol=abc", "/app/app-key?protocol=300"}) {
      CAPTURE(path);
      RawWsClient c;
      REQUIRE(c.connect(server.port()));
      CHECK(c.upgrade(path) == 400);
    }
  }
  SUBCASE("GET without upgrade headers -> 400") {
    RawWsClient c;
    REQUIRE(c.connect(server.port()));
    CHECK(c.send_http("GET /app/app-key?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 400);
  }
  SUBCASE("POST -> 405") {
    RawWsClient c;
    REQUIRE(c.connect(server.port()));
    CHECK(c.send_http("POST /app/app-key?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Length: 0\r\n\r\n") == 405);
  }
}

}  // namespace e2e

namespace e2e {

// The accept stage reads upgrade heads itself (server/handshake.hpp) and hands everything else
// to Beast with the bytes it already read: these pin the seams.
TEST_CASE("e2e: the accept stage: split heads, early frames, keep-alive HTTP, odd requests") {
  Server server;
  const std::string head =
      "GET /app/app-key?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  SUBCASE("an upgrade request that arrives in pieces") {
    RawWsClient c;
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.send_bytes(head.substr(0, 10)));
    std::this_thread::sleep_for(50ms);
    REQUIRE(c.send_bytes(head.substr(10, 60)));
    std::this_thread::sleep_for(50ms);
    CHECK(c.send_http(head.substr(70)) == 101);
    // RFC 6455's example key and answer.
    CHECK(c.response_head().find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") !=
          std::string::npos);
    CHECK(
        is_valid_socket_id(socket_id_of(c.expect_event("pusher:connection_established", soon()))));
  }
  SUBCASE("frames sent in the same write as the upgrade request") {
    RawWsClient c;
    REQUIRE(c.connect(server.port()));
    const std::string sub = R"({"event":"pusher:subscribe","data":{"channel":"early"}})";
    CHECK(c.send_http(head + encode_frame(Opcode::text, sub)) == 101);
    c.expect_event("pusher:connection_established", soon());
    const std::string ok = c.expect_event("pusher_internal:subscription_succeeded", soon());
    CHECK(ok.find("\"channel\":\"early\"") != std::string::npos);
  }
  SUBCASE("keep-alive HTTP requests, then an upgrade on the same connection") {
    RawWsClient c;
    REQUIRE(c.connect(server.port()));
    CHECK(c.send_http("GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 200);
    CHECK(c.send_http("GET /up/app-id HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 200);
    CHECK(c.upgrade() == 101);
    c.expect_event("pusher:connection_established", soon());
  }
  SUBCASE("bare line feeds, HTTP/1.0 and repeated upgrade headers get Beast's answers") {
    for (const auto& [request, status] : {std::pair{"GET /app/app-key HTTP/1.1\nHost: x\n\n", 400},
                                          std::pair{"GET /up HTTP/1.0\r\n\r\n", 200}}) {
      CAPTURE(request);
      RawWsClient a;  // answered, not left waiting for a CRLF CRLF
      REQUIRE(a.connect(server.port()));
      CHECK(a.send_http(request) == status);
    }
    RawWsClient b;
    REQUIRE(b.connect(server.port()));
    const std::string twice =
        "GET /app/app-key HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: a2V5\r\nSec-WebSocket-Key: "
        "b3RoZXI=\r\n\r\n";
    CHECK(b.send_http(twice) == 101);  // Beast uses the first key
    CHECK(b.response_head().find(auth::websocket_accept_key("a2V5")) != std::string::npos);
  }
  SUBCASE("a client that connects and sends nothing is closed at handshake_timeout") {
    ServerConfig cfg = default_config();
    cfg.handshake_timeout = 1s;
    Server quick(cfg);
    RawWsClient c;
    REQUIRE(c.connect(quick.port()));
    CHECK(c.wait_eof(within(10s)));
  }
}

}  // namespace e2e
