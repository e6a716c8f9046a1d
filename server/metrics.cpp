#include "server/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "server/http_api.hpp"
#include "server/hub.hpp"
#include "server/tls.hpp"
#include "server/worker.hpp"

namespace server {

namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void header(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }
  void sample(std::string_view name, std::string_view labels, double value) {
    out_.append(name);
    if (!labels.empty()) out_.append("{").append(labels).append("}");
    std::ostringstream v;
    v.precision(15);
    v << value;
    out_.append(" ").append(v.str()).append("\n");
  }

 private:
  std::string& out_;
};

std::string escape_label(std::string_view v);

// The database app manager (docs/APP_MANAGERS.md): lookups by outcome, queries and their
// latency, errors, whether the database is reachable.
void append_app_manager(Writer& w, Hub& hub, std::string_view port_label) {
  AppDirectory* dir = hub.directory();
  if (dir == nullptr) return;
  AppDirectoryStats& st = dir->stats();
  const std::string port(port_label);
  auto load = [](const std::atomic<std::uint64_t>& a) {
    return static_cast<double>(a.load(std::memory_order_relaxed));
  };
  w.header("pushcore_app_manager_lookups_total", "counter",
           "App lookups by key or id: hit (cached app), negative (cached unknown), miss (asked "
           "the database), refused (database down or queue full), timeout (waited too long)");
  const std::pair<const char*, const std::atomic<std::uint64_t>*> lookups[] = {
      {"hit", &st.hits},         {"negative", &st.negative}, {"miss", &st.misses},
      {"refused", &st.refused},  {"timeout", &st.timeouts}};
  for (const auto& [result, value] : lookups) {
    w.sample("pushcore_app_manager_lookups_total",
             "result=\"" + std::string(result) + "\"," + port, load(*value));
  }
  w.header("pushcore_app_manager_queries_total", "counter", "Database statements and connects");
  w.sample("pushcore_app_manager_queries_total", port, load(st.queries));
  w.header("pushcore_app_manager_errors_total", "counter", "Failed database connects and queries");
  w.sample("pushcore_app_manager_errors_total", port, load(st.errors));
  w.header("pushcore_app_manager_invalid_rows_total", "counter",
           "Rows that are not a valid app (logged, not served)");
  w.sample("pushcore_app_manager_invalid_rows_total", port, load(st.bad_rows));
  w.header("pushcore_app_manager_up", "gauge", "1 while the app database is reachable");
  w.sample("pushcore_app_manager_up", port, dir->available() ? 1 : 0);
  w.header("pushcore_app_manager_apps", "gauge", "Database apps in memory");
  w.sample("pushcore_app_manager_apps", port,
           static_cast<double>(hub.database_app_ids().size()));
  w.header("pushcore_app_manager_query_duration_seconds", "histogram",
           "Latency of app lookup and refresh queries");
  double cumulative = 0;
  for (std::size_t b = 0; b <= AppDirectoryStats::bucket_count; ++b) {
    cumulative += load(st.query_le[b]);
    std::ostringstream le;
    if (b == AppDirectoryStats::bucket_count) {
      le << "+Inf";
    } else {
      le << AppDirectoryStats::query_buckets[b];
    }
    w.sample("pushcore_app_manager_query_duration_seconds_bucket",
             "le=\"" + le.str() + "\"," + port, cumulative);
  }
  w.sample("pushcore_app_manager_query_duration_seconds_sum", port,
           load(st.query_micros_sum) / 1e6);
  w.sample("pushcore_app_manager_query_duration_seconds_count", port, cumulative);
}

