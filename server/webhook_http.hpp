#pragma once
// The webhook sender's HTTP/1.1 client: POSTs one prepared request to an http:// or https://
// origin with a total deadline, reusing keep-alive connections per origin. Everything runs on
// the one thread of the io_context given to it (the webhook sender thread): no locks, no strands.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace server {

/// Where a request goes.
struct WebhookOrigin {
  bool tls = false;
  std::string host;  ///< name or IP literal (IPv6 without brackets)
  std::uint16_t port = 80;
};

/// What one attempt produced: an HTTP status, or no status with an error (timeout included).
struct WebhookHttpResult {
  unsigned status = 0;  ///< 0 when no response was received
  bool timed_out = false;
  boost::system::error_code error;
  /// Short text for logs: "status 503", "timeout", or the error message.
  [[nodiscard]] std::string describe() const;
};

using WebhookRequest = boost::beast::http::request<boost::beast::http::string_body>;

class WebhookHttpClient {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(const WebhookHttpResult&)>;

  /// Uses the system's default CA paths (SSL_CERT_FILE / SSL_CERT_DIR are honoured) and
  /// verifies the peer's certificate and host name. `ioc` must outlive the client.
  explicit WebhookHttpClient(boost::asio::io_context& ioc);
  ~WebhookHttpClient();
  WebhookHttpClient(const WebhookHttpClient&) = delete;
  WebhookHttpClient& operator=(const WebhookHttpClient&) = delete;

  /// Sends `request` (fully prepared: target, headers, body, Content-Length) to `origin`.
  /// `done` is called exactly once, on the io_context's thread, never from inside send().
  /// The whole attempt (resolve, connect, TLS, write, read) must end within `timeout`. An idle
  /// keep-alive connection is reused when there is one; if it turns out to be closed by the
  /// peer before any response byte, the request is sent once more on a fresh connection.
  void send(const WebhookOrigin& origin, std::shared_ptr<const WebhookRequest> request,
            std::chrono::milliseconds timeout, Done done);

  /// Closes idle connections unused for `max_idle` (call periodically).
  void sweep_idle(Clock::time_point now, std::chrono::milliseconds max_idle);
  /// Closes every idle connection.
  void close_idle();
  [[nodiscard]] std::size_t idle_connections() const noexcept;

  struct Connection;  // internal; public only so the .cpp's helpers can name it

 private:
  friend class WebhookExchange;
  void release(const std::string& origin_key, std::unique_ptr<Connection> conn);
  std::unique_ptr<Connection> take_idle(const std::string& origin_key);

  boost::asio::io_context& ioc_;
  boost::asio::ssl::context ssl_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace server
