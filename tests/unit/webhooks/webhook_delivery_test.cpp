// Webhooks end to end inside one process: the real sender thread and HTTP client against a
// scripted HTTP/1.1 receiver on 127.0.0.1 (answers, hangs, refuses), with tiny timeouts.

#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/signature.hpp"
#include "server/webhooks.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// ================================================================================================
// A scripted HTTP receiver
// ================================================================================================

struct Received {
  std::string target;
  std::string content_type;
  std::string key;
  std::string signature;
  std::string host;
  std::string custom;
  std::string body;
  std::size_t connection = 0;  // which accepted connection carried it (1-based)
};

struct Action {
  unsigned status = 200;
  bool hang = false;   // read the request, never answer (socket kept open)
  bool close = false;  // close without answering
};

class Receiver {
 public:
  using Script = std::function<Action(std::size_t index)>;

  explicit Receiver(Script script = [](std::size_t) { return Action{}; })
      : script_(std::move(script)),
        acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    do_accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Receiver() {
    net::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      for (auto& socket : held_) {
        socket->close(ec);
      }
    });
    ioc_.stop();
    thread_.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] std::string url(const std::string& path = "/webhook") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  std::vector<Received> received() const {
    const std::lock_guard lock(mutex_);
    return received_;
  }
  std::size_t connections() const { return connections_.load(); }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(Receiver& r, tcp::socket s, std::size_t n) : owner(r), socket(std::move(s)), id(n) {}
    void read() {
      request = {};
      http::async_read(socket, buffer, request,
                       [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                         if (!ec) {
                           self->on_request();
                         }
                       });
    }
    void on_request() {
      const Action action = owner.record(request, id);
      if (action.hang) {
        owner.held_.push_back(std::shared_ptr<tcp::socket>(shared_from_this(), &socket));
        return;
      }
      if (action.close) {
        boost::system::error_code ec;
        socket.close(ec);
        return;
      }
      auto response = std::make_shared<http::response<http::string_body>>(
          static_cast<http::status>(action.status), 11);
      response->keep_alive(request.keep_alive());
      response->body() = "ok";
      response->prepare_payload();
      http::async_write(
          socket, *response,
          [self = shared_from_this(), response](boost::system::error_code ec, std::size_t) {
            if (!ec && response->keep_alive()) {
              self->read();
            }
          });
    }
    Receiver& owner;
    tcp::socket socket;
    std::size_t id;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
  };

  void do_accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) {
        return;
      }
      const std::size_t id = ++connections_;
      std::make_shared<Session>(*this, std::move(socket), id)->read();
      do_accept();
    });
  }

  Action record(const http::request<http::string_body>& req, std::size_t connection) {
    Received r;
    r.target = std::string(req.target());
    r.content_type = std::string(req[http::field::content_type]);
    r.key = std::string(req["X-Pusher-Key"]);
    r.signature = std::string(req["X-Pusher-Signature"]);
    r.host = std::string(req[http::field::host]);
    r.custom = std::string(req["X-Custom"]);
    r.body = req.body();
    r.connection = connection;
    std::size_t index = 0;
    {
      const std::lock_guard lock(mutex_);
      index = received_.size();
      received_.push_back(std::move(r));
    }
    return script_(index);
  }

  Script script_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<tcp::socket>> held_;  // hanging requests (receiver thread only)
  mutable std::mutex mutex_;
  std::vector<Received> received_;
  std::atomic<std::size_t> connections_{0};
  std::thread thread_;
};

