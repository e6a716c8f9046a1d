#pragma once
// The HTTP responses of the main port: the request/response types, the Sockudo-shaped JSON
// error of a refusal (server/errors.hpp, ApiError), the rate limiter's 429, and the small
// builders every route uses. No routing here (server/http_api.hpp).

#include <functional>
#include <string>
#include <string_view>

#include "server/errors.hpp"
#include "server/net.hpp"
#include "server/rate_limit.hpp"

namespace server::http_api {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
/// Receives the response to one request, on the worker's thread.
using Responder = std::function<void(Response)>;

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

/// A response with `body`, its content type, and the request's version and keep-alive.
[[nodiscard]] Response make_response(const ReplyTo& req, http::status status, std::string body,
                                     std::string_view content_type);
/// 200 with a JSON body.
[[nodiscard]] Response json_ok(const ReplyTo& req, std::string body);
/// The JSON error of a refusal, for the request `req`.
[[nodiscard]] Response from_error(const ReplyTo& req, const Refusal& r);

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
