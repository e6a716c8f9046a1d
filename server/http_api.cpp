#include "server/http_api.hpp"

#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/api_request.hpp"
#include "auth/signature.hpp"
#include "protocol/channel.hpp"
#include "protocol/json.hpp"
#include "protocol/socket_id.hpp"
#include "server/clock.hpp"
#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/worker.hpp"

namespace server::http_api {

namespace {

// ---- response helpers ----------------------------------------------------------------------

/// A refusal: the situation (server/errors.hpp) and the detail completing its message.
struct Refusal {
  Refusal(ApiError e, std::string d = {}) : error(e), detail(std::move(d)) {}  // NOLINT
  ApiError error;
  std::string detail;
};

/// What a response needs from its request: kept by handlers that answer later (queries).
struct ReplyTo {
  ReplyTo(const Request& req) : version(req.version()), keep_alive(req.keep_alive()) {}  // NOLINT
  unsigned version;
  bool keep_alive;
};

Response make_response(const ReplyTo& req, http::status status, std::string body,
                       std::string_view content_type) {
  Response res{status, req.version};
  res.set(http::field::server, "pushcore");
  res.set(http::field::content_type, content_type);
  res.keep_alive(req.keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response json_ok(const ReplyTo& req, std::string body) {
  return make_response(req, http::status::ok, std::move(body), "application/json");
}

Response from_error(const ReplyTo& req, const Refusal& r) {
  return error_response(r.error, req.version, req.keep_alive, r.detail);
}

/// Runs `fn` on the worker's thread: inline when already there (a local answer), else posted
/// (an answer from the adapter thread).
template <class Fn>
void on_worker(Worker& worker, Fn&& fn) {
  if (worker.on_this_thread()) {
    fn();
  } else {
    net::post(worker.ioc(), std::forward<Fn>(fn));
  }
}

/// Asks the adapter for the counts of every named channel (nullopt entries are not asked and
/// answer zeros) and calls `done` with them, in order, on the worker's thread, once all answered.
void query_counts(Worker& worker, std::size_t app_index,
                  std::vector<std::optional<std::string>> names,
                  std::function<void(std::vector<ChannelCounts>)> done) {
  struct Gather {
    Gather(Worker& w, std::size_t n, std::size_t pending,
           std::function<void(std::vector<ChannelCounts>)> fn)
        : worker(&w), counts(n), left(pending), done(std::move(fn)) {}
    Worker* worker;
    std::vector<ChannelCounts> counts;
    std::atomic<std::size_t> left;
    std::function<void(std::vector<ChannelCounts>)> done;
  };
  std::size_t asked = 0;
  for (const auto& n : names) asked += n.has_value() ? 1 : 0;
  auto g = std::make_shared<Gather>(worker, names.size(), asked + 1, std::move(done));
  // One extra count held by this function: answers given inline cannot finish the gather
  // before every query is asked.
  auto arrive = [g] {
    if (g->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    on_worker(*g->worker, [g] { g->done(std::move(g->counts)); });
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!names[i]) continue;
    worker.hub().adapter().query_channel(app_index, *names[i], [g, i, arrive](ChannelCounts c) {
      g->counts[i] = c;
      arrive();
    });
  }
  arrive();
}

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

// Decodes %XX in a path segment (channel names and user ids may be percent-encoded).
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// ---- publishing ----------------------------------------------------------------------------

/// One validated event of /events or /batch_events, ready to publish.
struct EventItem {
  PublishRequest request;
  std::vector<std::string_view> info;
  std::string info_raw;
};

std::optional<Refusal> parse_event(Hub& hub, AppRuntime& app, simdjson::dom::element obj,
                                   EventItem& out) {
  const AppLimits& lim = app.app->limits;
  if (!obj.is_object()) return ApiError::event_not_object;
  std::string_view name;
  if (obj["name"].get(name) != simdjson::SUCCESS) {
    return ApiError::event_name_missing;
  }
  if (name.size() > lim.max_event_name_length) {
    return Refusal(ApiError::event_name_too_long, std::to_string(lim.max_event_name_length));
  }
  out.request.app_index = app.index;
  out.request.event = std::string(name);
  simdjson::dom::element data;
  if (obj["data"].get(data) != simdjson::SUCCESS) {
    out.request.data = "null";
  } else if (data.is_string()) {
    out.request.data = std::string(data.get_string().value());
  } else {
    out.request.data = simdjson::minify(data);
  }
  simdjson::dom::array channels;
  std::string_view channel;
  if (obj["channels"].get(channels) == simdjson::SUCCESS) {
    for (auto c : channels) {
      std::string_view s;
      if (c.get(s) != simdjson::SUCCESS) {
        return ApiError::channel_not_string;
      }
      out.request.channels.emplace_back(s);
    }
  } else if (obj["channel"].get(channel) == simdjson::SUCCESS) {
    out.request.channels.emplace_back(channel);
  }
  if (out.request.channels.empty()) {
    return ApiError::channel_missing;
  }
  if (out.request.channels.size() > lim.max_event_channels_at_once) {
    return Refusal(ApiError::too_many_channels,
                   std::to_string(out.request.channels.size()) + ") exceeds limit (" +
                       std::to_string(lim.max_event_channels_at_once) + ")");
  }
  for (const auto& ch : out.request.channels) {
    if (auto err = protocol::validate_channel_name(ch, lim.max_channel_name_length)) {
      return Refusal(ApiError::invalid_channel_name, *err);
    }
    if (protocol::classify_channel(ch).is_encrypted && out.request.channels.size() > 1) {
      return ApiError::encrypted_multi_channel;
    }
  }
  const auto max_bytes = static_cast<std::uint64_t>(lim.max_event_payload_in_kb * 1024.0);
  if (out.request.data.size() > max_bytes) {
    return Refusal(ApiError::event_data_too_large, std::to_string(out.request.data.size()) +
                                                       " bytes) exceeds limit (" +
                                                       std::to_string(max_bytes) + " bytes)");
  }
  std::string_view socket_id;
  // Only a canonical id can name a socket (protocol::SocketId::parse, the rule every lookup
  // uses); any other text excludes nobody.
  if (obj["socket_id"].get(socket_id) == simdjson::SUCCESS &&
      protocol::SocketId::parse(socket_id).has_value()) {
    out.request.except_socket_id = std::string(socket_id);  // other nodes resolve it themselves
    std::lock_guard lock(hub.state_mutex());
    if (auto conn = hub.conn_of_socket_locked(socket_id)) out.request.except = *conn;
  }
  std::string_view info;
  if (obj["info"].get(info) == simdjson::SUCCESS) {
    out.info_raw = std::string(info);
  }
  return std::nullopt;
}

/// Whether an event's info asks for counts of `channel` (what append_channel_info prints).
bool wants_counts(std::string_view channel, const std::vector<std::string_view>& info) {
  return (has_token(info, "user_count") && protocol::classify_channel(channel).is_presence) ||
         has_token(info, "subscription_count");
}

// {"<ch>":{"user_count":N,"subscription_count":N}} entries for an event's info request.
void append_channel_info(std::string& out, std::string_view channel,
                         const std::vector<std::string_view>& info, const ChannelCounts& counts) {
  out.push_back('{');
  bool first = true;
  if (has_token(info, "user_count") && protocol::classify_channel(channel).is_presence) {
    out.append("\"user_count\":").append(std::to_string(counts.user_count));
    first = false;
  }
  if (has_token(info, "subscription_count")) {
    if (!first) out.push_back(',');
    out.append("\"subscription_count\":").append(std::to_string(counts.subscription_count));
  }
  out.push_back('}');
}

// ---- rate limits ---------------------------------------------------------------------------

/// Takes `units` from one of the app's per-second windows; a 429 response when they do not fit
/// (nothing is published then). `limit` 0 = unlimited.
std::optional<Response> take_rate(Worker& worker, const AppRuntime& app, WindowLimiter& window,
                                  std::uint64_t limit, std::uint64_t units, AbuseKind kind,
                                  const Request& req) {
  if (limit == 0) return std::nullopt;
  const RateDecision d = window.try_take(units, limit, steady_ms());
  if (d.allowed) return std::nullopt;
  worker.abuse().note(kind, {{"app_id", app.app->id}, {"limit", std::to_string(limit)}});
  return too_many_requests(d, req.version(), req.keep_alive());
}

simdjson::dom::parser& json_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

void post_events(Worker& worker, AppRuntime& app, const Request& req, Responder respond) {
  Hub& hub = worker.hub();
  simdjson::dom::element root;
  if (json_parser().parse(req.body()).get(root) != simdjson::SUCCESS) {
    respond(from_error(req, ApiError::body_not_json));
    return;
  }
  EventItem item;
  if (auto err = parse_event(hub, app, root, item)) {
    respond(from_error(req, *err));
    return;
  }
  if (auto limited =
          take_rate(worker, app, app.backend_events, app.app->limits.max_backend_events_per_second,
                    1, AbuseKind::api_events_rate, req)) {
    respond(std::move(*limited));
    return;
  }
  hub.adapter().publish(item.request, &worker);
  if (item.info_raw.empty()) {
    respond(json_ok(req, "{\"ok\":true}"));
    return;
  }
  // Kept until the answer; `info` views its own `info_raw`, so it is split in place.
  auto shared = std::make_shared<EventItem>(std::move(item));
  shared->info = split_info(shared->info_raw);
  std::vector<std::optional<std::string>> asked;
  for (const auto& ch : shared->request.channels) {
    asked.push_back(wants_counts(ch, shared->info) ? std::optional<std::string>(ch) : std::nullopt);
  }
  query_counts(
      worker, app.index, std::move(asked),
      [shared, to = ReplyTo(req), respond = std::move(respond)](std::vector<ChannelCounts> counts) {
        std::string body = "{\"channels\":{";
        for (std::size_t i = 0; i < shared->request.channels.size(); ++i) {
          const std::string& ch = shared->request.channels[i];
          if (i > 0) body.push_back(',');
          protocol::append_json_string(body, ch);
          body.push_back(':');
          append_channel_info(body, ch, shared->info, counts[i]);
        }
        body.append("}}");
        respond(json_ok(to, std::move(body)));
      });
}

void post_batch_events(Worker& worker, AppRuntime& app, const Request& req, Responder respond) {
  Hub& hub = worker.hub();
  simdjson::dom::element root;
  simdjson::dom::array batch;
  if (json_parser().parse(req.body()).get(root) != simdjson::SUCCESS) {
    respond(from_error(req, ApiError::body_not_json));
    return;
  }
  if (root["batch"].get(batch) != simdjson::SUCCESS) {
    respond(from_error(req, ApiError::batch_missing));
    return;
  }
  const std::size_t n = batch.size();
  const std::uint64_t max = app.app->limits.max_event_batch_size;
  if (n > max) {
    respond(from_error(
        req, Refusal(ApiError::batch_too_large,
                     std::to_string(n) + ") exceeds limit (" + std::to_string(max) + ")")));
    return;
  }
  // Validate every item first, then publish: a bad item fails the request with nothing sent.
  auto items = std::make_shared<std::vector<EventItem>>();
  items->reserve(std::min<std::size_t>(n, max));
  for (auto el : batch) {
    if (auto err = parse_event(hub, app, el, items->emplace_back())) {
      respond(from_error(req, *err));
      return;
    }
  }
  // A batch counts each of its events, all or nothing.
  if (auto limited =
          take_rate(worker, app, app.backend_events, app.app->limits.max_backend_events_per_second,
                    items->size(), AbuseKind::api_events_rate, req)) {
    respond(std::move(*limited));
    return;
  }
  bool any_info = false;
  for (auto& item : *items) {
    hub.adapter().publish(item.request, &worker);
    any_info = any_info || !item.info_raw.empty();
  }
  if (!any_info) {
    respond(json_ok(req, "{}"));
    return;
  }
  // An item's info is about its first channel. (`info` views `info_raw` of the same item: the
  // vector does not move any more.)
  std::vector<std::optional<std::string>> asked;
  for (auto& item : *items) {
    item.info = split_info(item.info_raw);
    const std::string& ch = item.request.channels.front();
    asked.push_back(!item.info_raw.empty() && wants_counts(ch, item.info)
                        ? std::optional<std::string>(ch)
                        : std::nullopt);
  }
  query_counts(
      worker, app.index, std::move(asked),
      [items, to = ReplyTo(req), respond = std::move(respond)](std::vector<ChannelCounts> counts) {
        std::string body = "{\"batch\":[";
        for (std::size_t k = 0; k < items->size(); ++k) {
          const EventItem& item = (*items)[k];
          if (k > 0) body.push_back(',');
          if (item.info_raw.empty()) {
            body.append("{}");
          } else {
            append_channel_info(body, item.request.channels.front(), item.info, counts[k]);
          }
        }
        body.append("]}");
        respond(json_ok(to, std::move(body)));
      });
}

// ---- queries -------------------------------------------------------------------------------
// The adapter answers on its own thread (cluster) or inline (local); the response is built on
// the worker's thread in either case.

void get_channels(Worker& worker, AppRuntime& app, const Request& req,
                  const auth::QueryParams& params, Responder respond) {
  Hub& hub = worker.hub();
  const std::string* prefix_p = params.get("filter_by_prefix");
  std::string prefix = prefix_p ? *prefix_p : std::string();
  const std::string* info_p = params.get("info");
  const auto info = split_info(info_p ? std::string_view(*info_p) : std::string_view{});
  const bool want_users = has_token(info, "user_count");
  const bool want_subs = has_token(info, "subscription_count");
  const bool presence_prefix = prefix.rfind("presence-", 0) == 0;
  auto answer = [want_users, want_subs, presence_prefix, to = ReplyTo(req),
                 respond = std::move(respond)](const std::vector<Adapter::ChannelInfo>& channels) {
    if (want_users && !presence_prefix) {
      for (const auto& c : channels) {
        if (!protocol::classify_channel(c.name).is_presence) {
          respond(from_error(to, ApiError::user_count_needs_presence_prefix));
          return;
        }
      }
    }
    std::string body = "{\"channels\":{";
    bool first = true;
    for (const auto& c : channels) {
      if (!first) body.push_back(',');
      first = false;
      protocol::append_json_string(body, c.name);
      body.append(":{");
      bool f2 = true;
      if (want_users && protocol::classify_channel(c.name).is_presence) {
        body.append("\"user_count\":").append(std::to_string(c.user_count));
        f2 = false;
      }
      if (want_subs) {
        if (!f2) body.push_back(',');
        body.append("\"subscription_count\":").append(std::to_string(c.subscription_count));
      }
      body.push_back('}');
    }
    body.append("}}");
    respond(json_ok(to, std::move(body)));
  };
  hub.adapter().query_channels(
      app.index, prefix,
      [w = &worker, answer = std::move(answer)](std::vector<Adapter::ChannelInfo> channels) {
        on_worker(*w, [answer, channels = std::move(channels)] { answer(channels); });
      });
}

void get_channel(Worker& worker, AppRuntime& app, const Request& req,
                 const auth::QueryParams& params, const std::string& channel, Responder respond) {
  if (auto err =
          protocol::validate_channel_name(channel, app.app->limits.max_channel_name_length)) {
    respond(from_error(req, Refusal(ApiError::invalid_channel_name, *err)));
    return;
  }
  const std::string* info_p = params.get("info");
  const auto info = split_info(info_p ? std::string_view(*info_p) : std::string_view{});
  const auto kind = protocol::classify_channel(channel);
  const bool want_users = has_token(info, "user_count");
  const bool want_subs = has_token(info, "subscription_count");
  const bool want_cache = has_token(info, "cache") && kind.is_cache;
  if (want_users && !kind.is_presence) {
    respond(from_error(req, ApiError::user_count_needs_presence));
    return;
  }
  query_counts(
      worker, app.index, {channel},
      [w = &worker, a = &app, channel, want_users, want_subs, want_cache, to = ReplyTo(req),
       respond = std::move(respond)](std::vector<ChannelCounts> counts) {
        const ChannelCounts& c = counts.front();
        std::string body = "{\"occupied\":";
        body.append(c.subscription_count > 0 ? "true" : "false");
        if (want_subs) {
          body.append(",\"subscription_count\":").append(std::to_string(c.subscription_count));
        }
        if (want_users) body.append(",\"user_count\":").append(std::to_string(c.user_count));
        if (want_cache) {
          Hub& hub = w->hub();
          std::lock_guard lock(hub.state_mutex());
          const auto now = std::chrono::steady_clock::now();
          if (auto cached = hub.registry().cached(a->app->id, channel, now)) {
            const auto ttl =
                std::chrono::duration_cast<std::chrono::seconds>(cached->expires_at - now).count();
            body.append(",\"cache\":{\"data\":");
            protocol::append_json_string(body, cached->frame_json);
            body.append(",\"ttl\":").append(std::to_string(ttl)).append("}");
          }
        }
        body.push_back('}');
        respond(json_ok(to, std::move(body)));
      });
}

void get_users(Worker& worker, AppRuntime& app, const Request& req, const std::string& channel,
               Responder respond) {
  if (auto err =
          protocol::validate_channel_name(channel, app.app->limits.max_channel_name_length)) {
    respond(from_error(req, Refusal(ApiError::invalid_channel_name, *err)));
    return;
  }
  if (!protocol::classify_channel(channel).is_presence) {
    respond(from_error(req, ApiError::users_need_presence));
    return;
  }
  auto answer = [to = ReplyTo(req),
                 respond = std::move(respond)](const std::vector<std::string>& ids) {
    std::string body = "{\"users\":[";
    bool first = true;
    for (const auto& id : ids) {
      if (!first) body.push_back(',');
      first = false;
      body.append("{\"id\":");
      protocol::append_json_string(body, id);
      body.push_back('}');
    }
    body.append("]}");
    respond(json_ok(to, std::move(body)));
  };
  worker.hub().adapter().query_users(
      app.index, channel, [w = &worker, answer = std::move(answer)](std::vector<std::string> ids) {
        on_worker(*w, [answer, ids = std::move(ids)] { answer(ids); });
      });
}

Response post_terminate(Worker& worker, AppRuntime& app, const Request& req,
                        const std::string& user_id) {
  Hub& hub = worker.hub();
  std::vector<channels::ConnId> conns;
  {
    std::lock_guard lock(hub.state_mutex());
    conns = hub.registry().user_connections(app.app->id, user_id);
  }
  hub.close_connections(conns, WsError::terminated_by_app);
  hub.adapter().terminate_user(app.index, user_id);  // the other nodes' connections (cluster)
  return json_ok(req, "{\"ok\":true}");
}

// ---- health --------------------------------------------------------------------------------

Response usage(const Request& req) {
  long pages = 0, resident = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> pages >> resident;
  const long page = sysconf(_SC_PAGESIZE);
  std::string body = "{\"memory\":{\"rss\":" + std::to_string(resident * page) +
                     ",\"virtual\":" + std::to_string(pages * page) + "}}";
  return json_ok(req, std::move(body));
}

void route(Worker& worker, AppRuntime* app, const Request& req, const auth::QueryParams& params,
           const std::vector<std::string>& parts, Responder respond);

void api(Worker& worker, const Request& req, std::string_view path, std::string_view query,
         Responder respond) {
  Hub& hub = worker.hub();
  const auto parts = split_path(path);  // apps, {id}, ...
  if (query.empty()) {
    respond(from_error(req, ApiError::auth_params_missing));
    return;
  }
  const auth::QueryParams params = auth::parse_query(query);
  const std::string* key = params.get("auth_key");
  AppRuntime* app = key ? hub.app_by_key(*key) : nullptr;
  if (app == nullptr) {
    respond(from_error(req, ApiError::app_key_unknown));
    return;
  }
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
    Response res = from_error(req, ApiError::cluster_unavailable);
    res.set(http::field::retry_after, "1");
    respond(std::move(res));
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
    get_channel(worker, *app, req, params, percent_decode(parts[3]), std::move(respond));
  } else if (n == 5 && parts[2] == "channels" && parts[4] == "users" && method == http::verb::get) {
    get_users(worker, *app, req, percent_decode(parts[3]), std::move(respond));
  } else if (n == 5 && parts[2] == "users" && parts[4] == "terminate_connections" &&
             method == http::verb::post) {
    respond(post_terminate(worker, *app, req, percent_decode(parts[3])));
  } else {
    respond(make_response(req, http::status::not_found, "404 NOT FOUND", "text/plain"));
  }
}

}  // namespace

Response error_response(http::status status, std::string_view code, std::string_view message,
                        unsigned version, bool keep_alive) {
  Response res{status, version};
  res.set(http::field::server, "pushcore");
  res.set(http::field::content_type, "application/json");
  std::string body = "{\"error\":";
  protocol::append_json_string(body, message);
  body.append(",\"code\":");
  protocol::append_json_string(body, code);
  body.append(",\"status\":").append(std::to_string(static_cast<unsigned>(status))).append("}");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

Response error_response(ApiError error, unsigned version, bool keep_alive,
                        std::string_view detail) {
  const ApiErrorSpec& e = spec(error);
  return error_response(static_cast<http::status>(e.status), e.code, error_message(error, detail),
                        version, keep_alive);
}

Response too_many_requests(const RateDecision& d, unsigned version, bool keep_alive) {
  Response res{http::status::too_many_requests, version};
  res.set(http::field::server, "pushcore");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::retry_after, std::to_string(d.reset_s));
  res.set("X-RateLimit-Limit", std::to_string(d.limit));
  res.set("X-RateLimit-Remaining", std::to_string(d.remaining));
  res.set("X-RateLimit-Reset", std::to_string(d.reset_s));
  res.body() =
      R"({"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."})";
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

void apply_cors(const Config& config, std::string_view request_origin, Response& res) {
  bool any = false;
  bool listed = false;
  for (const auto& o : config.cors_origins) {
    if (o == "*") any = true;
    if (!request_origin.empty() && beast::iequals(o, request_origin)) listed = true;
  }
  if (any) {
    res.set(http::field::access_control_allow_origin, "*");
  } else if (listed) {
    res.set(http::field::access_control_allow_origin, request_origin);
    res.set(http::field::vary, "Origin");
  }
}

void handle(Worker& worker, const Request& req, Responder respond) {
  const std::string_view target = req.target();
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (path.rfind("/apps/", 0) == 0 && req.method() != http::verb::options) {
    api(worker, req, path, query, std::move(respond));
    return;
  }
  Response res;
  if (req.method() == http::verb::options) {
    // CORS preflight.
    res = make_response(req, http::status::no_content, "", "text/plain");
    res.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
    res.set(http::field::access_control_allow_headers,
            "Content-Type, Authorization, X-Requested-With");
    res.set(http::field::access_control_max_age, "86400");
  } else if (path == "/up" || path == "/") {
    res = make_response(req, http::status::ok, "OK", "text/plain");
  } else if (path.rfind("/up/", 0) == 0) {
    AppRuntime* app = worker.hub().app_by_id(percent_decode(path.substr(4)));
    if (app != nullptr && app->app->enabled) {
      res = make_response(req, http::status::ok, "OK", "text/plain");
    } else {
      res = from_error(req, ApiError::app_not_found);
    }
  } else if (path == "/usage") {
    res = usage(req);
  } else {
    res = make_response(req, http::status::not_found, "404 NOT FOUND", "text/plain");
  }
  respond(std::move(res));
}

}  // namespace server::http_api
