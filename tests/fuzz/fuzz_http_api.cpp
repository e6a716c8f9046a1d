// libFuzzer target: HTTP API request handling (server/http_api.cpp through auth/api_request.*):
// route and path splitting, percent-decoding, query parsing, signature verification, JSON body
// parsing and validation of /events and /batch_events, channel queries, terminate, health.
// Fields (NUL-separated): flags, target, body. Flags bit 0 = POST (else GET); bit 1 = replace the
// query with a valid signature over the fuzzed path and body, so the body parsers behind the
// signature check are reached. Runs on a real Hub (one worker, no sockets); the handler's
// publishes are delivered to that worker inline (it has no sessions).

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/api_request.hpp"
#include "server/config.hpp"
#include "server/http_api.hpp"
#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/worker.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

std::unique_ptr<server::Hub> make_hub() {
  std::vector<std::string> warnings;
  server::Config cfg = server::parse_config(R"({
    "workers": 1, "metrics": {"enabled": false},
    "app_manager": {"array": {"apps": [{"id": "app-id", "key": "app-key", "secret": "app-secret",
      "policy": {"limits": {"max_backend_events_per_second": 1000000,
                            "max_read_requests_per_second": 1000000}}}]}}})",
                                            nullptr, warnings);
  return std::make_unique<server::Hub>(std::move(cfg));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::unique_ptr<server::Hub> hub;
  static unsigned runs = 0;
  if (!hub || ++runs % 20000 == 0) {
    server::log::set_level("error");  // denied requests log a warning each
    hub.reset();
    hub = make_hub();  // fresh registry: bounded memory over millions of runs (cache channels)
  }
  const auto f = fuzz::split_fields(data, size, 3);
  const std::uint8_t flags = f[0].empty() ? 0 : static_cast<std::uint8_t>(f[0][0]);
  const bool post = (flags & 1) != 0;
  std::string target(f[1]);
  const std::string_view body = f[2];
  if ((flags & 2) != 0) {
    const std::string path = target.substr(0, target.find('?'));
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    target = path + "?" +
             auth::build_signed_query("app-key", "app-secret", post ? "POST" : "GET", path,
                                      post ? body : std::string_view{}, now);
  }
  server::http_api::Request req;
  req.method(post ? http::verb::post : http::verb::get);
  req.target(target);
  req.version(11);
  req.set(http::field::content_type, "application/json");
  if (post) req.body() = std::string(body);
  req.prepare_payload();
  server::Worker& worker = *hub->workers().front();
  std::optional<server::http_api::Response> res;
  server::http_api::handle(worker, req, "127.0.0.1", [&res](server::http_api::Response r) {
    if (res) std::abort();  // answered twice
    res = std::move(r);
  });
  worker.ioc().poll();     // run anything the handler posted (query answers included)
  if (!res) std::abort();  // never answered
  if (res->result_int() >= 500) std::abort();  // a handler bug, never an input problem
  return 0;
}
