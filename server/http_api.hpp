#pragma once
// HTTP routes on the main port: the signed Pusher HTTP API (protocol.md §9) and health routes.
// Handlers run on the worker that read the request and never block: publishing only posts to
// workers and locks the state mutex briefly; channel queries ask the adapter and answer when it
// does (at once with the local adapter; from Redis within its request timeout in a cluster).

#include <functional>
#include <string_view>

#include "server/errors.hpp"
#include "server/net.hpp"
#include "server/rate_limit.hpp"

namespace server {
class Worker;
struct Config;
}  // namespace server

namespace server::http_api {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/// Receives the response to one request, on the worker's thread.
using Responder = std::function<void(Response)>;

/// Routes one request (on `worker`'s thread) and calls `respond` exactly once with the complete
/// response (CORS headers not included: see apply_cors). Most routes respond before handle()
/// returns; channel queries (and publishes asking for `info`) may respond later, from a handler
/// posted to the worker, once the adapter answered. `req` is only read before handle() returns.
void handle(Worker& worker, const Request& req, Responder respond);

/// Sets Access-Control-Allow-Origin: `*` when any origin is allowed, else the request's Origin
/// when it is listed in `cors.origin` (with `Vary: Origin`), else nothing.
void apply_cors(const Config& config, std::string_view request_origin, Response& res);

/// A Sockudo-shaped JSON error: {"error":message,"code":code,"status":N}.
[[nodiscard]] Response error_response(http::status status, std::string_view code,
                                      std::string_view message, unsigned version, bool keep_alive);

/// The JSON error of a refusal (server/errors.hpp): the row's status and code, its message
/// completed by `detail` where the row takes one.
[[nodiscard]] Response error_response(ApiError error, unsigned version, bool keep_alive,
                                      std::string_view detail = {});

/// HTTP 429 with the rate limiter's body (protocol.md §1.1)
/// `{"error":"Too Many Requests","message":"Rate limit exceeded. Please try again later."}`,
/// `Retry-After` and `X-RateLimit-Limit/Remaining/Reset` (Reset: seconds until the window ends).
[[nodiscard]] Response too_many_requests(const RateDecision& d, unsigned version, bool keep_alive);

}  // namespace server::http_api
