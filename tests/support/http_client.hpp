#pragma once
// A blocking HTTP/1.1 test client with deadlines (Beast), plus signed Pusher HTTP API calls
// (protocol.md §9.1) built with auth::build_signed_query. One keep-alive connection per client,
// reopened when the server closes it. Use from one thread at a time.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/deadline.hpp"
#include "tests/support/ws_client.hpp"

namespace test_support {

/// App credentials for signing.
struct AppCreds {
  std::string id = "app-id";
  std::string key = "app-key";
  std::string secret = "app-secret";
};

struct HttpResponse {
  int status = 0;  ///< 0 when no response arrived (see error)
  std::string body;
  Headers headers;    ///< response headers in order
  std::string error;  ///< transport error / timeout

  /// First header named `name` (case-insensitive).
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `method target` with `body` and `headers` (Host and Content-Length are added;
  /// Content-Type: application/json is added for a non-empty body unless given). Returns the
  /// response, or status 0 with `error` set on timeout/transport failure.
  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       const Headers& headers = {},
                       Deadline deadline = within(std::chrono::seconds(5)));

  /// A signed API request: `method path?<signed query>` (extra params are signed and sent).
  HttpResponse signed_request(const AppCreds& app, std::string_view method, std::string_view path,
                              std::string_view body = {},
                              const std::vector<std::pair<std::string, std::string>>& params = {},
                              Deadline deadline = within(std::chrono::seconds(5)));

  /// POST /apps/{id}/events with `body_json`, signed.
  HttpResponse publish(const AppCreds& app, std::string_view body_json,
                       Deadline deadline = within(std::chrono::seconds(5)));

 private:
  HttpResponse attempt(std::string_view method, std::string_view target, std::string_view body,
                       const Headers& headers, Deadline deadline, bool& connection_reused);
  template <class Pred>
  bool run_until(Pred pred, Deadline deadline);

  std::uint16_t port_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::beast::tcp_stream> stream_;
};

/// One-shot signed publish on a fresh connection (see HttpClient::publish).
HttpResponse publish(std::uint16_t port, std::string_view app_id, std::string_view key,
                     std::string_view secret, std::string_view body_json,
                     Deadline deadline = within(std::chrono::seconds(5)));

/// Builds a publish body: {"name":..,"channel":..|"channels":[..],"data":<data_json>
/// [,"socket_id":..]}. `data_json` is raw JSON (pass json_quote(s) for a string payload).
[[nodiscard]] std::string publish_body(std::string_view name,
                                       const std::vector<std::string>& channels,
                                       std::string_view data_json, std::string_view socket_id = {},
                                       std::string_view info = {});

}  // namespace test_support
