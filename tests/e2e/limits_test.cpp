// Rate limits and abuse limits (README "Security"): HTTP API rate limits (429), per-IP
// connect rate (429 before the upgrade) and concurrent cap (4100), the per-connection message
// rate limit (4301), subscription cap, oversized headers (431), slow requests (handshake
// deadline), and the pushcore_abuse_total metric with its once-per-burst log line.

#include <string>
#include <vector>

#include "tests/e2e/e2e.hpp"

namespace e2e {

namespace {

constexpr std::string_view too_many_body =
    R"({"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."})";

void check_429(const HttpResponse& r, std::string_view limit) {
  CHECK(r.status == 429);
  CHECK(r.body == too_many_body);
  CHECK(r.header("Retry-After").has_value());
  CHECK(r.header("X-RateLimit-Limit") == std::optional<std::string>(std::string(limit)));
  CHECK(r.header("X-RateLimit-Remaining").has_value());
  CHECK(r.header("X-RateLimit-Reset").has_value());
}

std::string batch_of(int n, std::string_view channel) {
  std::string body = R"({"batch":[)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += R"({"name":"e","channel":")" + std::string(channel) + R"(","data":"x"})";
  }
  return body + "]}";
}

/// The metrics port, from the server's `metrics_listening` log line.
std::uint16_t metrics_port(ServerProcess& server) {
  const auto line = server.wait_for_log("msg=metrics_listening", soon());
  REQUIRE(line.has_value());
  const auto at = line->find("port=");
  REQUIRE(at != std::string::npos);
  return static_cast<std::uint16_t>(std::stoi(line->substr(at + 5)));
}

/// Value of `pushcore_abuse_total{kind="<kind>",...}` in a metrics scrape (-1 when absent).
long long abuse_count(std::uint16_t port, std::string_view kind) {
  HttpClient http(port);
  const HttpResponse r = http.request("GET", "/metrics");
  REQUIRE(r.status == 200);
  const std::string needle = "pushcore_abuse_total{kind=\"" + std::string(kind) + "\"";
  const auto at = r.body.find(needle);
  if (at == std::string::npos) return -1;
  const auto sp = r.body.find(' ', r.body.find('}', at));
  return std::stoll(r.body.substr(sp + 1));
}

}  // namespace

TEST_CASE("e2e: max_backend_events_per_second answers 429 and publishes nothing over it") {
  ServerConfig cfg = default_config();
  cfg.app().extra_limits = {{"max_backend_events_per_second", "3"}};
  Server server(cfg);
  WsClient sub;
  sub.open(server.port());
  CHECK(sub.subscribe_ok("rl") == "{}");
  HttpClient http(server.port());

  // A batch counts each event: 4 events never fit a window of 3.
  const HttpResponse big =
      http.signed_request(app, "POST", "/apps/app-id/batch_events", batch_of(4, "rl"));
  check_429(big, "3");
  sub.expect_alive_and_idle();  // nothing of the refused batch was published

  // Two batches of 3 in a row: the second is refused unless a window boundary fell between
  // them (then retry, bounded).
  bool limited = false;
  for (int attempt = 0; attempt < 10 && !limited; ++attempt) {
    const HttpResponse first =
        http.signed_request(app, "POST", "/apps/app-id/batch_events", batch_of(3, "rl"));
    const HttpResponse second = http.publish(app, publish_body("e", {"rl"}, "\"y\""));
    if (second.status == 429) {
      check_429(second, "3");
      CHECK(second.header("X-RateLimit-Remaining") == std::optional<std::string>("0"));
      limited = first.status == 200;
    }
  }
  CHECK(limited);
  // Below the limit publishing works again (a later window).
  const Deadline deadline = within(5s);
  int status = 0;
  while (status != 200 && Clock::now() < deadline) {
    status = http.publish(app, publish_body("e", {"rl"}, "\"z\"")).status;
  }
  CHECK(status == 200);
}

TEST_CASE("e2e: max_read_requests_per_second answers 429 to channel queries") {
  ServerConfig cfg = default_config();
  cfg.app().extra_limits = {{"max_read_requests_per_second", "1"}};
  Server server(cfg);
  HttpClient http(server.port());
  bool limited = false;
  for (int attempt = 0; attempt < 10 && !limited; ++attempt) {
    const HttpResponse a = http.signed_request(app, "GET", "/apps/app-id/channels");
    const HttpResponse b = http.signed_request(app, "GET", "/apps/app-id/channels/x");
    if (a.status == 200 && b.status == 429) {
      check_429(b, "1");
      limited = true;
    }
  }
  CHECK(limited);
  // Publishing is not a read: it is never limited by this setting.
  CHECK(http.publish(app, publish_body("e", {"x"}, "1")).status == 200);
}