// Protocol V2: replay buffers (connection recovery) and the counters of resumes / idempotency.
void append_v2(Writer& w, Hub& hub, std::string_view port_label) {
  if (ReplayBuffer* replay = hub.replay()) {
    const ReplayStats s = replay->stats();
    w.header("sockudo_replay_buffer_channels", "gauge", "Channels with a replay stream");
    w.sample("sockudo_replay_buffer_channels", port_label, static_cast<double>(s.channels));
    w.header("sockudo_replay_buffer_messages", "gauge", "Messages kept for connection recovery");
    w.sample("sockudo_replay_buffer_messages", port_label, static_cast<double>(s.messages));
    w.header("sockudo_replay_buffer_bytes", "gauge", "Bytes of the kept messages' frames");
    w.sample("sockudo_replay_buffer_bytes", port_label, static_cast<double>(s.bytes));
    w.header("sockudo_replay_buffer_evicted_total", "counter",
             "Messages dropped early by connection_recovery.max_memory_mb");
    w.sample("sockudo_replay_buffer_evicted_total", port_label,
             static_cast<double>(s.evicted_for_memory));
  }
  const auto rows = hub.v2_counters().rows();
  struct Family {
    V2Counters::Kind kind;
    std::string_view name, help, label;
  };
  static constexpr Family families[] = {
      {V2Counters::Kind::recovery_success, "sockudo_history_recovery_success_total",
       "Total number of successful recovery attempts", "source"},
      {V2Counters::Kind::recovery_failure, "sockudo_history_recovery_failures_total",
       "Total number of failed recovery attempts", "code"},
      {V2Counters::Kind::idem_publish, "sockudo_idempotency_publish_total",
       "Total number of publish requests that included an idempotency key", ""},
      {V2Counters::Kind::idem_duplicate, "sockudo_idempotency_duplicates_total",
       "Total number of duplicate publishes caught by idempotency deduplication", ""},
  };
  for (const Family& f : families) {
    bool header = false;
    for (const auto& r : rows) {
      if (r.kind != f.kind) continue;
      if (!header) w.header(f.name, "counter", f.help);
      header = true;
      std::string labels = "app_id=\"" + escape_label(hub.app_at(r.app_index).app->id) + "\"";
      if (!port_label.empty()) labels.append(",").append(port_label);
      if (!f.label.empty())
        labels.append(",").append(f.label).append("=\"").append(escape_label(r.label)).append("\"");
      w.sample(f.name, labels, static_cast<double>(r.count));
    }
  }
}

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

/// Sockudo's metric names with `prefix` instead of `sockudo_` (metrics.prometheus.prefix):
/// every sample line and HELP/TYPE comment naming a sockudo_ metric.
std::string with_prefix(std::string_view text, std::string_view prefix) {
  constexpr std::string_view ours = "sockudo_";
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1);
    text.remove_prefix(line.size());
    std::size_t at = std::string_view::npos;
    if (line.starts_with(ours)) {
      at = 0;
    } else if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      if (line.substr(7).starts_with(ours)) at = 7;
    }
    if (at == std::string_view::npos) {
      out.append(line);
      continue;
    }
    out.append(line.substr(0, at)).append(prefix).append(line.substr(at + ours.size()));
  }
  return out;
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n >= 2 ? n - 3 : 0;  // ".", ".." and the DIR's own fd
}

}  // namespace

