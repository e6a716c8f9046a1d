#pragma once
// A small plain HTTP/1.1 listener that answers one request per connection and closes it (read
// deadline 10 s, headers bounded by Beast's default 8 KB parser limit): the metrics port, and the
// http -> https redirect of `ssl.redirect_http`. Not for the main port (server/listener.hpp).
// Threading: runs on the io_context it is given; start() and stop() from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/net.hpp"

namespace server {

class OneShotHttpServer {
 public:
  using Request = http::request<http::empty_body>;
  using Response = http::response<http::string_body>;
  /// Fills `res` (status, headers, body) for `req`; version, Connection: close and the length
  /// are set by the server.
  using Handler = std::function<void(const Request& req, Response& res)>;

  /// Binds host:port on `ioc` (throws on failure; port 0 picks a free one).
  OneShotHttpServer(net::io_context& ioc, const std::string& host, std::uint16_t port,
                    Handler handler);
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  void start();
  void stop();

 private:
  void do_accept();

  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::shared_ptr<const Handler> handler_;  ///< shared with the exchanges in flight
};

/// The Location of the redirect to HTTPS (Sockudo's `ssl.redirect_http`): the request's Host
/// without its port (IPv6 literals keep their brackets), `https_port`, and the target as sent.
/// An empty or malformed Host gives "localhost".
[[nodiscard]] std::string https_location(std::string_view host_header, std::string_view target,
                                         std::uint16_t https_port);

}  // namespace server
