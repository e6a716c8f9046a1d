#pragma once
// HTTP routes on the main port: the signed Pusher HTTP API (protocol.md §9) and health routes.
// Handlers run on the worker that read the request and never block: publishing only posts to
// workers and locks the state mutex briefly; channel queries ask the adapter and answer when it
// does (at once with the local adapter; from Redis within its request timeout in a cluster).
// The responses themselves: server/http_response.hpp.

#include <functional>
#include <string>
#include <string_view>

#include "server/http_response.hpp"

namespace server {
class Worker;
struct Config;
}  // namespace server

namespace server::http_api {

/// Routes one request (on `worker`'s thread) and calls `respond` exactly once with the complete
/// response (CORS headers not included: see apply_cors). Most routes respond before handle()
/// returns; channel queries (and publishes asking for `info`) may respond later, from a handler
/// posted to the worker, once the adapter answered. `req` and `peer` (the socket's peer
/// address) are only read before handle() returns. /apps/ requests are accounted to the client
/// address (server/client_address.hpp, rate_limiter.api_rate_limit.trust_hops): the API rate
/// limit (429) and log lines.
void handle(Worker& worker, const Request& req, std::string_view peer, Responder respond);

/// The body of GET /usage (main port and metrics port): `{"memory":{"free","used","total",
/// "percent","rss","virtual"}}`: Sockudo's host memory figures in bytes (free = MemAvailable,
/// used = total - free, percent of total, two decimals) and this process's resident and
/// virtual size in bytes. Any thread; reads /proc.
[[nodiscard]] std::string usage_json();

/// Sets Access-Control-Allow-Origin: `*` when any origin is allowed, else the request's Origin
/// when it is listed in `cors.origin` (with `Vary: Origin`), else nothing.
void apply_cors(const Config& config, std::string_view request_origin, Response& res);

}  // namespace server::http_api
