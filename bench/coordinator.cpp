#include "bench/coordinator.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include "bench/describe.hpp"
#include "bench/engine.hpp"
#include "bench/loop.hpp"
#include "bench/output.hpp"
#include "bench/publisher.hpp"
#include "bench/shards.hpp"
#include "bench/sysinfo.hpp"

namespace bench {
namespace {

struct ServerSample {
  std::optional<std::uint64_t> cpu_ns, rss, stat_cpu_ns;
};

struct Window {
  Report rep;
  double wall_s = 0;
  double machine_busy_s = 0, steal_s = 0;
  std::optional<double> server_cpus_busy_s;  ///< busy time of the server's CPUs (when pinned)
  std::optional<double> server_cpu_s, server_stat_cpu_s;
  double client_cpu_s = 0;
  std::uint64_t events_sent = 0, events_acked = 0;
  Histogram api;
};

class Coordinator {
 public:
  explicit Coordinator(Options& o)
      : o_(o), pop_(population_of(o)), shards_(o, loop_), t_start_(mono_ns()) {}
  int run();

 private:
  ServerSample sample() const;
  void progress();
  bool setup();
  Window measure(double seconds);
  void add_window(const std::string& prefix, const Window& w);
  void drain(bool exact);
  Report finish(const std::vector<std::int64_t>& expected);
  bool client_check(const Window& w);
  std::vector<std::int64_t> per_channel(const Report& r, const std::string& prefix) const;
  void record_rss_samples(const std::vector<double>& rss_kb);
  void write_outputs();

