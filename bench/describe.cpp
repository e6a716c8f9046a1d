#include "bench/describe.hpp"

#include <cstdio>
#include <string>

#include "bench/publisher.hpp"
#include "bench/sysinfo.hpp"

namespace bench {

void describe_run(const Options& o, bool publishing, double events_per_s, double per_channel_subs,
                  Result& r) {
  r.scenario = scenario_name(o.scenario);
  r.label = o.label;
  r.command = shell_join(o.argv);
  r.time = utc_now_iso();
  r.info = {{"cpu_model", cpu_model()},
            {"cpus_online", std::to_string(online_cpus())},
            {"bench_cpus", affinity_list(0)},
            {"target", o.host + ":" + std::to_string(o.port)},
            {"loadavg_1m_at_start", format_value(loadavg_1m())}};
  if (o.server_pid) {
    r.info.emplace_back("server_pid", std::to_string(o.server_pid));
    r.info.emplace_back("server_name", process_name(o.server_pid));
    r.info.emplace_back("server_cpus", affinity_list(o.server_pid));
  } else {
    r.notes.emplace_back("no --server-pid: server CPU and RSS not measured");
  }
  r.params = {{"subscribers", std::to_string(o.subscribers)},
              {"channels", std::to_string(o.channels)},
              {"channel_type", std::string(channel_type_name(o.channel_type))},
              {"procs", std::to_string(o.procs)}};
  if (publishing) {
    r.params.emplace_back("mode", o.max ? "max" : "fixed");
    if (o.max) {
      r.params.emplace_back("inflight", std::to_string(o.inflight));
    } else {
      r.params.emplace_back("target_deliveries_per_s",
                            format_value(events_per_s * per_channel_subs));
      r.params.emplace_back("publishes_per_s", format_value(events_per_s));
    }
    r.params.emplace_back("payload", std::to_string(o.payload));
    r.params.emplace_back("batch", std::to_string(o.batch));
  }
  if (o.scenario != Scenario::connect) {
    r.params.emplace_back("duration_s", format_value(o.duration));
    r.params.emplace_back("warmup_s", format_value(o.warmup));
  }
  if (o.scenario == Scenario::connect) {
    r.params.emplace_back("concurrency", std::to_string(o.concurrency));
    r.params.emplace_back("phased", o.phased ? "yes" : "no");
  }
  if (churn_like(o.scenario)) r.params.emplace_back("churners", std::to_string(o.churners));
  if (o.scenario == Scenario::soak) {
    r.params.emplace_back("sample_every_s", format_value(o.sample_every));
  }
  if (churn_like(o.scenario) || o.scenario == Scenario::presence) {
    r.params.emplace_back("cycle_rate", o.cycle_rate > 0 ? format_value(o.cycle_rate) : "max");
  }
  if (o.scenario == Scenario::presence)
    r.params.emplace_back("watchers_per_channel", std::to_string(o.watchers));
  if (o.scenario == Scenario::client_events)
    r.params.emplace_back("event_rate", format_value(o.event_rate));
  if (o.scenario == Scenario::slow) {
    r.params.emplace_back("slow_share", format_value(o.slow_share));
    r.params.emplace_back("slow_rcvbuf", std::to_string(o.slow_rcvbuf));
  }
}

void judge_final(const Report& fin, const PublishStats* pub, Result& r) {
  for (const char* k : {"checked_connections", "expected", "received_unique", "losses",
                        "lossy_connections", "duplicates", "stale", "errors", "failed",
                        "closed_by_server", "fast_closed", "bad_payloads"}) {
    r.set(k, static_cast<double>(fin.get(k)));
  }
  for (const auto& [k, v] : fin.counters) {
    if (k.rfind("close_code_", 0) == 0 || k.rfind("error_code_", 0) == 0 ||
        k.rfind("slow_error_code_", 0) == 0) {
      r.set(k, static_cast<double>(v));
    }
  }
  if (pub) {
    r.set("publish_failures", static_cast<double>(pub->events_failed));
    r.set("publisher_connects", static_cast<double>(pub->connects));
  }
  const double delivered = r.get("deliveries").value_or(0) + r.get("slow_deliveries").value_or(0) +
                           r.get("member_events").value_or(0);
  const bool clean = fin.get("losses") == 0 && fin.get("duplicates") == 0 &&
                     fin.get("stale") == 0 && fin.get("errors") == 0 && fin.get("failed") == 0 &&
                     fin.get("fast_closed") == 0 && fin.get("bad_payloads") == 0 &&
                     (!pub || pub->events_failed == 0);
  if (delivered <= 0) {
    r.ok = false;
    r.notes.emplace_back("nothing was delivered in the measured window");
  }
  if (clean) {
    r.notes.emplace_back("no losses, no duplicates, no errors");
  } else {
    r.ok = false;
    r.notes.emplace_back("LOSSES or ERRORS: losses " + std::to_string(fin.get("losses")) + " on " +
                         std::to_string(fin.get("lossy_connections")) +
                         " connections, duplicates " +
                         std::to_string(fin.get("duplicates") + fin.get("stale")) +
                         ", pusher errors " + std::to_string(fin.get("errors")) +
                         ", fast subscribers closed " + std::to_string(fin.get("fast_closed")));
  }
}

bool judge_client(double util, std::optional<double> server_util, int cpus, Result& r) {
  char buf[256];
  const bool busy = util >= 0.9;
  const bool bound = busy && (!server_util || *server_util < 0.9);
  r.set("client_bound", bound ? 1 : 0);
  if (bound) {
    std::snprintf(buf, sizeof buf,
                  "client CPU %.0f%% of its %d CPU(s): CLIENT-BOUND, the numbers understate the "
                  "server (use --procs on more cores, or fewer subscribers)",
                  util * 100, cpus);
  } else if (busy) {
    std::snprintf(buf, sizeof buf,
                  "client CPU %.0f%% of its %d CPU(s), server %.0f%% of its CPUs: the server is "
                  "saturated (its numbers stand), the client is close to its limit",
                  util * 100, cpus, *server_util * 100);
  } else {
    std::snprintf(buf, sizeof buf, "client CPU %.0f%% of its %d CPU(s): not the bottleneck",
                  util * 100, cpus);
  }
  r.notes.emplace_back(buf);
  return !bound;
}

}  // namespace bench