std::string render_metrics(Hub& hub, std::uint16_t port) {
  std::string out;
  out.reserve(8192);
  Writer w(out);
  const std::string port_label = "port=\"" + std::to_string(port) + "\"";
  auto labels_for = [&](std::size_t app) {
    return "app_id=\"" + escape_label(hub.app_at(app).app->id) + "\"," + port_label;
  };
  auto sum = [&](std::size_t app, std::atomic<std::uint64_t> AppCounters::*field) {
    std::uint64_t total = 0;
    for (auto& wk : hub.workers()) {
      total += (wk->app_counters(app).*field).load(std::memory_order_relaxed);
    }
    return static_cast<double>(total);
  };
  struct Counter {
    const char* name;
    const char* type;
    const char* help;
    std::atomic<std::uint64_t> AppCounters::*field;
  };
  const Counter counters[] = {
      {"sockudo_new_connections_total", "counter", "New WebSocket connections",
       &AppCounters::new_connections},
      {"sockudo_new_disconnections_total", "counter", "WebSocket disconnections",
       &AppCounters::disconnections},
      {"sockudo_connection_errors_total", "counter", "Refused WebSocket connections",
       &AppCounters::connection_errors},
      {"sockudo_socket_received_bytes", "counter", "Bytes received on WebSockets",
       &AppCounters::rx_bytes},
      {"sockudo_socket_transmitted_bytes", "counter", "Bytes sent on WebSockets",
       &AppCounters::tx_bytes},
      {"sockudo_ws_messages_received_total", "counter", "WebSocket messages received",
       &AppCounters::ws_messages_received},
      {"sockudo_ws_messages_sent_total", "counter", "WebSocket messages sent",
       &AppCounters::ws_messages_sent},
      {"sockudo_http_calls_received_total", "counter", "HTTP API calls received",
       &AppCounters::http_calls},
      {"sockudo_http_received_bytes", "counter", "HTTP API request body bytes",
       &AppCounters::http_rx_bytes},
      {"sockudo_http_transmitted_bytes", "counter", "HTTP API response body bytes",
       &AppCounters::http_tx_bytes},
      {"sockudo_channel_subscriptions_total", "counter", "Channel subscriptions",
       &AppCounters::subscriptions},
      {"sockudo_channel_unsubscriptions_total", "counter", "Channel unsubscriptions",
       &AppCounters::unsubscriptions},
      {"sockudo_rate_limit_checks_total", "counter", "Client event rate limit checks",
       &AppCounters::rate_limit_checks},
      {"sockudo_rate_limit_triggered_total", "counter", "Client events rejected by rate limit",
       &AppCounters::rate_limit_triggered},
  };

  w.header("sockudo_connected", "gauge", "Currently open WebSocket connections");
  for (std::size_t a = 0; a < hub.app_count(); ++a) {
    w.sample("sockudo_connected", labels_for(a),
             static_cast<double>(hub.app_at(a).connections.load(std::memory_order_relaxed)));
  }
  for (const auto& c : counters) {
    w.header(c.name, c.type, c.help);
    for (std::size_t a = 0; a < hub.app_count(); ++a)
      w.sample(c.name, labels_for(a), sum(a, c.field));
  }
  w.header("sockudo_active_channels", "gauge", "Occupied channels");
  {
    std::vector<double> active(hub.app_count());
    {
      std::lock_guard lock(hub.state_mutex());
      for (std::size_t a = 0; a < hub.app_count(); ++a) {
        active[a] = static_cast<double>(hub.registry().stats(hub.app_at(a).app->id).channels);
      }
    }
    for (std::size_t a = 0; a < hub.app_count(); ++a) {
      w.sample("sockudo_active_channels", labels_for(a), active[a]);
    }
  }

  auto node_sum = [&](auto getter) {
    std::uint64_t total = 0;
    for (auto& wk : hub.workers()) total += getter(wk->counters());
    return static_cast<double>(total);
  };
  w.header("pushcore_slow_consumers_closed_total", "counter",
           "Connections closed with 4100 because their send queue exceeded its budget");
  w.sample("pushcore_slow_consumers_closed_total", port_label, node_sum([](WorkerCounters& c) {
             return c.slow_consumers_closed.load(std::memory_order_relaxed);
           }));
  w.header("pushcore_protocol_errors_total", "counter", "WebSocket protocol violations");
  w.sample("pushcore_protocol_errors_total", port_label, node_sum([](WorkerCounters& c) {
             return c.protocol_errors.load(std::memory_order_relaxed);
           }));
  w.header("pushcore_tls_handshake_failures_total", "counter",
           "Failed TLS handshakes on the main port (plain-text clients, old TLS versions)");
  w.sample("pushcore_tls_handshake_failures_total", port_label,
           static_cast<double>(tls_handshake_failures()));
  w.header("pushcore_auth_failures_total", "counter", "Denied authentication attempts by reason");
  const char* reasons[] = {"signature_missing", "signature_invalid", "signin_invalid",
                           "api_request", "origin"};
  for (std::size_t r = 0; r < static_cast<std::size_t>(AuthFailure::count_); ++r) {
    w.sample("pushcore_auth_failures_total",
             std::string("reason=\"") + reasons[r] + "\"," + port_label,
             node_sum([r](WorkerCounters& c) {
               return c.auth_failures[r].load(std::memory_order_relaxed);
             }));
  }

  // Abuse and rate limits (server/abuse.hpp): one series per kind.
  w.header("pushcore_abuse_total", "counter",
           "Refused abusive or over-limit input by kind (rate limits, frame and HTTP violations)");
  for (std::size_t k = 0; k < static_cast<std::size_t>(AbuseKind::count_); ++k) {
    const auto kind = static_cast<AbuseKind>(k);
    std::uint64_t total = 0;
    for (auto& wk : hub.workers()) total += wk->abuse().count(kind);
    w.sample("pushcore_abuse_total", "kind=\"" + std::string(abuse_name(kind)) + "\"," + port_label,
             static_cast<double>(total));
  }
  w.header("pushcore_ip_table_entries", "gauge", "Entries in the per-IP limit table");
  w.sample("pushcore_ip_table_entries", port_label, static_cast<double>(hub.ip_limiter().size()));

  // Webhooks (the sender thread's totals).
  {
    const Webhooks::Stats ws = hub.webhooks().stats();
    const std::pair<const char*, std::uint64_t> webhook_counters[] = {
        {"pushcore_webhook_events_queued_total", ws.queued},
        {"pushcore_webhook_events_sent_total", ws.sent_events},
        {"pushcore_webhook_requests_sent_total", ws.sent_requests},
        {"pushcore_webhook_requests_failed_total", ws.failed_requests},
        {"pushcore_webhook_requests_retried_total", ws.retried_requests},
        {"pushcore_webhook_events_dropped_queue_full_total", ws.dropped_queue_full},
        {"pushcore_webhook_events_dropped_retries_exhausted_total", ws.dropped_retries_exhausted},
    };
    for (const auto& [name, value] : webhook_counters) {
      w.header(name, "counter", "Webhook delivery");
      w.sample(name, port_label, static_cast<double>(value));
    }
    w.header("pushcore_webhook_queue_depth", "gauge", "Webhook events held now");
    w.sample("pushcore_webhook_queue_depth", port_label, static_cast<double>(ws.queue_depth));
  }

  // Process metrics.
  long pages = 0, resident = 0;
  {
    std::ifstream statm("/proc/self/statm");
    statm >> pages >> resident;
  }
  double cpu = 0;
  {
    std::ifstream stat("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = content.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(content.substr(close + 2));
      std::string field;
      unsigned long utime = 0, stime = 0;
      for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stoul(field);
        if (i == 15) stime = std::stoul(field);
      }
      cpu = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  w.header("process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
  w.sample("process_resident_memory_bytes", "",
           static_cast<double>(resident * sysconf(_SC_PAGESIZE)));
  w.header("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes");
  w.sample("process_virtual_memory_bytes", "", static_cast<double>(pages * sysconf(_SC_PAGESIZE)));
  w.header("process_open_fds", "gauge", "Open file descriptors");
  w.sample("process_open_fds", "", static_cast<double>(open_fds()));
  w.header("process_cpu_seconds_total", "counter", "User and system CPU time in seconds");
  w.sample("process_cpu_seconds_total", "", cpu);
  hub.broadcast_latency().render(
      out, "sockudo_broadcast_latency_ms", port_label,
      [&](std::size_t a) { return escape_label(hub.app_at(a).app->id); });
  append_v2(w, hub, port_label);
  append_app_manager(w, hub, port_label);
  hub.adapter().append_metrics(out, port_label);  // cluster adapter samples, if any
  if (hub.config().metrics_prefix != "sockudo_")
    out = with_prefix(out, hub.config().metrics_prefix);
  return out;
}

MetricsServer::MetricsServer(Hub& hub, net::io_context& ioc, const std::string& host,
                             std::uint16_t port, std::uint16_t ws_port)
    : http_(
          ioc, host, port,
          [&hub, ws_port](const OneShotHttpServer::Request& req, OneShotHttpServer::Response& res) {
            const std::string_view target = req.target();
            const std::string_view path = target.substr(0, target.find('?'));
            if (path == "/metrics") {
              res.result(http::status::ok);
              res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
              res.body() = render_metrics(hub, ws_port);
            } else if (path == "/usage") {
              // Where Soketi serves it (and its users' dashboards look): the main port's body.
              res.result(http::status::ok);
              res.set(http::field::content_type, "application/json");
              res.body() = http_api::usage_json();
            } else {
              res.result(http::status::not_found);
              res.set(http::field::content_type, "text/plain");
              res.body() = "404 NOT FOUND";
            }
          }) {}

void MetricsServer::start() {
  http_.start();
}

void MetricsServer::stop() {
  http_.stop();
}

}  // namespace server