  Options& o_;
  Population pop_;
  Loop loop_;
  Shards shards_;
  std::unique_ptr<Publisher> pub_;
  Result res_;
  std::string phase_ = "start";
  std::uint64_t t_start_;
  std::uint64_t last_deliv_ = 0, last_deliv_t_ = 0;
  double deliv_rate_ = 0;
  bool tty_ = isatty(2) != 0;
  bool noisy_noted_ = false;
  std::uint64_t last_line_ = 0;
};

ServerSample Coordinator::sample() const {
  if (o_.server_pid == 0) return {};
  return {process_cpu_ns(o_.server_pid), process_rss_bytes(o_.server_pid),
          process_stat_cpu_ns(o_.server_pid)};
}

void Coordinator::progress() {
  const std::uint64_t now = mono_ns();
  const std::uint64_t d = shards_.delivered();
  if (last_deliv_t_ != 0 && now > last_deliv_t_) {
    deliv_rate_ =
        static_cast<double>(d - last_deliv_) * 1e9 / static_cast<double>(now - last_deliv_t_);
  }
  last_deliv_ = d;
  last_deliv_t_ = now;
  if (o_.quiet) return;
  if (!tty_ && now - last_line_ < 2'000'000'000ULL) return;
  last_line_ = now;
  const Report st = shards_.status();
  char line[256];
  std::snprintf(line, sizeof line,
                "[%s %s] %5.1fs %-8s conns %lld/%u ready %lld failed %lld | deliveries/s %.0f",
                std::string(scenario_name(o_.scenario)).c_str(), o_.label.c_str(),
                static_cast<double>(now - t_start_) / 1e9, phase_.c_str(),
                static_cast<long long>(st.get("established")), pop_.total(),
                static_cast<long long>(st.get("ready")), static_cast<long long>(st.get("failed")),
                deliv_rate_);
  std::string s = line;
  if (pub_) {
    s += " | published " + std::to_string(pub_->stats().events_acked);
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", s.c_str());
  } else {
    std::fprintf(stderr, "%s\n", s.c_str());
  }
  std::fflush(stderr);
}

Window Coordinator::measure(double seconds) {
  Window w;
  const ServerSample s0 = sample();
  const std::uint64_t self0 = self_cpu_ns();
  std::uint64_t sent0 = 0, acked0 = 0;
  if (pub_) {
    sent0 = pub_->stats().events_sent;
    acked0 = pub_->stats().events_acked;
    pub_->reset_latency();
  }
  const MachineCpu m0 = machine_cpu();
  shards_.broadcast("BEGIN");
  const std::uint64_t t0 = mono_ns();
  loop_.run_for(seconds);
  shards_.broadcast("END");
  const std::uint64_t t1 = mono_ns();
  const ServerSample s1 = sample();
  const std::uint64_t self1 = self_cpu_ns();
  const MachineCpu m1 = machine_cpu();
  w.machine_busy_s = static_cast<double>(m1.busy_ns - m0.busy_ns) / 1e9;
  w.steal_s = static_cast<double>(m1.steal_ns - m0.steal_ns) / 1e9;
  w.server_cpus_busy_s = pinned_cpus_busy_s(o_.server_pid, m0, m1);
  bool ok = false;
  w.rep = shards_.collect("WINDOW", 30, ok);
  w.wall_s = static_cast<double>(t1 - t0) / 1e9;
  if (s0.cpu_ns && s1.cpu_ns) w.server_cpu_s = static_cast<double>(*s1.cpu_ns - *s0.cpu_ns) / 1e9;
  if (s0.stat_cpu_ns && s1.stat_cpu_ns) {
    w.server_stat_cpu_s = static_cast<double>(*s1.stat_cpu_ns - *s0.stat_cpu_ns) / 1e9;
  }
  // In-process shard: our own CPU already includes it; children report theirs.
  w.client_cpu_s = static_cast<double>(self1 - self0) / 1e9 +
                   (o_.procs > 1 ? static_cast<double>(w.rep.get("cpu_ns")) / 1e9 : 0.0);
  if (pub_) {
    w.events_sent = pub_->stats().events_sent - sent0;
    w.events_acked = pub_->stats().events_acked - acked0;
    w.api = pub_->stats().api_latency;
  }
  return w;
}

bool Coordinator::setup() {
  const ServerSample s0 = sample();
  const MachineCpu m0 = machine_cpu();
  const std::uint64_t self0 = self_cpu_ns();
  const std::uint32_t total = pop_.total();
  auto reached = [&](const char* key) {
    return [this, key, total] {
      const Report st = shards_.status();
      return shards_.broken() || st.get(key) + st.get("failed") >= total;
    };
  };
  shards_.broadcast("BEGIN");
  phase_ = "connect";
  shards_.broadcast("CONNECT");
  bool ok = true;
  std::uint64_t t_sub0 = 0;
  if (o_.phased) {
    ok = loop_.run_until(reached("established"), o_.timeout);
    t_sub0 = mono_ns();
    phase_ = "subscribe";
    shards_.broadcast("SUBSCRIBE");
  }
  ok = ok && loop_.run_until(reached("ready"), o_.timeout);
  const std::uint64_t t_done = mono_ns();
  shards_.broadcast("END");
  bool got = false;
  Report win = shards_.collect("WINDOW", 30, got);
  const Report st = shards_.status();
  const std::uint64_t self1 = self_cpu_ns();
  // Settle, so the RSS is that of idle subscribed connections.
  phase_ = "settle";
  loop_.run_for(o_.scenario == Scenario::connect ? 1.0 : 0.5);
  const ServerSample s1 = sample();
  const MachineCpu m1 = machine_cpu();

  const double t_conn = static_cast<double>(st.get("t_connect_min"));
  auto secs = [&](const char* key) {
    const auto v = static_cast<double>(st.get(key));
    return v > 0 ? (v - t_conn) / 1e9 : (static_cast<double>(t_done) - t_conn) / 1e9;
  };
  const double est = static_cast<double>(st.get("established"));
  const double ready = static_cast<double>(st.get("ready"));
  res_.set("connections", total);
  res_.set("established", est);
  res_.set("ready", ready);
  res_.set("setup_failed", static_cast<double>(st.get("failed")));
  const double t_est = secs("t_all_established_max");
  const double t_ready = secs("t_all_ready_max");
  res_.set("connect_time_s", t_est);
  res_.set("connect_rate_per_s", t_est > 0 ? est / t_est : 0);
  if (o_.phased) {
    const double t_sub =
        (static_cast<double>(st.get("t_all_ready_max") ? st.get("t_all_ready_max")
                                                       : static_cast<std::int64_t>(t_done)) -
         static_cast<double>(t_sub0)) /
        1e9;
    res_.set("subscribe_time_s", t_sub);
    res_.set("subscribe_rate_per_s", t_sub > 0 ? (ready - pop_.cyclers) / t_sub : 0);
  } else {
    res_.set("ready_time_s", t_ready);
    res_.set("connect_subscribe_rate_per_s", t_ready > 0 ? ready / t_ready : 0);
  }
  const Histogram& hc = win.hist("connect");
  const Histogram& hs = win.hist("subscribe");
  res_.set("connect_p50_ms", static_cast<double>(hc.quantile(0.5)) / 1e6);
  res_.set("connect_p99_ms", static_cast<double>(hc.quantile(0.99)) / 1e6);
  if (hs.count()) {
    res_.set("subscribe_p50_ms", static_cast<double>(hs.quantile(0.5)) / 1e6);
    res_.set("subscribe_p99_ms", static_cast<double>(hs.quantile(0.99)) / 1e6);
  }
  if (s0.cpu_ns && s1.cpu_ns) {
    const double cpu = static_cast<double>(*s1.cpu_ns - *s0.cpu_ns) / 1e9;
    res_.set("server_cpu_setup_s", cpu);
    res_.set("server_cpu_us_per_conn", total ? cpu * 1e6 / total : 0);
    if (const auto busy = pinned_cpus_busy_s(o_.server_pid, m0, m1); busy && total) {
      res_.set("server_cpus_us_per_conn", *busy * 1e6 / total);
    }
  }
  if (s0.rss && s1.rss) {
    res_.set("server_rss_before_kb", static_cast<double>(*s0.rss) / 1024);
    res_.set("server_rss_ready_kb", static_cast<double>(*s1.rss) / 1024);
    res_.set("server_rss_per_conn_b",
             total ? (static_cast<double>(*s1.rss) - static_cast<double>(*s0.rss)) / total : 0);
  }
  const double setup_wall = (static_cast<double>(t_done) - t_conn) / 1e9;
  const double client_cpu = static_cast<double>(self1 - self0) / 1e9 +
                            (o_.procs > 1 ? static_cast<double>(win.get("cpu_ns")) / 1e9 : 0.0);
  if (setup_wall > 0) res_.set("client_cpu_share_setup", client_cpu / setup_wall);
  if (!ok || !got || st.get("ready") < total) {
    res_.ok = false;
    res_.notes.push_back("setup incomplete: " + std::to_string(st.get("ready")) + " of " +
                         std::to_string(total) + " connections ready, " +
                         std::to_string(st.get("failed")) + " failed");
  }
  return ok;
}

void Coordinator::add_window(const std::string& p, const Window& w) {
  const Report& r = w.rep;
  const Histogram& lat = const_cast<Report&>(r).hist("lat");
  const double deliveries = static_cast<double>(r.get("deliveries"));
  const double all =
      deliveries + static_cast<double>(r.get("slow_deliveries") + r.get("churn_deliveries") +
                                       r.get("member_events") + r.get("client_events_received"));
  res_.set(p + "window_s", w.wall_s);
  if (pub_) {
    res_.set(p + "publishes", static_cast<double>(w.events_sent));
    res_.set(p + "publishes_per_s", static_cast<double>(w.events_sent) / w.wall_s);
  }
  if (o_.scenario == Scenario::client_events) {
    res_.set(p + "client_events_sent", static_cast<double>(r.get("client_events_sent")));
    res_.set(p + "client_events_sent_per_s",
             static_cast<double>(r.get("client_events_sent")) / w.wall_s);
    res_.set(p + "deliveries", static_cast<double>(r.get("client_events_received")));
    res_.set(p + "deliveries_per_s",
             static_cast<double>(r.get("client_events_received")) / w.wall_s);
  } else if (o_.scenario == Scenario::presence) {
    res_.set(p + "cycles", static_cast<double>(r.get("cycles")));
    res_.set(p + "joins_per_s", static_cast<double>(r.get("cycles")) / w.wall_s);
    res_.set(p + "member_events", static_cast<double>(r.get("member_events")));
    res_.set(p + "member_events_per_s", static_cast<double>(r.get("member_events")) / w.wall_s);
  } else {
    res_.set(p + "deliveries", deliveries);
    res_.set(p + "deliveries_per_s", deliveries / w.wall_s);
  }
  if (churn_like(o_.scenario)) {
    res_.set(p + "cycles", static_cast<double>(r.get("cycles")));
    res_.set(p + "cycles_per_s", static_cast<double>(r.get("cycles")) / w.wall_s);
    res_.set(p + "churn_deliveries", static_cast<double>(r.get("churn_deliveries")));
  }
  if (o_.scenario == Scenario::slow) {
    res_.set(p + "slow_deliveries", static_cast<double>(r.get("slow_deliveries")));
  }
  const Histogram& cyc = const_cast<Report&>(r).hist("cycle");
  if (cyc.count()) {
    res_.set(p + "cycle_p50_ms", static_cast<double>(cyc.quantile(0.5)) / 1e6);
    res_.set(p + "cycle_p99_ms", static_cast<double>(cyc.quantile(0.99)) / 1e6);
  }
  if (lat.count()) {
    res_.set(p + "lat_p50_us", static_cast<double>(lat.quantile(0.5)) / 1e3);
    res_.set(p + "lat_p90_us", static_cast<double>(lat.quantile(0.9)) / 1e3);
    res_.set(p + "lat_p99_us", static_cast<double>(lat.quantile(0.99)) / 1e3);
    res_.set(p + "lat_p999_us", static_cast<double>(lat.quantile(0.999)) / 1e3);
    res_.set(p + "lat_max_us", static_cast<double>(lat.max()) / 1e3);
  }
  if (w.api.count()) {
    res_.set(p + "api_p50_ms", static_cast<double>(w.api.quantile(0.5)) / 1e6);
    res_.set(p + "api_p99_ms", static_cast<double>(w.api.quantile(0.99)) / 1e6);
  }
  if (w.server_cpu_s) {
    res_.set(p + "server_cpu_s", *w.server_cpu_s);
    // The same from /proc/PID/stat utime+stime (clock ticks, for cross-checking).
    if (w.server_stat_cpu_s) res_.set(p + "server_cpu_stat_s", *w.server_stat_cpu_s);
    res_.set(p + "server_cpu_share", *w.server_cpu_s / w.wall_s);
    if (all > 0) res_.set(p + "server_cpu_us_per_delivery", *w.server_cpu_s * 1e6 / all);
  }
  res_.set(p + "client_cpu_share", w.client_cpu_s / w.wall_s);
  // Whatever else ran on the machine during the window (other processes, hypervisor steal).
  const double others =
      std::max(0.0, w.machine_busy_s - w.steal_s - w.server_cpu_s.value_or(0) - w.client_cpu_s);
  res_.set(p + "other_cpu_share", others / w.wall_s);
  res_.set(p + "steal_share", w.steal_s / w.wall_s);
  if (w.server_cpus_busy_s && w.server_cpu_s) {
    // What the server's CPUs did beyond the process (tick-sampled, so +-1% or so).
    const double extra = std::max(0.0, *w.server_cpus_busy_s - *w.server_cpu_s);
    res_.set(p + "server_cpus_other_share", extra / w.wall_s);
    if (all > 0) {
      res_.set(p + "server_cpus_us_per_delivery", *w.server_cpus_busy_s * 1e6 / all);
    }
  }
  if (others / w.wall_s > 0.15 && !noisy_noted_) {
    noisy_noted_ = true;
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "other processes used %.2f CPUs during the window (load average %.1f): "
                  "the machine was not quiet, numbers are noisy",
                  others / w.wall_s, loadavg_1m());
    res_.notes.emplace_back(buf);
  }
}

bool Coordinator::client_check(const Window& w) {
  const int cpus = std::max(1, affinity_count(0));
  const double util = w.client_cpu_s / w.wall_s / cpus;
  res_.set("client_cpu_util", util);
  // The server's utilisation of the CPUs it may use, when known.
  std::optional<double> server_util;
  if (w.server_cpu_s && o_.server_pid) {
    server_util = *w.server_cpu_s / w.wall_s / std::max(1, affinity_count(o_.server_pid));
    res_.set("server_cpu_util", *server_util);
  }
  return judge_client(util, server_util, cpus, res_);
}

void Coordinator::drain(bool exact) {
  phase_ = "drain";
  if (pub_) {
    pub_->stop();
    loop_.run_until([&] { return pub_->idle(); }, o_.timeout);
  }
  std::uint64_t expected = 0;
  if (exact && pub_) {
    for (std::uint32_t ch = 0; ch < pub_->acked().size(); ++ch) {
      expected += static_cast<std::uint64_t>(pub_->acked()[ch]) * pop_.stable_on(ch);
    }
  }
  // Deliveries have stopped once nothing arrived for a quiet period. With a known total the
  // wait ends as soon as it is reached, so a long quiet period only costs time when something
  // is missing; --check uses one long enough for starved child processes (--procs, a loaded
  // machine, sanitizer builds) to report what is still in their sockets.
  const std::uint64_t quiet_ns = (expected > 0 || o_.check) ? 2'000'000'000ULL : 400'000'000ULL;
  std::uint64_t last = shards_.delivered(), last_change = mono_ns();
  loop_.run_until(
      [&] {
        const std::uint64_t d = shards_.delivered();
        const std::uint64_t now = mono_ns();
        if (d != last) {
          last = d;
          last_change = now;
        }
        return (expected > 0 && d >= expected) || now - last_change > quiet_ns;
      },
      o_.timeout);
}

Report Coordinator::finish(const std::vector<std::int64_t>& expected) {
  std::string cmd = "FINISH ";
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (i) cmd.push_back(',');
    cmd += std::to_string(expected[i]);
  }
  shards_.broadcast(cmd);
  bool ok = false;
  Report r = shards_.collect("FINAL", o_.timeout, ok);
  if (!ok) {
    res_.ok = false;
    res_.notes.emplace_back("shards did not report their final counts");
  }
  return r;
}

std::vector<std::int64_t> Coordinator::per_channel(const Report& r,
                                                   const std::string& prefix) const {
  std::vector<std::int64_t> v(o_.channels, 0);
  for (std::uint32_t ch = 0; ch < o_.channels; ++ch) v[ch] = r.get(prefix + std::to_string(ch));
  return v;
}

void Coordinator::write_outputs() {
  if (!o_.quiet && tty_) std::fputc('\n', stderr);
  print_table(res_, stdout);
  if (!o_.json_path.empty()) {
    std::ofstream out(o_.json_path, std::ios::app);
    out << to_json_line(res_) << "\n";
    if (!out) std::fprintf(stderr, "pushcore-bench: cannot write %s\n", o_.json_path.c_str());
  }
}

void Coordinator::record_rss_samples(const std::vector<double>& rss_kb) {
  if (rss_kb.empty()) {
    res_.notes.emplace_back("no server RSS samples (--server-pid?)");
    if (o_.max_rss_growth_kb > 0) res_.ok = false;
    return;
  }
  const double first = rss_kb.front();
  const double last = rss_kb.back();
  const double peak = *std::max_element(rss_kb.begin(), rss_kb.end());
  res_.set("rss_samples", static_cast<double>(rss_kb.size()));
  res_.set("rss_first_kb", first);
  res_.set("rss_last_kb", last);
  res_.set("rss_max_kb", peak);
  res_.set("rss_growth_kb", last - first);
  std::string series("server RSS KiB every ");
  series.append(format_value(o_.sample_every)).append(" s:");
  for (const double v : rss_kb)
    series.append(" ").append(std::to_string(static_cast<long long>(v)));
  res_.notes.push_back(std::move(series));
  if (o_.max_rss_growth_kb > 0 && last - first > o_.max_rss_growth_kb) {
    res_.ok = false;
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "server RSS grew %.0f KiB over the window, over the %.0f KiB bound", last - first,
                  o_.max_rss_growth_kb);
    res_.notes.emplace_back(buf);
  }
}