// ================================================================================================
// Helpers
// ================================================================================================

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// One app (key "k", secret "s") with one webhook to `url`; `hook_extra` and `settings` are
// extra JSON members of the webhook and the top-level `webhooks` object.
server::Config make_config(const std::string& url, const std::string& settings = "",
                           const std::string& hook_extra = "") {
  const std::string json =
      R"({"webhooks":{"retry":{"initial_interval_ms":10,"max_interval_ms":40}, "request_timeout_ms":2000)" +
      (settings.empty() ? "" : "," + settings) +
      R"(},"app_manager":{"array":{"apps":[{"id":"1","key":"k","secret":"s","policy":{"webhooks":[)"
      R"({"url":")" +
      url +
      R"(","headers":{"X-Custom":"yes"},"event_types":["channel_occupied","channel_vacated",)"
      R"("member_added","member_removed","client_event","cache_miss","subscription_count"])" +
      (hook_extra.empty() ? "" : "," + hook_extra) + "}]}}]}}}";
  std::vector<std::string> warnings;
  return server::parse_config(json, nullptr, warnings);
}

server::WebhookEvent event(std::string name, std::string channel) {
  server::WebhookEvent e;
  e.name = std::move(name);
  e.channel = std::move(channel);
  e.time_ms = 1700000000000;
  return e;
}

// A port on 127.0.0.1 with nothing listening.
std::uint16_t closed_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

}  // namespace

// ================================================================================================
// Tests
// ================================================================================================

