// The HTTP routes of the main port: authentication of /apps/ requests, routing to the handlers
// (server/http_api_routes.hpp), health routes, CORS.
#include "server/http_api.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "auth/api_request.hpp"
#include "protocol/percent.hpp"
#include "server/client_address.hpp"
#include "server/clock.hpp"
#include "server/http_api_routes.hpp"
#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/worker.hpp"

namespace server::http_api {

namespace detail {

std::vector<std::string_view> split_info(std::string_view info) {
  std::vector<std::string_view> out;
  while (!info.empty()) {
    const auto comma = info.find(',');
    std::string_view tok = info.substr(0, comma);
    while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
    while (!tok.empty() && tok.back() == ' ') tok.remove_suffix(1);
    if (!tok.empty()) out.push_back(tok);
    if (comma == std::string_view::npos) break;
    info.remove_prefix(comma + 1);
  }
  return out;
}

bool has_token(const std::vector<std::string_view>& toks, std::string_view t) {
  for (auto x : toks) {
    if (x == t) return true;
  }
  return false;
}

std::optional<Response> take_rate(Worker& worker, const AppRuntime& app, WindowLimiter& window,
                                  std::uint64_t limit, std::uint64_t units, AbuseKind kind,
                                  const ReplyTo& req) {
  if (limit == 0) return std::nullopt;
  const RateDecision d = window.try_take(units, limit, steady_ms());
  if (d.allowed) return std::nullopt;
  worker.abuse().note(kind, {{"app_id", app.app->id}, {"limit", std::to_string(limit)}});
  return too_many_requests(d, req.version, req.keep_alive);
}

}  // namespace detail

namespace {

using namespace detail;

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    parts.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return parts;
}

// A /proc/meminfo line's value in bytes ("MemTotal:  16318484 kB"); 0 when absent.
std::uint64_t meminfo_bytes(const std::string& meminfo, std::string_view key) {
  const auto at = meminfo.find(key);
  if (at == std::string::npos) return 0;
  unsigned long long kb = 0;
  if (std::sscanf(meminfo.c_str() + at + key.size(), " %llu", &kb) != 1) return 0;
  return kb * 1024;
}

// /up and /up/{app_id} (Sockudo's readiness): 503 "DRAINING" once shutdown began; 503 "ERROR"
// when the adapter cannot reach the cluster (Redis), no app is configured, or the app is
// disabled; 200 "DEGRADED" when the webhook queue is full (non-critical: events are dropped,
// delivery goes on); else 200 "OK". The word is repeated in `X-Health-Check`. An unknown app
// keeps this server's 404 JSON error (Sockudo: 404 "NOT_FOUND").
// `/up` (app_id nullopt) or `/up/{id}` with the app looked up (`app` null: unknown id).
Response up(Worker& worker, const Request& req, std::optional<const AppRuntime*> app) {
  Hub& hub = worker.hub();
  auto health = [&req](http::status status, std::string_view word) {
    Response res = make_response(req, status, std::string(word), "text/plain");
    res.set("X-Health-Check", word);
    return res;
  };
  if (hub.draining.load()) return health(http::status::service_unavailable, "DRAINING");
  if (app) {
    if (*app == nullptr) return from_error(req, ApiError::app_not_found);
    if (!(*app)->app->enabled) return health(http::status::service_unavailable, "ERROR");
  } else if (hub.directory() == nullptr) {
    bool any = false;
    for (std::size_t i = 0; i < hub.app_count() && !any; ++i) any = !hub.app_at(i).removed.load();
    if (!any) return health(http::status::service_unavailable, "ERROR");
  }
  if (!hub.adapter().available()) return health(http::status::service_unavailable, "ERROR");
  if (hub.webhooks().stats().queue_depth >= hub.config().webhooks.max_queue_size) {
    return health(http::status::ok, "DEGRADED");
  }
  // Database app manager unreachable: cached apps keep working, new ones cannot be served.
  if (hub.directory() != nullptr && !hub.directory()->available()) {
    return health(http::status::ok, "DEGRADED");
  }
  return health(http::status::ok, "OK");
}

void route(Worker& worker, AppRuntime* app, const Request& req, const auth::QueryParams& params,
           const std::vector<std::string>& parts, Responder respond);

void api_for_app(Worker& worker, AppRuntime* app, const Request& req, std::string_view path,
                 const auth::QueryParams& params, std::string_view peer, Responder respond);

void api(Worker& worker, const Request& req, std::string_view path, std::string_view query,
         std::string_view peer, Responder respond) {
  Hub& hub = worker.hub();
  const std::uint32_t hops = hub.config().ip_limits.api_trust_hops;
  std::string client;  // the client's address, computed when a check or a log line needs it
  auto client_addr = [&]() -> const std::string& {
    if (client.empty()) client = client_address(forwarded_for(req), std::string(peer), hops);
    return client;
  };
  // rate_limiter.api_rate_limit: every /apps/ request counts, signed or not (as Sockudo, whose
  // limiter runs before authentication), so a flood of bad signatures is bounded too.
  if (IpLimiter& limiter = hub.api_limiter(); limiter.enabled()) {
    const auto r = limiter.on_connect(client_addr(), steady_ms());
    if (r.table_full) worker.abuse().note(AbuseKind::ip_table_full, {{"remote", client_addr()}});
    if (r.verdict == IpLimiter::Verdict::rate_limited) {
      worker.abuse().note(AbuseKind::ip_api_rate, {{"remote", client_addr()}});
      respond(too_many_requests(r.rate, req.version(), req.keep_alive()));
      return;
    }
  }
  if (query.empty()) {
    respond(from_error(req, ApiError::auth_params_missing));
    return;
  }
  const auth::QueryParams params = auth::parse_query(query);
  const std::string* key = params.get("auth_key");
  if (key == nullptr) {
    respond(from_error(req, ApiError::app_key_unknown));
    return;
  }
  if (const auto found = hub.find_app(AppLookup::key, *key)) {
    api_for_app(worker, *found, req, path, params, peer, std::move(respond));
    return;
  }
  // A database app not in memory yet: a copy of the request waits for the directory's answer
  // (bounded by app_manager.lookup_timeout_ms); its views are taken again from the copy.
  auto held = std::make_shared<Request>(req);
  hub.ask_database(AppLookup::key, *key, worker.ioc(),
                   [&worker, held, from = std::string(peer), respond](AppRuntime* app) {
                     const std::string_view target = held->target();
                     const auto q = target.find('?');
                     const auth::QueryParams again = auth::parse_query(
                         q == std::string_view::npos ? std::string_view{} : target.substr(q + 1));
                     api_for_app(worker, app, *held, target.substr(0, q), again, from, respond);
                   });
}

void api_for_app(Worker& worker, AppRuntime* app, const Request& req, std::string_view path,
                 const auth::QueryParams& params, std::string_view peer, Responder respond) {
  const std::uint32_t hops = worker.hub().config().ip_limits.api_trust_hops;
  std::string client;
  auto client_addr = [&]() -> const std::string& {
    if (client.empty()) client = client_address(forwarded_for(req), std::string(peer), hops);
    return client;
  };
  if (app == nullptr) {
    respond(from_error(req, ApiError::app_key_unknown));
    return;
  }
  const auto parts = split_path(path);  // apps, {id}, ...
  if (parts.size() < 2 || parts[1] != app->app->id) {
    respond(from_error(req, ApiError::app_mismatch));
    return;
  }
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const auto err = auth::verify_api_request(std::string(req.method_string()), path, params,
                                            req.body(), app->app->secret, now);
  if (err != auth::ApiAuthError::none) {
    worker.counters().auth_failed(AuthFailure::api_request);
    log::warn("api_auth_denied", {{"app_id", app->app->id},
                                  {"remote", client_addr()},
                                  {"path", std::string(path)},
                                  {"reason", std::string(auth::message(err))}});
    respond(from_error(req, Refusal(ApiError::auth_failed, std::string(auth::message(err)))));
    return;
  }
  AppCounters& stats = worker.app_counters(app->index);
  stats.http_calls.fetch_add(1, std::memory_order_relaxed);
  stats.http_rx_bytes.fetch_add(req.body().size(), std::memory_order_relaxed);
  route(worker, app, req, params, parts, [&stats, respond = std::move(respond)](Response res) {
    stats.http_tx_bytes.fetch_add(res.body().size(), std::memory_order_relaxed);
    respond(std::move(res));
  });
}

void route(Worker& worker, AppRuntime* app, const Request& req, const auth::QueryParams& params,
           const std::vector<std::string>& parts, Responder respond) {
  const auto method = req.method();
  const std::size_t n = parts.size();
  if (!worker.hub().adapter().available()) {
    // Cluster mode with Redis unreachable: a publish could not reach the other nodes and a
    // query could not aggregate them, so the caller is told to retry (docs/CLUSTER.md).
    respond(from_error(req, ApiError::cluster_unavailable));  // with Retry-After: 1
    return;
  }
  if (method == http::verb::get && n >= 3 && parts[2] == "channels") {
    if (auto limited = take_rate(worker, *app, app->read_requests,
                                 app->app->limits.max_read_requests_per_second, 1,
                                 AbuseKind::api_reads_rate, req)) {
      respond(std::move(*limited));
      return;
    }
  }
  if (n == 3 && parts[2] == "events" && method == http::verb::post) {
    post_events(worker, *app, req, std::move(respond));
  } else if (n == 3 && parts[2] == "batch_events" && method == http::verb::post) {
    post_batch_events(worker, *app, req, std::move(respond));
  } else if (n == 3 && parts[2] == "channels" && method == http::verb::get) {
    get_channels(worker, *app, req, params, std::move(respond));
  } else if (n == 4 && parts[2] == "channels" && method == http::verb::get) {
    get_channel(worker, *app, req, params, protocol::percent_decode(parts[3]), std::move(respond));
  } else if (n == 5 && parts[2] == "channels" && parts[4] == "users" && method == http::verb::get) {
    get_users(worker, *app, req, protocol::percent_decode(parts[3]), std::move(respond));
  } else if (n == 5 && parts[2] == "users" && parts[4] == "terminate_connections" &&
             method == http::verb::post) {
    respond(post_terminate(worker, *app, req, protocol::percent_decode(parts[3]),
                           WsError::terminated_by_app));
  } else if (n == 5 && parts[2] == "users" && parts[4] == "force_reconnect" &&
             method == http::verb::post) {
    respond(post_terminate(worker, *app, req, protocol::percent_decode(parts[3]),
                           WsError::force_reconnect));
  } else {
    respond(make_response(req, http::status::not_found, "404 NOT FOUND", "text/plain"));
  }
}

}  // namespace

