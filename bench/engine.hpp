#pragma once
// The subscriber side of the bench: one Engine per bench process that holds connections (the
// whole population when --procs 1, a 1/P share in each child otherwise). Driven by text
// commands from the coordinator and answering with text lines (see shards.hpp), so the same
// code runs in-process and in child processes.
//
// Commands:  CONNECT | SUBSCRIBE | BEGIN | END | START | STOP | SLOW | FINISH <exp> | CLOSE
// Replies:   STATUS <report>  (every 50 ms and at milestones)
//            WINDOW <report>  (END)   STOPPED <report> (STOP, once cyclers are idle)
//            FINAL <report>   (FINISH, after the slow-consumer drain)   CLOSED (CLOSE)

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/histogram.hpp"
#include "bench/loop.hpp"
#include "bench/options.hpp"
#include "bench/report.hpp"
#include "bench/wire.hpp"

namespace bench {

/// Who is who, from the options alone (identical in every process). Global index g in
/// [0, total()): stable subscribers first, then cyclers (churners / presence members).
struct Population {
  std::uint32_t stable = 0;
  std::uint32_t cyclers = 0;
  std::uint32_t channels = 1;
  double slow_share = 0;

  [[nodiscard]] std::uint32_t total() const noexcept { return stable + cyclers; }
  [[nodiscard]] bool is_cycler(std::uint32_t g) const noexcept { return g >= stable; }
  [[nodiscard]] std::uint32_t channel_of(std::uint32_t g) const noexcept {
    return (is_cycler(g) ? g - stable : g) % channels;
  }
  /// Slow subscribers are spread evenly: g is slow when floor((g+1)*share) > floor(g*share).
  [[nodiscard]] bool is_slow(std::uint32_t g) const noexcept;
  /// Stable subscribers on channel c.
  [[nodiscard]] std::uint32_t stable_on(std::uint32_t c) const noexcept;
  /// Stable non-slow subscribers on channel c.
  [[nodiscard]] std::uint32_t fast_on(std::uint32_t c) const noexcept;
};

[[nodiscard]] Population population_of(const Options& o);

/// Sequence window size (bits) for the options: room for the publishes that can be in flight.
[[nodiscard]] std::uint32_t seq_window_bits(const Options& o);

class Engine {
 public:
  using Sink = std::function<void(const std::string& line)>;
  Engine(const Options& o, Loop& loop, std::uint32_t shard, std::uint32_t shards, Sink sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void handle(std::string_view command);

  /// Live total of published events received (cheap; for in-process backpressure).
  [[nodiscard]] std::uint64_t delivered() const noexcept { return delivered_; }
  [[nodiscard]] std::uint32_t local_count() const noexcept { return count_; }

  struct Conn;
  void on_conn_io(Conn& c, std::uint32_t events);

 private:
  void start_connect(Conn& c);
  bool connect_from(int fd, std::uint32_t g, bool explicit_port);
  [[nodiscard]] int new_socket(const Conn& c) const;
  void pump_connects();
  void pump_subscribes();
  void settle(Conn& c);
  void fail(Conn& c, std::string_view why);
  void drop(Conn& c, bool by_server);
  void update_events(Conn& c);
  void on_readable(Conn& c);
  void on_writable(Conn& c);
  bool process(Conn& c, std::string_view data, std::uint64_t now, std::size_t& consumed);
  void on_message(Conn& c, std::string_view msg, std::uint64_t now);
  void on_delivery(Conn& c, std::string_view msg, std::uint64_t now);
  void on_client_event(Conn& c, std::string_view msg, std::uint64_t now);
  void on_established(Conn& c, std::string_view msg, std::uint64_t now);
  void on_subscribed(Conn& c, std::uint64_t now);
  void on_error_frame(Conn& c, std::string_view msg);
  void send_text(Conn& c, std::string_view json);
  void send_raw(Conn& c, std::string_view bytes);
  void subscribe(Conn& c);
  void begin_cycle(Conn& c, std::uint64_t now, std::string prefix);
  void start_activity(std::uint64_t now);
  void tick();
  void push_status(bool force);
  void maybe_stopped();
  void finish(std::string_view exp);
  void final_report();
  [[nodiscard]] std::string auth_for(const Conn& c, const std::string& channel,
                                     std::string& channel_data) const;

  const Options& o_;
  Loop& loop_;
  Population pop_;
  std::uint32_t shard_, shards_;
  Sink sink_;
  std::vector<Conn> conns_;
  std::uint32_t count_ = 0;
  std::vector<std::string> channel_names_;
  std::vector<std::uint64_t> seq_bits_;
  std::uint32_t wbits_ = 256;
  // client-events: per receiver, the last sequence seen from each talker of its channel
  std::vector<std::uint32_t> pair_last_;
  std::vector<std::uint64_t> pair_off_;
  std::string scratch_;
  std::string upgrade_;       ///< the upgrade request (the one app)
  std::string upgrade_tail_;  ///< what follows /app/KEY in it
  /// The upgrade request of `c` (its app's key with --apps; `buf` holds it then).
  const std::string& upgrade_for(const Conn& c, std::string& buf) const;
  alignas(8) unsigned char dst_[16] = {};   ///< sockaddr_in of the server
  alignas(8) unsigned char dst2_[16] = {};  ///< --port2: odd connections go here
  bool loopback_ = false;

  // setup progress
  std::uint32_t next_connect_ = 0, next_subscribe_ = 0;
  std::uint32_t inflight_ = 0, subscribing_ = 0;
  std::uint32_t established_ = 0, ready_ = 0, failed_ = 0, closed_by_server_ = 0;
  std::uint64_t delivered_ = 0, errors_ = 0;
  bool subscribe_all_ = false;
  std::uint64_t t_connect_ = 0, t_all_est_ = 0, t_all_ready_ = 0;
  int status_timer_ = 0, tick_timer_ = 0;
  std::uint64_t last_status_ = 0;

  // activities (cycles, client events, slow readers)
  bool active_ = false, stopping_ = false, slow_paused_ = false, counting_members_ = false;
  std::uint64_t act_start_ = 0, act_issued_ = 0;
  std::uint32_t cursor_ = 0;
  std::vector<std::uint32_t> idle_cyclers_;
  std::uint32_t cycling_ = 0;
  std::vector<std::int64_t> joins_leaves_, ce_sent_;

  // measured window: hot counters are plain integers, folded into the report at END
  bool in_window_ = false;
  std::uint64_t win_cpu_ = 0, win_t0_ = 0;
  std::uint64_t win_deliv_ = 0, win_slow_deliv_ = 0, win_churn_deliv_ = 0, win_member_ = 0;
  std::uint64_t win_ce_recv_ = 0, win_ce_sent_ = 0, win_cycles_ = 0;
  Report win_;
  Histogram* lat_ = nullptr;
  Report totals_;  // whole-run counters (errors, close codes, ...)

  // finish / slow-consumer drain
  bool finishing_ = false;
  std::uint64_t drain_deadline_ = 0, last_slow_bytes_at_ = 0;
  int drain_timer_ = 0;
  std::vector<std::int64_t> expected_;
};

}  // namespace bench
