#pragma once
// Internal to the HTTP API: the route handlers (one file per group) and the helpers they share.
// Every handler runs on the worker that read the request and calls `respond` exactly once.
//   http_api.cpp           routing, request authentication, health routes
//   http_api_events.cpp    POST events / batch_events
//   http_api_channels.cpp  channel queries, terminate_connections

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/api_request.hpp"
#include "server/abuse.hpp"
#include "server/adapter.hpp"
#include "server/http_response.hpp"
#include "server/worker.hpp"

namespace server {
struct AppRuntime;
}  // namespace server

namespace server::http_api {

namespace detail {

// ---- handlers ----
void post_events(Worker& worker, AppRuntime& app, const Request& req, Responder respond);
void post_batch_events(Worker& worker, AppRuntime& app, const Request& req, Responder respond);
void get_channels(Worker& worker, AppRuntime& app, const Request& req,
                  const auth::QueryParams& params, Responder respond);
void get_channel(Worker& worker, AppRuntime& app, const Request& req,
                 const auth::QueryParams& params, const std::string& channel, Responder respond);
void get_users(Worker& worker, AppRuntime& app, const Request& req, const std::string& channel,
               Responder respond);
/// POST users/{id}/terminate_connections (why = terminated_by_app, 4009) and
/// users/{id}/force_reconnect (why = force_reconnect, 4200: the clients reconnect at once).
[[nodiscard]] Response post_terminate(Worker& worker, AppRuntime& app, const Request& req,
                                      const std::string& user_id, WsError why);

// ---- shared helpers ----
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

/// Answers of `slots` adapter calls (any thread) gathered for one callback on the worker's
/// thread. The caller holds one extra count while it asks (`arrive` once when done asking), so
/// answers given inline cannot finish the gather early. Use through std::make_shared.
template <class T>
struct Gather {
  Gather(Worker& w, std::size_t slots, std::size_t asked, std::function<void(std::vector<T>)> fn)
      : worker(&w), results(slots), left(asked + 1), done(std::move(fn)) {}
  /// One answer (or the caller's own count) is in; the last runs `done` on the worker's thread.
  static void arrive(const std::shared_ptr<Gather>& g) {
    if (g->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    on_worker(*g->worker, [g] { g->done(std::move(g->results)); });
  }
  Worker* worker;
  std::vector<T> results;
  std::atomic<std::size_t> left;
  std::function<void(std::vector<T>)> done;
};

/// Asks the adapter for the counts of every named channel (nullopt entries are not asked and
/// answer zeros) and calls `done` with them, in order, on the worker's thread, once all answered.
void query_counts(Worker& worker, std::size_t app_index,
                  std::vector<std::optional<std::string>> names,
                  std::function<void(std::vector<ChannelCounts>)> done);
/// The comma-separated tokens of an `info` value, blanks trimmed.
[[nodiscard]] std::vector<std::string_view> split_info(std::string_view info);
[[nodiscard]] bool has_token(const std::vector<std::string_view>& toks, std::string_view t);
/// Takes `units` from one of the app's per-second windows; a 429 response when they do not fit
/// (nothing is published then). `limit` 0 = unlimited.
[[nodiscard]] std::optional<Response> take_rate(Worker& worker, const AppRuntime& app,
                                                WindowLimiter& window, std::uint64_t limit,
                                                std::uint64_t units, AbuseKind kind,
                                                const ReplyTo& req);

}  // namespace detail
}  // namespace server::http_api
