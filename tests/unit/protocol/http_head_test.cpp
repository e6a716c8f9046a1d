#include "protocol/http_head.hpp"

#include <doctest/doctest.h>

#include <string>

using protocol::list_has_token;
using protocol::parse_upgrade_head;
using Status = protocol::UpgradeHead::Status;

namespace {
constexpr std::size_t max_head = 8192;

const std::string pusher_js =
    "GET /app/app-key?protocol=7&client=js&version=8.4.0&flash=false HTTP/1.1\r\n"
    "Host: 127.0.0.1:6001\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: https://example.com\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

std::string with_header(std::string_view line) {
  std::string s = "GET /app/k HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n";
  s.append(line).append("\r\n\r\n");
  return s;
}
}  // namespace

TEST_CASE("upgrade head: a pusher-js request is read completely") {
  const auto h = parse_upgrade_head(pusher_js, max_head);
  REQUIRE(h.status == Status::complete);
  CHECK(h.head_size == pusher_js.size());
  CHECK(h.target == "/app/app-key?protocol=7&client=js&version=8.4.0&flash=false");
  CHECK(h.key == "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(h.version == "13");
  CHECK(h.origin == "https://example.com");
  CHECK(h.is_upgrade);
}

TEST_CASE("upgrade head: bytes after the head are not part of it") {
  const std::string frame = "\x81\x85\x01\x02\x03\x04hello";
  const auto h = parse_upgrade_head(pusher_js + frame, max_head);
  REQUIRE(h.status == Status::complete);
  CHECK(h.head_size == pusher_js.size());
}

TEST_CASE("upgrade head: every prefix of a valid head is incomplete") {
  for (std::size_t n = 0; n < pusher_js.size(); ++n) {
    CAPTURE(n);
    CHECK(parse_upgrade_head(std::string_view(pusher_js).substr(0, n), max_head).status ==
          Status::incomplete);
  }
}

TEST_CASE("upgrade head: names are case-insensitive, values trimmed, lists searched") {
  const std::string req =
      "GET /app/k HTTP/1.1\r\n"
      "connection:\t keep-alive ,  UPGRADE \r\n"
      "UPGRADE: WebSocket\r\n"
      "sec-websocket-key:abc\r\n"
      "SEC-WEBSOCKET-VERSION:   13   \r\n"
      "\r\n";
  const auto h = parse_upgrade_head(req, max_head);
  REQUIRE(h.status == Status::complete);
  CHECK(h.is_upgrade);
  CHECK(h.key == "abc");
  CHECK(h.version == "13");
  CHECK(h.origin.empty());
}

TEST_CASE("upgrade head: a plain GET is complete but not an upgrade") {
  const std::string req = "GET /app/k HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto h = parse_upgrade_head(req, max_head);
  REQUIRE(h.status == Status::complete);
  CHECK_FALSE(h.is_upgrade);
  const auto only_upgrade =
      parse_upgrade_head("GET /app/k HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", max_head);
  REQUIRE(only_upgrade.status == Status::complete);
  CHECK_FALSE(only_upgrade.is_upgrade);
  const auto wrong_protocol = parse_upgrade_head(
      "GET /app/k HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n", max_head);
  REQUIRE(wrong_protocol.status == Status::complete);
  CHECK_FALSE(wrong_protocol.is_upgrade);
}

TEST_CASE("upgrade head: other methods and versions go to the general parser at once") {
  CHECK(parse_upgrade_head("P", max_head).status == Status::other);
  CHECK(parse_upgrade_head("POST /apps/1/events HTTP/1.1\r\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GETX", max_head).status == Status::other);
  CHECK(parse_upgrade_head("get /app/k HTTP/1.1\r\n\r\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GET /app/k HTTP/1.0\r\n\r\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GET /app/k HTTP/2\r\n\r\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GET  /app/k HTTP/1.1\r\n\r\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GET app/k HTTP/1.1\r\n\r\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GET /a b HTTP/1.1\r\n\r\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GET /\x80 HTTP/1.1\r\n\r\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GET HTTP/1.1\r\n\r\n", max_head).status == Status::other);
}

TEST_CASE("upgrade head: X-Forwarded-For is kept as sent (trimmed)") {
  // The result views the text it parsed: keep it alive.
  const std::string text = with_header("x-forwarded-for:  10.0.0.1, 127.0.0.1 ");
  const auto h = parse_upgrade_head(text, max_head);
  REQUIRE(h.status == Status::complete);
  CHECK(h.forwarded_for == "10.0.0.1, 127.0.0.1");
  CHECK(parse_upgrade_head(pusher_js, max_head).forwarded_for.empty());
}

TEST_CASE("upgrade head: malformed or ambiguous headers go to the general parser") {
  const char* bad[] = {
      "NoColon",
      "Bad Name: x",
      " Folded: x",
      "\tFolded: x",
      ": empty-name",
      "Origin: a\x01z",
      "Origin: a\x7fz",
      "Origin: a\rz",
      "Content-Length: 0",
      "transfer-encoding: chunked",
      "Sec-WebSocket-Key: a\r\nSec-WebSocket-Key: b",
      "Origin: a\r\norigin: b",
      "Connection: Upgrade",  // a second Connection header
      "Upgrade: websocket",   // a second Upgrade header
      "Sec-WebSocket-Version: 13\r\nsec-websocket-version: 13",
      "X-Forwarded-For: 1.2.3.4\r\nx-forwarded-for: 5.6.7.8",  // Beast joins the lines
  };
  for (const char* line : bad) {
    CAPTURE(line);
    CHECK(parse_upgrade_head(with_header(line), max_head).status == Status::other);
  }
  // Token lists a general parser may read differently.
  CHECK(parse_upgrade_head("GET /app/k HTTP/1.1\r\nConnection: \"upgrade\"\r\n"
                           "Upgrade: websocket\r\n\r\n",
                           max_head)
            .status == Status::other);
  CHECK(parse_upgrade_head("GET /app/k HTTP/1.1\r\nConnection: upgrade\r\n"
                           "Upgrade: websocket/13 x\r\n\r\n",
                           max_head)
            .status == Status::other);
}

TEST_CASE("upgrade head: bare line feeds and oversized heads go to the general parser") {
  CHECK(parse_upgrade_head("GET /app/k HTTP/1.1\n", max_head).status == Status::other);
  CHECK(parse_upgrade_head("GET /app/k HTTP/1.1\r\nHost: x\n\r\n", max_head).status ==
        Status::other);
  // A complete head over the limit, and an unfinished one that reached it.
  const std::string big = with_header("X-Pad: " + std::string(max_head, 'a'));
  CHECK(parse_upgrade_head(big, max_head).status == Status::other);
  CHECK(parse_upgrade_head(std::string_view(big).substr(0, max_head), max_head).status ==
        Status::other);
  CHECK(parse_upgrade_head(std::string_view(big).substr(0, max_head - 1), max_head).status ==
        Status::incomplete);
  // Exactly at the limit is accepted.
  const std::string base = with_header("X-Pad: ");
  const std::string fit = with_header("X-Pad: " + std::string(max_head - base.size(), 'a'));
  REQUIRE(fit.size() == max_head);
  CHECK(parse_upgrade_head(fit, max_head).status == Status::complete);
}

TEST_CASE("token lists") {
  CHECK(list_has_token("upgrade", "upgrade") == true);
  CHECK(list_has_token("Keep-Alive, Upgrade", "upgrade") == true);
  CHECK(list_has_token(" , ,upgrade,", "upgrade") == true);
  CHECK(list_has_token("keep-alive", "upgrade") == false);
  CHECK(list_has_token("", "upgrade") == false);
  CHECK(list_has_token("upgrades", "upgrade") == false);
  CHECK(list_has_token("up grade", "upgrade") == std::nullopt);
  CHECK(list_has_token("upgrade;q=1", "upgrade") == std::nullopt);
}
