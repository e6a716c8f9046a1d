#pragma once
// The publisher: signed HTTP API calls (POST /apps/{id}/events or /batch_events) over
// non-blocking HTTP/1.1 connections, one request in flight per connection. Fixed rate (events
// per second, opening more connections when all are busy, up to a limit) or --max (K
// connections, each sending its next call as soon as the previous one is answered, gated by a
// delivery-window callback). Reconnects when the server closes (Soketi: Connection: close).
// Each event carries a marker "B<seq>.<CLOCK_MONOTONIC ns>." with a per-channel sequence.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/histogram.hpp"
#include "bench/loop.hpp"

namespace bench {

struct PublishConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6001;
  std::string app_id, app_key, app_secret;
  std::string event = "bench";
  std::vector<std::string> channels;
  std::uint32_t payload = 100;
  std::uint32_t batch = 1;
  bool max = false;
  std::uint32_t inflight = 8;         ///< --max: connections (= calls in flight)
  std::uint32_t max_conns = 64;       ///< fixed rate: most connections
  double events_per_s = 100;          ///< fixed rate
  std::function<bool()> may_publish;  ///< --max: false pauses publishing (delivery window)
};

struct PublishStats {
  std::uint64_t events_sent = 0;
  std::uint64_t events_acked = 0;
  std::uint64_t events_failed = 0;  ///< non-2xx answer or connection lost before the answer
  std::uint64_t calls = 0;
  std::uint64_t http_errors = 0;
  std::uint64_t conn_errors = 0;
  std::uint64_t connects = 0;
  std::uint64_t behind_max = 0;  ///< fixed rate: most calls that were due but had no connection
  Histogram api_latency;         ///< request sent -> response complete, ns
};

class Publisher {
 public:
  Publisher(Loop& loop, PublishConfig cfg);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  /// Opens the first connections (before the subscribers, so they don't count per connection).
  void prepare();
  void start();
  void stop();
  /// No call in flight.
  [[nodiscard]] bool idle() const noexcept { return busy_ == 0; }
  [[nodiscard]] bool running() const noexcept { return running_; }
  [[nodiscard]] const PublishStats& stats() const noexcept { return stats_; }
  void reset_latency() { stats_.api_latency.reset(); }
  /// Events acknowledged per channel (the loss check's expectation).
  [[nodiscard]] const std::vector<std::int64_t>& acked() const noexcept { return acked_; }
  /// Events sent per channel (the delivery window's expectation).
  [[nodiscard]] const std::vector<std::int64_t>& sent() const noexcept { return seq_; }

  struct Conn;
  void on_conn_io(Conn& c, std::uint32_t events);

 private:
  void open(Conn& c);
  void close_conn(Conn& c, bool error);
  void on_ready(Conn& c);
  void issue(Conn& c);
  void pump();
  /// The most recently used ready connection, closing any idle for too long; null if none.
  Conn* take_ready();
  void on_response(Conn& c, int status, std::string_view body, bool close);

  Loop& loop_;
  PublishConfig cfg_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> ready_;
  std::uint32_t busy_ = 0, connecting_ = 0;
  bool running_ = false;
  std::uint64_t t0_ = 0, calls_issued_ = 0, next_event_ = 0;
  std::vector<std::int64_t> seq_, acked_;
  std::string host_header_, events_path_, batch_path_;
  unsigned char dst_[16] = {};
  int tick_ = 0;
  PublishStats stats_;
};

}  // namespace bench