TEST_CASE("e2e: the per-IP WebSocket connect rate limit answers 429 before the upgrade") {
  ServerConfig cfg = default_config();
  cfg.extra = {
      {"rate_limiter",
       R"({"enabled":true,"websocket_rate_limit":{"max_requests":3,"window_seconds":60}})"}};
  Server server(cfg);
  std::vector<std::unique_ptr<WsClient>> ok;
  for (int i = 0; i < 3; ++i) {
    ok.push_back(std::make_unique<WsClient>());
    ok.back()->open(server.port());
  }
  RawWsClient refused;
  REQUIRE(refused.connect(server.port()));
  CHECK(refused.upgrade() == 429);
  CHECK(refused.response_body() == too_many_body);
  CHECK(refused.response_head().find("Retry-After:") != std::string::npos);
  CHECK(refused.response_head().find("X-RateLimit-Limit: 3") != std::string::npos);
  CHECK(refused.response_head().find("X-RateLimit-Remaining: 0") != std::string::npos);
  // The HTTP API from the same IP is not a WebSocket connect.
  HttpClient http(server.port());
  CHECK(http.publish(app, publish_body("e", {"x"}, "1")).status == 200);
  CHECK(server.wait_for_log("kind=ip_connect_rate", soon()).has_value());
}

TEST_CASE("e2e: max_connections_per_ip closes the extra connection with 4100") {
  ServerConfig cfg = default_config();
  cfg.extra = {{"max_connections_per_ip", "2"}, {"workers", "2"}};
  Server server(cfg);
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  WsClient extra;
  REQUIRE(extra.connect(server.port()));
  const auto r = extra.expect_error_then_close(4100, soon());
  CHECK(r.message == "Over capacity");
  // Closing one frees its slot (released once the server has seen the close: bounded retry).
  REQUIRE(a.close().has_value());
  const Deadline deadline = within(5s);
  bool admitted = false;
  while (!admitted && Clock::now() < deadline) {
    WsClient again;
    REQUIRE(again.connect(server.port()));
    admitted = event_of(again.expect_message(soon())) == "pusher:connection_established";
  }
  CHECK(admitted);
}

TEST_CASE("e2e: message_rate_limit drops a subscribe or ping flood with one 4301 per window") {
  ServerConfig cfg = default_config();
  cfg.app().extra_limits = {{"message_rate_limit", "5"}};
  Server server(cfg);
  constexpr int flood = 60;

  SUBCASE("subscribe flood") {
    RawWsClient c;
    c.open(server.port());
    std::string burst;
    for (int i = 0; i < flood; ++i) {
      burst += encode_frame(Opcode::text, R"({"event":"pusher:subscribe","data":{"channel":"c)" +
                                              std::to_string(i) + R"("}})");
    }
    REQUIRE(c.send_bytes(burst));
    int succeeded = 0;
    int limited = 0;
    // Read until the server has been quiet for a moment (every reply is bounded by the flood).
    while (auto m = c.read_message(within(1500ms))) {
      if (event_of(*m) == "pusher_internal:subscription_succeeded") ++succeeded;
      if (event_of(*m) == "pusher:error") {
        CHECK(error_of(*m).code == 4301);
        CHECK(error_of(*m).message == "Client event rejected due to rate limit");
        ++limited;
      }
    }
    CHECK(succeeded >= 5);
    CHECK(succeeded < flood);
    CHECK(limited >= 1);
    CHECK(succeeded + limited < flood);  // dropped messages are not answered one by one
  }
  SUBCASE("WebSocket ping flood") {
    RawWsClient c;
    c.open(server.port());
    std::string burst;
    for (int i = 0; i < flood; ++i) burst += encode_frame(Opcode::ping, "p");
    REQUIRE(c.send_bytes(burst));
    int pongs = 0;
    int limited = 0;
    for (;;) {
      const RawFrame f = c.read_frame(within(1500ms));
      if (!f.is_frame()) break;
      if (f.opcode == static_cast<std::uint8_t>(Opcode::pong)) ++pongs;
      if (f.opcode == static_cast<std::uint8_t>(Opcode::text)) ++limited;
    }
    CHECK(pongs >= 5);
    CHECK(pongs < flood);
    CHECK(limited >= 1);
  }
  CHECK(server.wait_for_log("kind=message_rate", soon()).has_value());
}

