// server/rate_limit: the shared per-second window (API rate limits) and the per-IP table
// (connect rate, concurrent cap, bounded memory). Time is a parameter: no clocks, no sleeps.

#include "server/rate_limit.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using server::IpLimiter;
using server::WindowLimiter;

TEST_CASE("rate_limit: a FixedWindow admits `limit` units per window and starts afresh after it") {
  using namespace std::chrono_literals;
  server::FixedWindow w;
  const auto t0 = server::FixedWindow::Clock::time_point{} + 100s;
  CHECK(w.take(t0, 1s, 2));
  CHECK(w.take(t0 + 10ms, 1s, 2));
  CHECK_FALSE(w.take(t0 + 20ms, 1s, 2));  // the third of the window
  w.noted = true;
  CHECK_FALSE(w.take(t0 + 999ms, 1s, 2));
  CHECK(w.noted);                     // same window: the owner's flag is kept
  CHECK(w.take(t0 + 1000ms, 1s, 2));  // the window is over: a new one starts here
  CHECK_FALSE(w.noted);
  CHECK(w.count == 1);
  // A longer window (client_event_decay_seconds) and a limit of 0: nothing is admitted.
  server::FixedWindow z;
  CHECK_FALSE(z.take(t0, 5s, 0));
  CHECK_FALSE(z.take(t0 + 4s, 5s, 0));
}

TEST_CASE("rate_limit: a window takes units until the limit, all or nothing") {
  WindowLimiter w;
  auto d = w.try_take(2, 5, 1000);
  CHECK(d.allowed);
  CHECK(d.limit == 5);
  CHECK(d.remaining == 3);
  CHECK(w.try_take(3, 5, 1500).allowed);
  d = w.try_take(1, 5, 1999);
  CHECK_FALSE(d.allowed);
  CHECK(d.remaining == 0);
  CHECK(d.reset_s == 1);
  // A batch bigger than what is left takes nothing.
  WindowLimiter v;
  CHECK(v.try_take(4, 5, 0).allowed);
  CHECK_FALSE(v.try_take(2, 5, 10).allowed);
  CHECK(v.try_take(1, 5, 20).allowed);
  // Larger than the limit: never fits.
  CHECK_FALSE(v.try_take(6, 5, 5000).allowed);
  // The next second starts a fresh window.
  CHECK(w.try_take(5, 5, 2000).allowed);
  // 0 = unlimited.
  CHECK(w.try_take(1000000, 0, 2000).allowed);
}

TEST_CASE("rate_limit: a window shared by threads never admits more than the limit") {
  WindowLimiter w;
  constexpr int threads = 4;
  constexpr int tries = 10000;
  std::atomic<int> admitted{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < tries; ++i) {
        if (w.try_take(1, 1000, 42000).allowed) admitted.fetch_add(1);
      }
    });
  }
  for (auto& t : pool) t.join();
  CHECK(admitted.load() == 1000);
}

TEST_CASE("rate_limit: per-IP connect rate is a fixed window per address") {
  IpLimiter ips({.max_connects = 2, .window_ms = 60000, .max_concurrent = 0, .max_entries = 1000});
  CHECK(ips.enabled());
  CHECK(ips.on_connect("10.0.0.1", 0).verdict == IpLimiter::Verdict::allowed);
  auto r = ips.on_connect("10.0.0.1", 1000);
  CHECK(r.verdict == IpLimiter::Verdict::allowed);
  CHECK(r.rate.remaining == 0);
  CHECK_FALSE(r.tracked);  // no concurrent cap: nothing to release
  r = ips.on_connect("10.0.0.1", 2000);
  CHECK(r.verdict == IpLimiter::Verdict::rate_limited);
  CHECK(r.rate.limit == 2);
  CHECK(r.rate.reset_s == 58);
  // Another address has its own window.
  CHECK(ips.on_connect("10.0.0.2", 2000).verdict == IpLimiter::Verdict::allowed);
  // After the window the address may connect again.
  CHECK(ips.on_connect("10.0.0.1", 60000).verdict == IpLimiter::Verdict::allowed);
}

TEST_CASE("rate_limit: per-IP concurrent cap takes and releases slots") {
  IpLimiter ips({.max_connects = 0, .window_ms = 60000, .max_concurrent = 2, .max_entries = 1000});
  auto a = ips.on_connect("::1", 0);
  auto b = ips.on_connect("::1", 0);
  CHECK(a.tracked);
  CHECK(b.tracked);
  CHECK(ips.on_connect("::1", 0).verdict == IpLimiter::Verdict::over_cap);
  ips.release("::1", 10);
  CHECK(ips.on_connect("::1", 20).verdict == IpLimiter::Verdict::allowed);
  ips.release("::1", 30);
  ips.release("::1", 30);
  // An address with no open connection and an expired window is forgotten.
  CHECK(ips.size() == 1);
  ips.release("::1", 70000);  // extra releases are harmless
  CHECK(ips.size() == 0);
}

TEST_CASE("rate_limit: the per-IP table is bounded and evicts idle entries") {
  // 64 shards x 1 entry: a full shard first sweeps idle entries, then admits untracked.
  IpLimiter ips({.max_connects = 0, .window_ms = 1000, .max_concurrent = 5, .max_entries = 64});
  int untracked = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto r = ips.on_connect("10.1." + std::to_string(i), 0);
    CHECK(r.verdict == IpLimiter::Verdict::allowed);
    if (r.table_full) ++untracked;
  }
  CHECK(ips.size() <= 64);
  CHECK(untracked > 0);
  // Once their connections end and the window passes, the entries go.
  for (int i = 0; i < 1000; ++i) ips.release("10.1." + std::to_string(i), 5000);
  CHECK(ips.size() == 0);
  // Disabled limiter: nothing is tracked at all.
  IpLimiter off({});
  CHECK_FALSE(off.enabled());
  CHECK(off.on_connect("x", 0).verdict == IpLimiter::Verdict::allowed);
  CHECK(off.size() == 0);
}
