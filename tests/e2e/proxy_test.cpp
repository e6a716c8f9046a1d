// Behind a proxy (README "Security"): the client address X-Forwarded-For names behind
// `trust_hops` trusted proxies (0, 1, 2; a spoofed header from an untrusted peer is ignored;
// too few entries fall back to the peer), on both accept paths (the fast head reader and Beast),
// for the per-IP connect rate, max_connections_per_ip and rate_limiter.api_rate_limit; and the
// health routes (/up, /up/{app}, /live) and /usage on the main and the metrics port.

#include <string>
#include <vector>

#include "tests/e2e/e2e.hpp"

namespace e2e {

namespace {

/// A config whose WebSocket connect rate is one per minute per client address.
ServerConfig one_connect_per_ip(int trust_hops) {
  ServerConfig cfg = default_config();
  cfg.extra = {{"rate_limiter",
                R"({"enabled":true,"websocket_rate_limit":{"max_requests":1,"window_seconds":60,)"
                R"("trust_hops":)" +
                    std::to_string(trust_hops) + "}}"}};
  return cfg;
}

/// The status of a WebSocket upgrade sent with `headers` (101 admitted, 429 rate-limited).
int upgrade_with(Server& server, const Headers& headers) {
  RawWsClient c;
  REQUIRE(c.connect(server.port()));
  return c.upgrade(default_ws_path, headers);
}

int upgrade_from(Server& server, std::string xff) {
  return upgrade_with(server, {{"X-Forwarded-For", std::move(xff)}});
}

/// The metrics port, from the server's `metrics_listening` log line.
std::uint16_t metrics_port_of(ServerProcess& server) {
  const auto line = server.wait_for_log("msg=metrics_listening", soon());
  REQUIRE(line.has_value());
  const auto at = line->find("port=");
  REQUIRE(at != std::string::npos);
  return static_cast<std::uint16_t>(std::stoi(line->substr(at + 5)));
}

void check_usage(const HttpResponse& r) {
  CHECK(r.status == 200);
  CHECK(r.header("Content-Type") == std::optional<std::string>("application/json"));
  for (const char* field :
       {"\"free\":", "\"used\":", "\"total\":", "\"percent\":", "\"rss\":", "\"virtual\":"}) {
    CAPTURE(field);
    CHECK(r.body.find(field) != std::string::npos);
  }
  CHECK(r.body.rfind("{\"memory\":{", 0) == 0);
}

}  // namespace

TEST_CASE("e2e: trust_hops 0 ignores X-Forwarded-For (a spoofed header changes nothing)") {
  Server server(one_connect_per_ip(0));
  CHECK(upgrade_from(server, "203.0.113.1") == 101);
  // Another claimed client from the same peer is still 127.0.0.1: over the limit.
  CHECK(upgrade_from(server, "203.0.113.2") == 429);
  CHECK(upgrade_with(server, {}) == 429);
  CHECK(server.wait_for_log("remote=127.0.0.1", soon()).has_value());
}

TEST_CASE("e2e: trust_hops 1 takes the last X-Forwarded-For entry as the client") {
  Server server(one_connect_per_ip(1));
  CHECK(upgrade_from(server, "203.0.113.1") == 101);
  CHECK(upgrade_from(server, "203.0.113.2") == 101);  // another client behind the proxy
  CHECK(upgrade_from(server, "203.0.113.1") == 429);  // the first one again
  // An entry the client wrote in front of what the proxy appended is not believed.
  CHECK(upgrade_from(server, "198.51.100.9, 203.0.113.2") == 429);
  CHECK(server.wait_for_log("remote=203.0.113.2", soon()).has_value());
  // Without the header (or with garbage) the peer is the client.
  CHECK(upgrade_with(server, {}) == 101);
  CHECK(upgrade_from(server, "not-an-address") == 429);
  // Two header lines are one list (Beast reads this head; the fast reader leaves it alone).
  CHECK(upgrade_with(server, {{"X-Forwarded-For", "198.51.100.7"},
                              {"X-Forwarded-For", "203.0.113.3"}}) == 101);
  CHECK(upgrade_from(server, "203.0.113.3") == 429);
}

TEST_CASE("e2e: trust_hops 2 takes the second entry from the right, else the peer") {
  Server server(one_connect_per_ip(2));
  CHECK(upgrade_from(server, "203.0.113.1, 10.0.0.1") == 101);
  CHECK(upgrade_from(server, "203.0.113.1, 10.0.0.2") == 429);  // same client, other proxy
  CHECK(upgrade_from(server, "198.51.100.9, 203.0.113.4, 10.0.0.1") == 101);
  // A single entry did not pass both trusted proxies: the peer (127.0.0.1) is the client.
  CHECK(upgrade_from(server, "203.0.113.5") == 101);
  CHECK(upgrade_from(server, "203.0.113.6") == 429);
  CHECK(upgrade_with(server, {}) == 429);
}

TEST_CASE("e2e: max_connections_per_ip counts the forwarded client address") {
  ServerConfig cfg = default_config();
  cfg.extra = {{"max_connections_per_ip", "1"},
               {"rate_limiter", R"({"websocket_rate_limit":{"trust_hops":1}})"}};
  Server server(cfg);
  RawWsClient a;
  RawWsClient b;
  a.open(server.port(), default_ws_path, {{"X-Forwarded-For", "203.0.113.1"}});
  b.open(server.port(), default_ws_path, {{"X-Forwarded-For", "203.0.113.2"}});
  RawWsClient extra;
  REQUIRE(extra.connect(server.port()));
  REQUIRE(extra.upgrade(default_ws_path, {{"X-Forwarded-For", "203.0.113.1"}}) == 101);
  const auto m = extra.read_message(soon());
  REQUIRE(m.has_value());
  CHECK(event_of(*m) == "pusher:error");
  CHECK(error_of(*m).code == 4100);
  CHECK(server.wait_for_log("remote=203.0.113.1", soon()).has_value());
}

void check_api_rate_limit(int hops) {
  CAPTURE(hops);
  ServerConfig cfg = default_config();
  cfg.extra = {
      {"rate_limiter", R"({"enabled":true,"api_rate_limit":{"max_requests":2,"window_seconds":60,)"
                       R"("trust_hops":)" +
                           std::to_string(hops) + "}}"}};
  Server server(cfg);
  HttpClient http(server.port());
  const Headers from_a{{"X-Forwarded-For", "203.0.113.1"}};
  const Headers from_b{{"X-Forwarded-For", "203.0.113.2"}};
  // Every /apps/ request counts, signed or not (the limiter runs before authentication).
  CHECK(http.request("GET", "/apps/app-id/channels", {}, from_a).status == 400);
  CHECK(http.request("GET", "/apps/app-id/channels", {}, from_a).status == 400);
  const HttpResponse limited = http.request("GET", "/apps/app-id/channels", {}, from_a);
  CHECK(limited.status == 429);
  CHECK(
      limited.body ==
      R"({"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."})");
  CHECK(limited.header("X-RateLimit-Limit") == std::optional<std::string>("2"));
  CHECK(limited.header("Retry-After").has_value());
  // Another client behind the trusted proxy has its own count; with trust_hops 0 it is the
  // same peer, already over the limit.
  const int other = http.request("GET", "/apps/app-id/channels", {}, from_b).status;
  CHECK(other == (hops == 1 ? 400 : 429));
  CHECK(server.wait_for_log("kind=ip_api_rate", soon()).has_value());
  // Health routes and WebSocket connects are not API requests.
  CHECK(http.request("GET", "/up").status == 200);
  WsClient ws;
  ws.open(server.port());
}

TEST_CASE("e2e: rate_limiter.api_rate_limit answers 429 per client address") {
  SUBCASE("trust_hops 0") {
    check_api_rate_limit(0);
  }
  SUBCASE("trust_hops 1") {
    check_api_rate_limit(1);
  }
}

TEST_CASE("e2e: /up, /up/{app_id}, /live and /usage on the main and the metrics port") {
  ServerConfig cfg = default_config();
  cfg.metrics_enabled = true;
  AppConfig off;
  off.id = "off-id";
  off.key = "off-key";
  off.secret = "off-secret";
  off.enabled = false;
  cfg.apps.push_back(off);
  Server server(cfg);
  HttpClient http(server.port());
  const HttpResponse up = http.request("GET", "/up");
  CHECK(up.status == 200);
  CHECK(up.body == "OK");
  CHECK(up.header("X-Health-Check") == std::optional<std::string>("OK"));
  CHECK(http.request("GET", "/up/app-id").status == 200);
  const HttpResponse disabled = http.request("GET", "/up/off-id");
  CHECK(disabled.status == 503);
  CHECK(disabled.body == "ERROR");
  CHECK(disabled.header("X-Health-Check") == std::optional<std::string>("ERROR"));
  CHECK(http.request("GET", "/up/no-such-app").status == 404);
  CHECK(http.request("GET", "/live").status == 200);
  check_usage(http.request("GET", "/usage"));
  HttpClient metrics(metrics_port_of(server));
  check_usage(metrics.request("GET", "/usage"));
}

}  // namespace e2e