std::string usage_json() {
  long pages = 0, resident = 0;
  {
    std::ifstream statm("/proc/self/statm");
    statm >> pages >> resident;
  }
  const long page = sysconf(_SC_PAGESIZE);
  std::string meminfo;
  {
    std::ifstream in("/proc/meminfo");
    meminfo.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Sockudo's fields are the host's memory (sysinfo: used = total - available).
  const std::uint64_t total = meminfo_bytes(meminfo, "MemTotal:");
  const std::uint64_t available = std::min(total, meminfo_bytes(meminfo, "MemAvailable:"));
  const std::uint64_t used = total - available;
  char percent[32];
  std::snprintf(percent, sizeof(percent), "%.2f",
                total == 0 ? 0.0 : static_cast<double>(used) * 100.0 / static_cast<double>(total));
  return "{\"memory\":{\"free\":" + std::to_string(available) +
         ",\"used\":" + std::to_string(used) + ",\"total\":" + std::to_string(total) +
         ",\"percent\":" + percent + ",\"rss\":" + std::to_string(resident * page) +
         ",\"virtual\":" + std::to_string(pages * page) + "}}";
}

void apply_cors(const Config& config, std::string_view request_origin, Response& res) {
  bool any = false;
  bool listed = false;
  for (const auto& o : config.cors_origins) {
    if (o == "*") any = true;
    if (!request_origin.empty() && beast::iequals(o, request_origin)) listed = true;
  }
  if (any) {
    res.set(http::field::access_control_allow_origin, "*");  // never with credentials
  } else if (listed) {
    res.set(http::field::access_control_allow_origin, request_origin);
    res.set(http::field::vary, "Origin");
    if (config.cors_credentials) res.set(http::field::access_control_allow_credentials, "true");
  }
}

void handle(Worker& worker, const Request& req, std::string_view peer, Responder respond) {
  const std::string_view target = req.target();
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (path.rfind("/apps/", 0) == 0 && req.method() != http::verb::options) {
    api(worker, req, path, query, peer, std::move(respond));
    return;
  }
  Response res;
  if (req.method() == http::verb::options) {
    // CORS preflight.
    res = make_response(req, http::status::no_content, "", "text/plain");
    const auto join = [](const std::vector<std::string>& items) {
      std::string out;
      for (const auto& i : items) out.append(out.empty() ? "" : ", ").append(i);
      return out;
    };
    const Config& cfg = worker.hub().config();
    res.set(http::field::access_control_allow_methods, join(cfg.cors_methods));
    res.set(http::field::access_control_allow_headers, join(cfg.cors_allowed_headers));
    res.set(http::field::access_control_max_age, "86400");
  } else if (path == "/up" || path == "/") {
    res = up(worker, req, std::nullopt);
  } else if (path.rfind("/up/", 0) == 0) {
    const std::string id = protocol::percent_decode(path.substr(4));
    const auto found = worker.hub().find_app(AppLookup::id, id);
    if (!found) {  // a database app not in memory: answered when the directory knows
      worker.hub().ask_database(AppLookup::id, id, worker.ioc(),
                                [&worker, held = std::make_shared<Request>(req),
                                 respond](AppRuntime* app) { respond(up(worker, *held, app)); });
      return;
    }
    res = up(worker, req, *found);
  } else if (path == "/live") {
    res = make_response(req, http::status::ok, "", "text/plain");  // liveness only (Sockudo)
  } else if (path == "/usage") {
    res = json_ok(req, usage_json());
  } else {
    res = make_response(req, http::status::not_found, "404 NOT FOUND", "text/plain");
  }
  respond(std::move(res));
}

}  // namespace server::http_api