TEST_CASE("webhooks delivery: one signed batch with the right headers") {
  Receiver receiver;
  server::Webhooks webhooks(make_config(receiver.url("/hook?x=1")));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  server::WebhookEvent client = event("client_event", "private-a");
  client.event = "client-x";
  client.data = R"({"n":1})";
  client.socket_id = "1.2";
  webhooks.emit(0, client);
  REQUIRE(eventually([&] { return receiver.received().size() == 1; }));
  const Received r = receiver.received()[0];
  CHECK(r.target == "/hook?x=1");
  CHECK(r.content_type == "application/json");
  CHECK(r.key == "k");
  CHECK(r.signature == auth::webhook_signature("s", r.body));
  CHECK(r.host == "127.0.0.1:" + std::to_string(receiver.port()));
  CHECK(r.custom == "yes");
  CHECK(r.body ==
        R"({"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"a"},)"
        R"({"name":"client_event","channel":"private-a","event":"client-x","data":{"n":1},)"
        R"("socket_id":"1.2"}]})");
  REQUIRE(eventually([&] { return webhooks.stats().queue_depth == 0; }));
  const auto s = webhooks.stats();
  CHECK(s.queued == 2);
  CHECK(s.sent_requests == 1);
  CHECK(s.sent_events == 2);
  CHECK(s.failed_requests == 0);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: a host name is resolved (localhost)") {
  Receiver receiver;
  server::Webhooks webhooks(
      make_config("http://localhost:" + std::to_string(receiver.port()) + "/by-name"));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  REQUIRE(eventually([&] { return webhooks.stats().sent_requests == 1; }));
  const auto received = receiver.received();
  REQUIRE(received.size() == 1);
  CHECK(received[0].target == "/by-name");
  CHECK(received[0].host == "localhost:" + std::to_string(receiver.port()));
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: 500 twice then 200 is retried and delivered once") {
  Receiver receiver([](std::size_t i) { return Action{i < 2 ? 500u : 200u}; });
  server::Webhooks webhooks(make_config(receiver.url()));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  REQUIRE(eventually([&] { return webhooks.stats().sent_requests == 1; }));
  const auto received = receiver.received();
  REQUIRE(received.size() == 3);
  CHECK(received[0].body == received[2].body);
  CHECK(received[1].signature == received[2].signature);
  const auto s = webhooks.stats();
  CHECK(s.failed_requests == 2);
  CHECK(s.retried_requests == 2);
  CHECK(s.sent_events == 1);
  CHECK(s.dropped_retries_exhausted == 0);
  // Each answer kept the connection open, so one connection carried all three.
  CHECK(receiver.connections() == 1);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: a hanging receiver times out, is retried, emit stays fast") {
  Receiver receiver([](std::size_t i) { return i == 0 ? Action{200, true} : Action{}; });
  server::Webhooks webhooks(make_config(receiver.url(), R"("request_timeout_ms":150)"));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  REQUIRE(eventually([&] { return receiver.received().size() == 1; }));
  // While the request hangs, emitting is still a queue append.
  const auto t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) {
    webhooks.emit(0, event("client_event", "c"));
  }
  CHECK(Clock::now() - t0 < 500ms);
  REQUIRE(eventually([&] { return webhooks.stats().sent_requests >= 2; }));
  REQUIRE(eventually([&] { return webhooks.stats().sent_events == 1001; }));
  const auto s = webhooks.stats();
  CHECK(s.failed_requests == 1);
  CHECK(s.retried_requests == 1);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: per-webhook request_timeout_ms wins") {
  Receiver receiver([](std::size_t i) { return i == 0 ? Action{200, true} : Action{}; });
  server::Webhooks webhooks(
      make_config(receiver.url(), R"("request_timeout_ms":60000)", R"("request_timeout_ms":100)"));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  REQUIRE(eventually([&] { return webhooks.stats().sent_requests == 1; }, 3000ms));
  CHECK(webhooks.stats().failed_requests == 1);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: an unreachable URL is counted as lost, nothing grows") {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
  server::Webhooks webhooks(
      make_config(url, R"("retry":{"initial_interval_ms":10,"max_elapsed_time_ms":100})"));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  // The drop is counted before the queue slot is released: wait for both.
  REQUIRE(eventually([&] {
    const auto st = webhooks.stats();
    return st.dropped_retries_exhausted == 1 && st.queue_depth == 0;
  }));
  const auto s = webhooks.stats();
  CHECK(s.failed_requests >= 3);  // 0, 10, 30, 70 ms: four attempts fit in 100 ms
  CHECK(s.retried_requests == s.failed_requests - 1);
  CHECK(s.sent_requests == 0);
  CHECK(s.queue_depth == 0);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: a refused connection is retried until max_attempts") {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
  server::Webhooks webhooks(make_config(url, "", R"("retry":{"max_attempts":3})"));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  REQUIRE(eventually([&] { return webhooks.stats().dropped_retries_exhausted == 1; }));
  CHECK(webhooks.stats().failed_requests == 3);
  CHECK(webhooks.stats().retried_requests == 2);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: a 4xx answer is final") {
  Receiver receiver([](std::size_t) { return Action{404}; });
  server::Webhooks webhooks(make_config(receiver.url()));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  REQUIRE(eventually([&] { return webhooks.stats().dropped_retries_exhausted == 1; }));
  std::this_thread::sleep_for(100ms);
  CHECK(receiver.received().size() == 1);
  CHECK(webhooks.stats().retried_requests == 0);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: a connection closed without an answer is retried") {
  Receiver receiver([](std::size_t i) { return i == 0 ? Action{200, false, true} : Action{}; });
  server::Webhooks webhooks(make_config(receiver.url()));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  REQUIRE(eventually([&] { return webhooks.stats().sent_requests == 1; }));
  CHECK(receiver.received().size() == 2);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: the queue is bounded by count and by bytes") {
  SUBCASE("count") {
    server::Webhooks webhooks(make_config("http://127.0.0.1:9/", R"("max_queue_size":10)"));
    for (int i = 0; i < 25; ++i) {
      webhooks.emit(0, event("client_event", "c"));
    }
    const auto s = webhooks.stats();  // not started: everything waits in the queue
    CHECK(s.queued == 10);
    CHECK(s.dropped_queue_full == 15);
    CHECK(s.queue_depth == 10);
  }
  SUBCASE("bytes") {
    server::Webhooks webhooks(make_config("http://127.0.0.1:9/", R"("max_queue_bytes":4096)"));
    server::WebhookEvent big = event("client_event", "c");
    big.data = "\"" + std::string(1500, 'x') + "\"";
    for (int i = 0; i < 5; ++i) {
      webhooks.emit(0, big);
    }
    const auto s = webhooks.stats();
    CHECK(s.queued == 2);
    CHECK(s.dropped_queue_full == 3);
  }
}

