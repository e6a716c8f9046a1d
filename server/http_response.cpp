#include "server/http_response.hpp"

#include "protocol/json.hpp"

namespace server::http_api {

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
  Response res = error_response(static_cast<http::status>(e.status), e.code,
                                error_message(error, detail), version, keep_alive);
  // The two "try again shortly" answers (Redis unreachable, an idempotent publish in flight).
  if (error == ApiError::cluster_unavailable || error == ApiError::idempotency_in_progress) {
    res.set(http::field::retry_after, "1");
  }
  return res;
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

}  // namespace server::http_api
