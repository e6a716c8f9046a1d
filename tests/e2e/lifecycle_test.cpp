// Slow consumers (send queue budget, close 4100), graceful shutdown (4200) and the handshake
// timeout.

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include "tests/e2e/e2e.hpp"

namespace e2e {

TEST_CASE("e2e: a client that never reads is closed with 4100; a reading client gets everything") {
  ServerConfig cfg = default_config();
  cfg.send_queue_max_bytes = 256 * 1024;
  cfg.send_queue_max_messages = 64;
  Server server(cfg);
  HttpClient http(server.port());
  const std::string ch = "firehose";

  // The slow consumer: a tiny receive window, subscribed, and from then on never reads.
  RawWsClient slow;
  slow.set_receive_buffer(4096);
  slow.open(server.port());
  REQUIRE(slow.send_text(subscribe_frame(ch)));
  slow.expect_event("pusher_internal:subscription_succeeded", soon());

  // The healthy consumer reads on its own thread until the "done" event.
  WsClient reader;
  reader.open(server.port());
  REQUIRE(reader.subscribe_ok(ch) == "{}");
  std::vector<std::string> received;
  std::string reader_error;
  std::thread reader_thread([&] {
    try {
      for (;;) {
        std::string msg = reader.expect_message(within(30s));
        if (msg.find(R"("event":"done")") != std::string::npos) break;
        received.push_back(std::move(msg));
      }
    } catch (const std::exception& e) {
      reader_error = e.what();
    }
  });

  // Publish 16 KiB messages until the server reports one subscriber left (the slow one was
  // dropped), with a cap far above any kernel buffering.
  const std::string pad(16 * 1024, 'p');
  constexpr int max_messages = 1500;
  int published = 0;
  std::int64_t count = 2;
  while (published < max_messages && count > 1) {
    const std::string data = R"({"seq":)" + std::to_string(published) + R"(,"pad":")" + pad + "\"}";
    const auto res = http.publish(
        app, publish_body("tick", {ch}, json_quote(data), {}, "subscription_count"), within(10s));
    REQUIRE_MESSAGE(res.status == 200, res.body, res.error);
    ++published;
    JsonDoc doc(res.body);
    std::int64_t n = 0;
    if (!doc.root()["channels"][ch]["subscription_count"].get_int64().get(n)) count = n;
  }
  CHECK_MESSAGE(count == 1, "the slow consumer was still subscribed after ", published,
                " messages of 16 KiB");
  REQUIRE(http.publish(app, publish_body("done", {ch}, json_quote(""))).status == 200);
  reader_thread.join();
  CHECK_MESSAGE(reader_error.empty(), reader_error);

  // Every message, in order, to the reading client.
  CHECK(static_cast<int>(received.size()) == published);
  for (std::size_t i = 0; i < received.size(); ++i) {
    const std::string expected = R"(\"seq\":)" + std::to_string(i) + ",";
    if (received[i].find(expected) == std::string::npos) {
      FAIL("message " << i << " out of order: " << received[i].substr(0, 80));
      break;
    }
  }

  // The slow client finds a 4100 close behind whatever the kernel had buffered.
  std::size_t skipped = 0;
  const CloseInfo r = slow.expect_close(within(10s), true, &skipped);
  CHECK_MESSAGE(r.clean, "no close frame: ", r.reason);
  CHECK(r.code == 4100);
  CHECK(static_cast<int>(skipped) < published);
}

TEST_CASE("e2e: SIGTERM sends 4200 to every client and the process exits within the grace period") {
  ServerConfig cfg = default_config();
  cfg.shutdown_grace_period = 2s;
  Server server(cfg);
  WsClient a;
  WsClient b;
  WsClient c;
  a.open(server.port());
  b.open(server.port());
  c.open(server.port());
  a.subscribe_ok("room");
  join_presence(b, "presence-room", R"({"user_id":"1"})");
  // One client that never reads or answers the close: the grace period bounds the wait for it.
  RawWsClient stubborn;
  stubborn.open(server.port());

  const auto start = Clock::now();
  server.send_signal(SIGTERM);
  for (WsClient* client : {&a, &b, &c}) {
    const auto r = client->expect_error_then_close(4200, within(5s));
    CHECK(r.message == "Server shutting down");
    CHECK(r.close.reason == "Server shutting down");
  }
  const auto status = server.wait_exit(start + cfg.shutdown_grace_period + 2s);
  REQUIRE_MESSAGE(status.has_value(), "still running ", ms_since(start), " ms after SIGTERM");
  CHECK_MESSAGE(WIFEXITED(*status), "status ", *status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(ms_since(start) <= (cfg.shutdown_grace_period + 1s).count() * 1000);
  // The stubborn client got the same frames.
  CHECK(event_of(stubborn.expect_event("pusher:error", soon())) == "pusher:error");
  const CloseInfo r = stubborn.expect_close(soon(), false);
  CHECK(r.code == 4200);
}

TEST_CASE(
    "e2e: a connection that never completes the handshake is closed after handshake_timeout") {
  ServerConfig cfg = default_config();
  cfg.handshake_timeout = 1s;
  Server server(cfg);
  RawWsClient c;
  REQUIRE(c.connect(server.port()));
  const auto start = Clock::now();
  SUBCASE("nothing sent") {}
  SUBCASE("partial request head") {
    REQUIRE(c.send_bytes("GET /app/app-key?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  }
  CHECK(c.wait_eof(within(5s)));
  CHECK(ms_since(start) >= 900);
  CHECK(ms_since(start) < 4000);
  // Live WebSocket sessions are not subject to it.
  WsClient ws;
  ws.open(server.port());
  RawWsClient idle;
  REQUIRE(idle.connect(server.port()));
  CHECK(idle.wait_eof(within(5s)));
  ws.expect_alive_and_idle();
}

}  // namespace e2e