TEST_CASE("webhooks delivery: a stuck URL holds at most the queue, then drops") {
  Receiver receiver([](std::size_t) { return Action{200, true}; });  // every request hangs
  server::Webhooks webhooks(make_config(
      receiver.url(),
      R"("max_queue_size":50,"request_timeout_ms":60000,"batching":{"enabled":false})"));
  webhooks.start();
  for (int i = 0; i < 200; ++i) {
    webhooks.emit(0, event("client_event", "c"));
  }
  REQUIRE(eventually([&] { return receiver.received().size() == 20; }));  // in-flight cap
  const auto s = webhooks.stats();
  CHECK(s.queued + s.dropped_queue_full == 200);
  CHECK(s.queue_depth <= 50);
  CHECK(s.dropped_queue_full >= 150);
  const auto t0 = Clock::now();
  webhooks.shutdown(100ms);  // the hanging requests are abandoned within the grace period
  CHECK(Clock::now() - t0 < 1000ms);
  CHECK(webhooks.stats().dropped_retries_exhausted == s.queued);
}

TEST_CASE("webhooks delivery: shutdown sends the delayed events at once") {
  Receiver receiver;
  server::Webhooks webhooks(make_config(receiver.url()));  // vacate delay 3 s
  webhooks.start();
  webhooks.emit(0, event("channel_vacated", "a"));
  server::WebhookEvent removed = event("member_removed", "presence-a");
  removed.user_id = "u1";
  webhooks.emit(0, removed);
  std::this_thread::sleep_for(100ms);
  CHECK(receiver.received().empty());
  const auto t0 = Clock::now();
  webhooks.shutdown(2000ms);
  CHECK(Clock::now() - t0 < 1000ms);
  const auto received = receiver.received();
  REQUIRE(received.size() == 1);
  CHECK(received[0].body.find("channel_vacated") != std::string::npos);
  CHECK(received[0].body.find("member_removed") != std::string::npos);
  CHECK(webhooks.stats().sent_events == 2);
  webhooks.emit(0, event("channel_occupied", "b"));  // after shutdown: discarded
  CHECK(webhooks.stats().queued == 2);
}

TEST_CASE("webhooks delivery: a quick re-occupy sends nothing") {
  Receiver receiver;
  server::Webhooks webhooks(make_config(receiver.url(), R"("vacate_delay_ms":100)"));
  webhooks.start();
  webhooks.emit(0, event("channel_vacated", "a"));
  webhooks.emit(0, event("channel_occupied", "a"));
  std::this_thread::sleep_for(300ms);
  CHECK(receiver.received().empty());
  CHECK(webhooks.stats().queue_depth == 0);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: keep-alive reuses one connection for later requests") {
  Receiver receiver;
  server::Webhooks webhooks(make_config(receiver.url(), R"("batching":{"enabled":false})"));
  webhooks.start();
  for (int i = 0; i < 3; ++i) {
    webhooks.emit(0, event("channel_occupied", "c" + std::to_string(i)));
    REQUIRE(eventually([&] { return webhooks.stats().sent_requests == std::uint64_t(i + 1); }));
  }
  CHECK(receiver.connections() == 1);
  webhooks.shutdown(1000ms);
}

TEST_CASE("webhooks delivery: apps without webhooks want nothing") {
  std::vector<std::string> warnings;
  server::Webhooks webhooks(server::parse_config("{}", nullptr, warnings));
  CHECK_FALSE(webhooks.wants(0, "channel_occupied"));
  CHECK_FALSE(webhooks.wants(7, "channel_occupied"));
  webhooks.start();
  webhooks.emit(0, event("channel_occupied", "a"));
  webhooks.emit(3, event("channel_occupied", "a"));
  CHECK(webhooks.stats().queued == 0);
  webhooks.shutdown(100ms);
  webhooks.shutdown(100ms);  // idempotent
}

TEST_CASE("webhooks delivery: destruction without start or shutdown is clean") {
  server::Webhooks a(make_config("http://127.0.0.1:9/"));
  a.emit(0, event("channel_occupied", "a"));
  server::Webhooks b(make_config("http://127.0.0.1:9/"));
  b.start();
  b.emit(0, event("channel_occupied", "a"));
}