TEST_CASE("e2e: message_rate_limit object form: window and terminate_on_limit") {
  ServerConfig cfg = default_config();
  SUBCASE("terminate_on_limit closes with 4301") {
    cfg.app().extra_limits = {{"message_rate_limit", R"({"enabled": true, "max_attempts": 3,
      "decay_seconds": 60, "terminate_on_limit": true})"}};
    Server server(cfg);
    RawWsClient c;
    c.open(server.port());
    std::string burst;
    for (int i = 0; i < 10; ++i) {
      burst += encode_frame(Opcode::text, R"({"event":"pusher:ping","data":{}})");
    }
    (void)c.send_bytes(burst);  // the server may close before it has read everything
    const CloseInfo close = c.expect_close(soon());
    CHECK(close.code == 4301);
    CHECK(close.reason == "Connection closed due to client event rate limit");
  }
  SUBCASE("decay_seconds is the window: the limit holds across seconds") {
    cfg.app().extra_limits = {
        {"message_rate_limit", R"({"enabled": true, "max_attempts": 3, "decay_seconds": 60})"}};
    Server server(cfg);
    RawWsClient c;
    c.open(server.port());
    int pongs = 0;
    int limited = 0;
    for (int i = 0; i < 3; ++i) {  // spread over more than one second
      for (int j = 0; j < 2; ++j) REQUIRE(c.send_text(R"({"event":"pusher:ping","data":{}})"));
      while (auto m = c.read_message(within(600ms))) {
        if (event_of(*m) == "pusher:pong") ++pongs;
        if (event_of(*m) == "pusher:error") ++limited;
      }
    }
    CHECK(pongs == 3);
    CHECK(limited == 1);
  }
}

TEST_CASE("e2e: subscriptions beyond max_channels_per_connection get 4300") {
  ServerConfig cfg = default_config();
  cfg.app().extra_limits = {{"max_channels_per_connection", "2"}};
  Server server(cfg);
  WsClient c;
  c.open(server.port());
  CHECK(c.subscribe_ok("a") == "{}");
  CHECK(c.subscribe_ok("b") == "{}");
  c.subscribe("c");
  CHECK(c.expect_refused("c", 4300, "LimitReached", 4100, soon()) ==
        "Channel error: Subscription limit reached (2 channels per connection)");
  CHECK(c.subscribe_ok("a") == "{}");  // a channel it is already in still answers
}

TEST_CASE("e2e: oversized request headers get 431") {
  Server server;
  RawWsClient c;
  REQUIRE(c.connect(server.port()));
  const std::string req =
      "GET /app/app-key HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + std::string(20 * 1024, 'a') +
      "\r\n\r\n";
  CHECK(c.send_http(req) == 431);
}

TEST_CASE("e2e: slowloris headers and bodies are cut at handshake_timeout") {
  ServerConfig cfg = default_config();
  cfg.handshake_timeout = 1s;
  Server server(cfg);
  SUBCASE("headers never finish") {
    RawWsClient c;
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.send_bytes("GET /app/app-key HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a"));
    // Keep trickling bytes while the server still reads; it must end the connection.
    bool closed = false;
    const Deadline deadline = within(10s);
    while (!closed && Clock::now() < deadline) {
      closed = !c.send_bytes("a") || c.wait_eof(within(200ms));
    }
    CHECK(closed);
  }
  SUBCASE("body never finishes") {
    RawWsClient c;
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.send_bytes(
        "POST /apps/app-id/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"));
    CHECK(c.wait_eof(within(10s)));
  }
  CHECK(server.wait_for_log("kind=request_timeout", soon()).has_value());
}

TEST_CASE("e2e: abuse is counted in pushcore_abuse_total and logged once per burst") {
  ServerConfig cfg = default_config();
  cfg.metrics_enabled = true;
  cfg.metrics_port = 0;
  Server server(cfg);
  const std::uint16_t mport = metrics_port(server);
  constexpr int burst = 20;
  for (int i = 0; i < burst; ++i) {
    RawWsClient c;
    REQUIRE(c.connect(server.port()));
    const std::string req =
        "GET /up HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(17 * 1024, 'a') + "\r\n\r\n";
    CHECK(c.send_http(req) == 431);
  }
  {
    RawWsClient c;
    c.open(server.port());
    c.send_frame(Opcode::text, ping_frame(), unmasked());
    CHECK(c.expect_close(soon(), false).code == 1002);
  }
  {
    RawWsClient c;
    c.open(server.port());
    c.send_text("{\"event\":\"\xff\"}");
    CHECK(c.expect_close(soon(), false).code == 1007);
  }
  {
    RawWsClient c;
    c.open(server.port());
    c.send_frame(Opcode::continuation, "x");
    CHECK(c.expect_close(soon(), false).code == 1002);
  }
  CHECK(abuse_count(mport, "header_too_large") == burst);
  CHECK(abuse_count(mport, "unmasked_frame") == 1);
  CHECK(abuse_count(mport, "invalid_utf8") == 1);
  CHECK(abuse_count(mport, "bad_fragmentation") == 1);
  CHECK(abuse_count(mport, "api_events_rate") == 0);
  // The burst of 431s produced far fewer log lines than events (one per kind per second).
  int lines = 0;
  for (const auto& l : server.log_lines()) {
    if (l.find("kind=header_too_large") != std::string::npos) ++lines;
  }
  CHECK(lines >= 1);
  CHECK(lines < burst);
}

}  // namespace e2e
