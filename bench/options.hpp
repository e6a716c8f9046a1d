#pragma once
// Command line of pushcore-bench: scenarios, options, validation, help text. Pure.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

enum class Scenario { fanout, connect, churn, presence, client_events, slow, soak };

/// churn and soak share their population (stable subscribers + churners) and publishing.
[[nodiscard]] constexpr bool churn_like(Scenario s) noexcept {
  return s == Scenario::churn || s == Scenario::soak;
}
enum class ChannelType { public_, private_, presence };

[[nodiscard]] std::string_view scenario_name(Scenario s) noexcept;
[[nodiscard]] std::string_view channel_type_name(ChannelType t) noexcept;

struct Options {
  Scenario scenario = Scenario::fanout;
  // target
  std::string host = "127.0.0.1";
  std::uint16_t port = 6001;
  /// --port2: every other subscriber connects to this port instead (a second cluster node);
  /// the publisher stays on --port. 0 = none.
  std::uint16_t port2 = 0;
  std::string app_id = "app-id";
  std::string app_key = "app-key";
  std::string app_secret = "app-secret";
  /// --apps N: subscriber connections spread over N apps, connection g on app g % N with key
  /// "<app_key>-<g % N>" and secret "<app_secret>-<g % N>" (database app-manager benches);
  /// 0 = the one app.
  std::uint32_t apps = 0;
  int server_pid = 0;
  std::string label = "bench";
  // load shape
  std::uint32_t subscribers = 1000;  ///< -n: subscribers / connections / members / talkers
  std::uint32_t channels = 1;
  ChannelType channel_type = ChannelType::public_;
  bool channel_type_set = false;
  std::uint32_t payload = 100;   ///< bytes of the event's data string
  double rate = 50000;           ///< target deliveries/s (fixed-rate publishing)
  double pub_rate = 0;           ///< publishes/s; overrides `rate` when > 0
  bool max = false;              ///< publish as fast as the server takes it
  std::uint32_t inflight = 32;   ///< --max: publishes in flight (= publisher connections)
  std::uint32_t pub_conns = 64;  ///< fixed rate: most publisher connections
  std::uint32_t batch = 1;       ///< events per API call (>1: /batch_events)
  std::uint64_t window = 0;      ///< --max: undelivered deliveries allowed (0 = 4 x K x N/C)
  double duration = 5;           ///< measured window, seconds
  double warmup = 1;             ///< publishing before the window, seconds
  double timeout = 120;          ///< setup / drain deadline, seconds
  // processes and connections
  std::uint32_t procs = 1;
  std::uint32_t src_addrs = 0;  ///< source addresses (0 = 1 per 12000 connections)
  std::uint32_t concurrency = 256;
  bool phased = false;
  // scenario knobs
  std::uint32_t churners = 100;
  double cycle_rate = 0;  ///< churn / presence cycles per second, 0 = as fast as possible
  std::uint32_t watchers = 2;
  double event_rate = 1000;  ///< client-events: events sent per second, all talkers
  double slow_share = 0.1;
  std::uint32_t slow_rcvbuf = 4096;
  bool expect_shed = false;  ///< slow + --check: every slow subscriber must get 4100
  double max_rss_growth_kb = 0;
  double sample_every = 10;  ///< soak: seconds between server RSS samples  ///< slow + --check:
                             ///< server RSS growth bound, 0 = none
  // output
  std::string json_path;
  bool quiet = false;
  bool check = false;
  bool tls = false;  ///< --tls: TLS to the server (bench/io.hpp)
  std::string event_name = "bench";
  /// --protocol: 7 (Pusher) or 2 (Sockudo V2; the server's frames use sockudo: prefixes).
  int protocol = 7;
  std::vector<std::string> argv;  ///< the exact command, for the report
  std::uint32_t tag = 0;          ///< run tag in channel names and user ids (set at start)
};

enum class ParseStatus { ok, help, error };

/// Parses `argv` (argv[0] is the program). On error, `error` says why.
[[nodiscard]] ParseStatus parse_options(int argc, const char* const* argv, Options& out,
                                        std::string& error);

/// The --help text.
[[nodiscard]] std::string help_text();

/// The command line as one shell-safe string (arguments quoted when needed).
[[nodiscard]] std::string shell_join(const std::vector<std::string>& args);

/// Channel name for index `c` of run `tag`: "b<tag>-<c>", "private-b<tag>-<c>",
/// "presence-b<tag>-<c>".
[[nodiscard]] std::string channel_name(ChannelType t, std::uint32_t tag, std::uint32_t c);

}  // namespace bench