int Coordinator::run() {
  const bool publishing =
      o_.scenario == Scenario::fanout || churn_like(o_.scenario) || o_.scenario == Scenario::slow;
  const double per_channel_subs = static_cast<double>(pop_.stable) /
                                  static_cast<double>(std::max<std::uint32_t>(1, o_.channels));
  const double events_per_s = o_.pub_rate > 0 ? o_.pub_rate : o_.rate / per_channel_subs;
  describe_run(o_, publishing, events_per_s, per_channel_subs, res_);
  const int prog = loop_.every(500'000'000, [this] { progress(); });
  if (publishing) {
    PublishConfig cfg;
    cfg.host = o_.host;
    cfg.port = o_.port;
    cfg.app_id = o_.app_id;
    cfg.app_key = o_.app_key;
    cfg.app_secret = o_.app_secret;
    cfg.event = o_.event_name;
    for (std::uint32_t ch = 0; ch < o_.channels; ++ch) {
      cfg.channels.push_back(channel_name(o_.channel_type, o_.tag, ch));
    }
    cfg.payload = o_.payload;
    cfg.batch = o_.batch;
    cfg.max = o_.max;
    cfg.inflight = o_.inflight;
    cfg.max_conns = o_.pub_conns;
    cfg.events_per_s = events_per_s;
    if (o_.max) {
      // Delivery window: publish only while fewer than W deliveries are outstanding, unless
      // nothing arrived for 200 ms (a shed subscriber never drains its share).
      const double window = o_.window ? static_cast<double>(o_.window)
                                      : std::max(16.0, 4.0 * o_.inflight) * per_channel_subs;
      cfg.may_publish = [this, window, per_channel_subs, last = std::uint64_t{0},
                         since = mono_ns()]() mutable {
        const std::uint64_t d = shards_.delivered();
        const std::uint64_t now = mono_ns();
        if (d != last) {
          last = d;
          since = now;
        }
        const double outstanding =
            static_cast<double>(pub_->stats().events_sent) * per_channel_subs -
            static_cast<double>(d);
        return outstanding < window || now - since > 200'000'000ULL;
      };
    }
    pub_ = std::make_unique<Publisher>(loop_, std::move(cfg));
    pub_->prepare();
    loop_.run_for(0.2);
  }

  setup();
  Report fin;
  bool have_fin = false;
  std::optional<Window> main;
  if (o_.scenario == Scenario::connect || shards_.broken()) {
    // connect: the setup is the measurement.
  } else if (o_.scenario == Scenario::fanout) {
    phase_ = "warmup";
    pub_->start();
    loop_.run_for(o_.warmup);
    phase_ = "measure";
    main = measure(o_.duration);
    add_window("", *main);
    drain(true);
    fin = finish(pub_->acked());
    have_fin = true;
  } else if (churn_like(o_.scenario)) {
    phase_ = "warmup";
    pub_->start();
    shards_.broadcast("START");
    loop_.run_for(o_.warmup);
    phase_ = "measure";
    // soak: the server's RSS every --sample-every seconds of the window.
    std::vector<double> rss_kb;
    const auto take = [this, &rss_kb] {
      if (const ServerSample s = sample(); s.rss) {
        rss_kb.push_back(static_cast<double>(*s.rss) / 1024);
      }
    };
    int sampler = 0;
    if (o_.scenario == Scenario::soak) {
      take();
      sampler = loop_.every(static_cast<std::uint64_t>(o_.sample_every * 1e9), take);
    }
    main = measure(o_.duration);
    if (sampler != 0) {
      loop_.cancel(sampler);
      take();
      record_rss_samples(rss_kb);
    }
    add_window("", *main);
    shards_.broadcast("STOP");
    bool ok = false;
    (void)shards_.collect("STOPPED", o_.timeout, ok);
    drain(false);
    fin = finish(pub_->acked());
    have_fin = true;
  } else if (o_.scenario == Scenario::presence || o_.scenario == Scenario::client_events) {
    loop_.run_for(0.3);  // member_added of the last watchers reach the others
    phase_ = "warmup";
    shards_.broadcast("START");
    loop_.run_for(o_.warmup);
    phase_ = "measure";
    main = measure(o_.duration);
    add_window("", *main);
    shards_.broadcast("STOP");
    bool ok = false;
    const Report stopped = shards_.collect("STOPPED", o_.timeout, ok);
    drain(false);
    fin = finish(per_channel(stopped, o_.scenario == Scenario::presence ? "jl." : "ce."));
    have_fin = true;
  } else if (o_.scenario == Scenario::slow) {
    phase_ = "warmup";
    pub_->start();
    loop_.run_for(o_.warmup);
    phase_ = "baseline";
    const Window base = measure(o_.duration);
    add_window("base_", base);
    const ServerSample r0 = sample();
    shards_.broadcast("SLOW");
    phase_ = "slow";
    loop_.run_for(1.0);
    main = measure(o_.duration);
    add_window("slow_", *main);
    const ServerSample r1 = sample();
    drain(false);
    fin = finish(pub_->acked());
    have_fin = true;
    if (r0.rss && r1.rss) {
      res_.set("server_rss_growth_kb",
               (static_cast<double>(*r1.rss) - static_cast<double>(*r0.rss)) / 1024);
    }
    const double b99 = res_.get("base_lat_p99_us").value_or(0);
    const double s99 = res_.get("slow_lat_p99_us").value_or(0);
    const bool kept = b99 > 0 && (s99 <= 2 * b99 || s99 - b99 <= 1000);
    res_.set("fast_p99_ratio", b99 > 0 ? s99 / b99 : 0);
    res_.set("fast_latency_kept", kept ? 1 : 0);
    res_.set("slow_total", static_cast<double>(fin.get("slow_total")));
    res_.set("slow_shed", static_cast<double>(fin.get("slow_shed")));
    res_.set("slow_open", static_cast<double>(fin.get("slow_open")));
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "fast subscribers %s their latency: p99 %.0f us -> %.0f us (x%.2f)",
                  kept ? "kept" : "did NOT keep", b99, s99, b99 > 0 ? s99 / b99 : 0.0);
    res_.notes.emplace_back(buf);
    std::snprintf(buf, sizeof buf, "server shed %lld of %lld slow subscribers (%lld still open)",
                  static_cast<long long>(fin.get("slow_shed")),
                  static_cast<long long>(fin.get("slow_total")),
                  static_cast<long long>(fin.get("slow_open")));
    res_.notes.emplace_back(buf);
    if (o_.expect_shed) {
      // The shed ones must have been told why: pusher:error 4100 before the close.
      const std::int64_t told = fin.get("slow_error_code_4100");
      if (fin.get("slow_total") == 0 || fin.get("slow_shed") != fin.get("slow_total") ||
          told != fin.get("slow_total")) {
        res_.ok = false;
        std::snprintf(buf, sizeof buf,
                      "EXPECTED every slow subscriber closed with 4100: %lld shed, %lld told 4100",
                      static_cast<long long>(fin.get("slow_shed")), static_cast<long long>(told));
        res_.notes.emplace_back(buf);
      }
    }
    if (o_.max_rss_growth_kb > 0) {
      const auto growth = res_.get("server_rss_growth_kb");
      if (!growth || *growth > o_.max_rss_growth_kb) {
        res_.ok = false;
        std::snprintf(buf, sizeof buf, "server RSS grew %.0f KiB, over the %.0f KiB bound",
                      growth.value_or(-1), o_.max_rss_growth_kb);
        res_.notes.emplace_back(buf);
      }
    }
  }
  loop_.cancel(prog);
  phase_ = "close";
  if (pub_) pub_->stop();

  if (main) client_check(*main);
  if (o_.scenario == Scenario::connect) {
    const double share = res_.get("client_cpu_share_setup").value_or(0);
    const int cpus = std::max(1, affinity_count(0));
    char buf[200];
    std::snprintf(buf, sizeof buf, "client CPU %.0f%% of its %d CPU(s) during setup%s",
                  share / cpus * 100, cpus,
                  share / cpus >= 0.9 ? ": CLIENT-BOUND" : ": not the bottleneck");
    res_.notes.emplace_back(buf);
    res_.set("client_bound", share / cpus >= 0.9 ? 1 : 0);
    const Report st = shards_.status();
    res_.set("errors", static_cast<double>(st.get("errors")));
    if (st.get("errors") > 0) res_.ok = false;
  }
  if (have_fin) {
    judge_final(fin, pub_ ? &pub_->stats() : nullptr, res_);
    if (o_.scenario == Scenario::fanout && !o_.max && main) {
      const double target = events_per_s * per_channel_subs;
      if (res_.get("deliveries_per_s").value_or(0) < 0.95 * target) {
        res_.notes.emplace_back(
            "delivery rate below 95% of the target: the server (or client) "
            "did not keep up");
      }
    }
  }
  if (shards_.broken()) {
    res_.ok = false;
    res_.notes.emplace_back("a bench child process died");
  }
  shards_.broadcast("CLOSE");
  bool closed = false;
  (void)shards_.collect("CLOSED", 30, closed);
  write_outputs();
  return (o_.check && !res_.ok) ? 1 : 0;
}

}  // namespace

int run_bench(Options& o) {
  signal(SIGPIPE, SIG_IGN);
  o.tag = static_cast<std::uint32_t>(getpid() % 100000);
  Coordinator c(o);
  return c.run();
}

}  // namespace bench
