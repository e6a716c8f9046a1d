#include "bench/options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <iterator>
#include <limits>

namespace bench {

std::string_view scenario_name(Scenario s) noexcept {
  switch (s) {
    case Scenario::fanout:
      return "fanout";
    case Scenario::connect:
      return "connect";
    case Scenario::churn:
      return "churn";
    case Scenario::presence:
      return "presence";
    case Scenario::client_events:
      return "client-events";
    case Scenario::slow:
      return "slow";
    case Scenario::soak:
      return "soak";
  }
  return "?";
}

std::string_view channel_type_name(ChannelType t) noexcept {
  switch (t) {
    case ChannelType::public_:
      return "public";
    case ChannelType::private_:
      return "private";
    case ChannelType::presence:
      return "presence";
  }
  return "?";
}

std::string channel_name(ChannelType t, std::uint32_t tag, std::uint32_t c) {
  std::string base(1, 'b');
  base += std::to_string(tag);
  base.push_back('-');
  base += std::to_string(c);
  switch (t) {
    case ChannelType::private_:
      return "private-" + base;
    case ChannelType::presence:
      return "presence-" + base;
    case ChannelType::public_:
      break;
  }
  return base;
}

std::string help_text() {
  return R"(pushcore-bench: load harness for Pusher-protocol-7 servers (pushcore, Soketi, Sockudo).

usage: pushcore-bench SCENARIO [options]
       pushcore-bench summarize [--baseline LABEL] [--metrics a,b] FILE...
                      (medians, min-max and ratios of the JSON lines of several runs)

Scenarios:
  fanout         N subscribers on C channels; a publisher on the signed HTTP API at a fixed
                 delivery rate (--rate) or as fast as possible (--max). Latency publish->delivery,
                 deliveries/s, losses (per-connection sequence gaps), duplicates.
  connect        N connections, each subscribing once established: connect and subscribe rates,
                 time to N established / subscribed, server CPU and RSS per connection.
  churn          N stable subscribers plus --churners M connections cycling subscribe/unsubscribe
                 on the same channels while publishing at a fixed rate.
  presence       N members joining and leaving presence channels (storm), --watchers W per channel
                 counting member_added / member_removed events.
  client-events  N talkers on C private channels, sending --event-rate client events per second
                 in total; each is relayed to the other talkers of its channel.
  slow           like fanout at a fixed rate; after a baseline window a --slow-share of the
                 subscribers stops reading. Reports fast subscribers' latency before/after and
                 whether the server shed the slow ones.
  soak           churn (stable subscribers + --churners cycling subscribe/unsubscribe, on
                 presence channels with --channel-type presence) with publishes, for a long
                 --duration, sampling the server's RSS every --sample-every seconds: RSS
                 first/last/max and growth, zero losses and errors.

Target:
  --host H               server address (127.0.0.1)
  --port P               server port (6001)
  --port2 P              cluster runs: every other subscriber connects to this port (a second
                         node); the publisher stays on --port
  --app-id ID --app-key KEY --app-secret SECRET     (app-id / app-key / app-secret)
  --apps N               spread the subscribers over N apps: connection g uses key KEY-(g%N)
                         and secret SECRET-(g%N) (the publisher stays on the one app)
  --tls                  TLS (wss:// and https://) to a server with ssl.enabled; the handshakes
                         are setup cost, the certificate is not verified
  --server-pid PID       sample the server's CPU (/proc/PID/stat, schedstat) and RSS
  --label NAME           name of this server/config in the JSON output (bench)

Load:
  -n, --subscribers N    subscribers / connections / members / talkers (1000)
  -c, --channels C       channels (1)
  --channel-type T       public | private | presence (public; client-events: private).
                         private/presence subscriptions are signed with the app secret
  --payload S            bytes of each event's data string (100)
  --rate R               fixed rate: target deliveries/s (50000); publishes/s = R / (N / C)
  --pub-rate R           fixed rate: publishes/s (overrides --rate)
  --max                  publish as fast as possible, K publishes in flight
  --inflight K           --max: publishes in flight, one HTTP connection each (32)
  --pub-conns M          fixed rate: most publisher connections (64)
  --batch B              events per API call; B > 1 uses /batch_events (1)
  --window D             --max: most deliveries published but not yet received
                         (4 x K x N/C, at least 16 publishes' worth)
  -d, --duration S       measured window, seconds (5)
  --warmup S             publishing before the window, seconds (1)
  --timeout S            deadline for setup and drain, seconds (120)

Connections:
  --procs P              spread subscribers over P child processes (fd limit per process);
                         the parent publishes and merges their results (1)
  --src-addrs K          spread subscribers over source addresses 127.0.0.2 .. 127.0.0.(K+1)
                         with explicit ports 20000-31999 (default: 1 per 12000 connections)
  --concurrency K        connection handshakes in flight (256)
  --phased               connect: connect all N first, then subscribe all

Scenario knobs:
  --churners M           churn: connections cycling subscribe/unsubscribe (100)
  --cycle-rate R         churn/presence: cycles per second in total, 0 = as fast as possible (0)
  --watchers W           presence: stable subscribers per channel counting member events (2)
  --event-rate R         client-events: client events per second, all talkers together (1000)
  --slow-share F         slow: share of subscribers that stop reading (0.1)
  --slow-rcvbuf B        slow: SO_RCVBUF of the slow subscribers, bytes (4096)
  --expect-shed          slow + --check: also fail unless the server closed every slow
                         subscriber with 4100 "Over capacity"
  --max-rss-growth-kb K  slow/soak + --check: also fail if the server's RSS grew more than K KiB
                         (slow: baseline to the end of the slow window; soak: first to last
                         sample of the measured window)
  --sample-every S       soak: seconds between server RSS samples (10)

Output:
  --json FILE            append one JSON line per run
  --quiet                no live progress line
  --check                exit 1 unless deliveries arrived with no losses, duplicates or errors
  --event NAME           event name to publish (bench)
  --protocol P           7 (Pusher, default) or 2 (Sockudo protocol V2: sockudo: prefixes)
  -h, --help             this text

Server CPU and RSS are read from /proc/PID of --server-pid before and after each phase: CPU
per delivery (window), CPU and RSS per connection (setup). The client's own CPU share is
reported too: above 90% of its CPUs, the client, not the server, may be the bottleneck.
Pin the server and the bench to different cores, e.g. taskset -c 0 SERVER / taskset -c 1 BENCH.
)";
}

namespace {

template <typename T>
bool parse_uint(std::string_view s, T& out, T lo, T hi) {
  unsigned long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return false;
  if (v < static_cast<unsigned long long>(lo) || v > static_cast<unsigned long long>(hi)) {
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

bool parse_double(std::string_view s, double& out, double lo, double hi) {
  // std::from_chars for double is available in GCC 12.
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && std::isfinite(out) && out >= lo &&
         out <= hi;
}

bool parse_scenario(std::string_view s, Scenario& out) {
  for (Scenario c : {Scenario::fanout, Scenario::connect, Scenario::churn, Scenario::presence,
                     Scenario::client_events, Scenario::slow, Scenario::soak}) {
    if (scenario_name(c) == s) {
      out = c;
      return true;
    }
  }
  return false;
}

}  // namespace

ParseStatus parse_options(int argc, const char* const* argv, Options& o, std::string& error) {
  o.argv.assign(argv, argv + argc);
  if (argc < 2) {
    error = "missing scenario (see --help)";
    return ParseStatus::error;
  }
  int i = 1;
  const std::string_view first = argv[1];
  if (first == "-h" || first == "--help") return ParseStatus::help;
  if (!parse_scenario(first, o.scenario)) {
    error = "unknown scenario '" + std::string(first) + "' (see --help)";
    return ParseStatus::error;
  }
  ++i;
  constexpr auto u32max = std::numeric_limits<std::uint32_t>::max();
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    std::string_view v;
    auto need = [&]() -> bool {
      if (i + 1 >= argc) {
        error = std::string(a) + " needs a value";
        return false;
      }
      v = argv[++i];
      return true;
    };
    auto bad = [&](std::string_view what) {
      error = "invalid value '" + std::string(v) + "' for " + std::string(a) + ": expected " +
              std::string(what);
      return ParseStatus::error;
    };
    // Flags without a value.
    if (a == "-h" || a == "--help") return ParseStatus::help;
    if (a == "--max") {
      o.max = true;
      continue;
    }
    if (a == "--phased") {
      o.phased = true;
      continue;
    }
    if (a == "--quiet" || a == "-q") {
      o.quiet = true;
      continue;
    }
    if (a == "--check") {
      o.check = true;
      continue;
    }
    if (a == "--expect-shed") {
      o.expect_shed = true;
      continue;
    }
    if (a == "--tls") {
      o.tls = true;
      continue;
    }
    if (a.empty() || a[0] != '-') {
      error = "unexpected argument '" + std::string(a) + "'";
      return ParseStatus::error;
    }
    static constexpr std::string_view valued[] = {
        "--host",         "--port",         "--app-id",     "--app-key",     "--app-secret",
        "--server-pid",   "--label",        "-n",           "--subscribers", "-c",
        "--channels",     "--channel-type", "--payload",    "--rate",        "--pub-rate",
        "--inflight",     "--pub-conns",    "--batch",      "--window",      "-d",
        "--duration",     "--warmup",       "--timeout",    "--procs",       "--src-addrs",
        "--concurrency",  "--churners",     "--cycle-rate", "--watchers",    "--event-rate",
        "--slow-share",   "--slow-rcvbuf",  "--json",       "--event",       "--max-rss-growth-kb",
        "--sample-every", "--port2",        "--protocol",   "--apps"};
    if (std::find(std::begin(valued), std::end(valued), a) == std::end(valued)) {
      error = "unknown option '" + std::string(a) + "' (see --help)";
      return ParseStatus::error;
    }
    if (!need()) return ParseStatus::error;
    if (a == "--host") {
      if (v.empty()) return bad("an address");
      o.host = v;
    } else if (a == "--port") {
      if (!parse_uint<std::uint16_t>(v, o.port, 1, 65535)) return bad("1..65535");
    } else if (a == "--port2") {
      if (!parse_uint<std::uint16_t>(v, o.port2, 1, 65535)) return bad("1..65535");
    } else if (a == "--app-id") {
      o.app_id = v;
    } else if (a == "--app-key") {
      o.app_key = v;
    } else if (a == "--app-secret") {
      o.app_secret = v;
    } else if (a == "--server-pid") {
      if (!parse_uint<int>(v, o.server_pid, 1, std::numeric_limits<int>::max())) {
        return bad("a process id");
      }
    } else if (a == "--label") {
      if (v.empty() || v.find_first_of(" \"\\") != std::string_view::npos) {
        return bad("a name without spaces or quotes");
      }
      o.label = v;
    } else if (a == "-n" || a == "--subscribers") {
      if (!parse_uint<std::uint32_t>(v, o.subscribers, 1, 10'000'000)) return bad("1..10000000");
    } else if (a == "-c" || a == "--channels") {
      if (!parse_uint<std::uint32_t>(v, o.channels, 1, 1'000'000)) return bad("1..1000000");
    } else if (a == "--channel-type") {
      o.channel_type_set = true;
      if (v == "public") {
        o.channel_type = ChannelType::public_;
      } else if (v == "private") {
        o.channel_type = ChannelType::private_;
      } else if (v == "presence") {
        o.channel_type = ChannelType::presence;
      } else {
        return bad("public, private or presence");
      }
    } else if (a == "--payload") {
      if (!parse_uint<std::uint32_t>(v, o.payload, 1, 1 << 20)) return bad("1..1048576");
    } else if (a == "--rate") {
      if (!parse_double(v, o.rate, 0.001, 1e9)) return bad("a positive number");
    } else if (a == "--pub-rate") {
      if (!parse_double(v, o.pub_rate, 0.001, 1e9)) return bad("a positive number");
    } else if (a == "--inflight") {
      if (!parse_uint<std::uint32_t>(v, o.inflight, 1, 4096)) return bad("1..4096");
    } else if (a == "--pub-conns") {
      if (!parse_uint<std::uint32_t>(v, o.pub_conns, 1, 4096)) return bad("1..4096");
    } else if (a == "--batch") {
      if (!parse_uint<std::uint32_t>(v, o.batch, 1, 1000)) return bad("1..1000");
    } else if (a == "--window") {
      if (!parse_uint<std::uint64_t>(v, o.window, 1, 1ULL << 40)) return bad("a positive count");
    } else if (a == "-d" || a == "--duration") {
      if (!parse_double(v, o.duration, 0.05, 86400)) return bad("0.05..86400 seconds");
    } else if (a == "--warmup") {
      if (!parse_double(v, o.warmup, 0, 3600)) return bad("0..3600 seconds");
    } else if (a == "--timeout") {
      if (!parse_double(v, o.timeout, 1, 86400)) return bad("1..86400 seconds");
    } else if (a == "--procs") {
      if (!parse_uint<std::uint32_t>(v, o.procs, 1, 64)) return bad("1..64");
    } else if (a == "--src-addrs") {
      if (!parse_uint<std::uint32_t>(v, o.src_addrs, 1, 250)) return bad("1..250");
    } else if (a == "--concurrency") {
      if (!parse_uint<std::uint32_t>(v, o.concurrency, 1, 1'000'000)) return bad("1..1000000");
    } else if (a == "--churners") {
      if (!parse_uint<std::uint32_t>(v, o.churners, 1, 1'000'000)) return bad("1..1000000");
    } else if (a == "--cycle-rate") {
      if (!parse_double(v, o.cycle_rate, 0, 1e9)) return bad("a number >= 0");
    } else if (a == "--watchers") {
      if (!parse_uint<std::uint32_t>(v, o.watchers, 1, 100000)) return bad("1..100000");
    } else if (a == "--event-rate") {
      if (!parse_double(v, o.event_rate, 0.001, 1e9)) return bad("a positive number");
    } else if (a == "--slow-share") {
      if (!parse_double(v, o.slow_share, 0.0, 0.99)) return bad("0..0.99");
    } else if (a == "--sample-every") {
      if (!parse_double(v, o.sample_every, 0.1, 3600)) return bad("0.1..3600 seconds");
    } else if (a == "--max-rss-growth-kb") {
      if (!parse_double(v, o.max_rss_growth_kb, 0.0, 1e9)) return bad("KiB");
    } else if (a == "--slow-rcvbuf") {
      if (!parse_uint<std::uint32_t>(v, o.slow_rcvbuf, 1, u32max)) return bad("bytes");
    } else if (a == "--json") {
      o.json_path = v;
    } else if (a == "--apps") {
      if (!parse_uint<std::uint32_t>(v, o.apps, 0, 10'000'000)) return bad("0..10000000");
    } else if (a == "--protocol") {
      if (v != "7" && v != "2") return bad("7 (Pusher) or 2 (Sockudo V2)");
      o.protocol = v == "2" ? 2 : 7;
    } else if (a == "--event") {
      if (v.empty() || v.find_first_of(" \"\\") != std::string_view::npos) {
        return bad("an event name");
      }
      o.event_name = v;
    } else {
      error = "unknown option '" + std::string(a) + "' (see --help)";
      return ParseStatus::error;
    }
  }
  // Cross-option rules.
  if (o.scenario == Scenario::client_events) {
    if (!o.channel_type_set) o.channel_type = ChannelType::private_;
    if (o.channel_type == ChannelType::public_) {
      error = "client-events needs --channel-type private or presence";
      return ParseStatus::error;
    }
  }
  if (o.scenario == Scenario::presence) o.channel_type = ChannelType::presence;
  if (o.max && (o.scenario == Scenario::slow || churn_like(o.scenario))) {
    error = std::string(scenario_name(o.scenario)) + " publishes at a fixed rate; drop --max";
    return ParseStatus::error;
  }
  if (o.channels > o.subscribers && o.scenario != Scenario::presence) {
    error = "--channels must not exceed --subscribers";
    return ParseStatus::error;
  }
  if (o.procs > 1 && o.procs > o.subscribers) {
    error = "--procs must not exceed --subscribers";
    return ParseStatus::error;
  }
  if (o.src_addrs == 0) o.src_addrs = 1;
  return ParseStatus::ok;
}

std::string shell_join(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) {
    if (!out.empty()) out.push_back(' ');
    const bool plain = !a.empty() && a.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out.push_back('\'');
    for (char c : a) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out.push_back(c);
      }
    }
    out.push_back('\'');
  }
  return out;
}

}  // namespace bench
