#pragma once
// The HTTP stage of a connection: reads requests with Beast (keep-alive, bounded header and body
// sizes, a deadline per request), serves the HTTP API and health routes, and hands WebSocket
// upgrades on /app/{key} to a WsSession on the same worker.
// Threading: runs on the worker that owns the socket.

#include <memory>
#include <optional>
#include <string>

#include "server/net.hpp"

namespace server {

class Worker;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Worker& worker, tcp::socket socket);
  void run();

 private:
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;

  void do_read();
  void on_header(const boost::system::error_code& ec);
  void read_body();
  void on_read(const boost::system::error_code& ec, std::size_t bytes);
  void upgrade(Request& req);
  void send(Response res);
  void on_write(bool keep_alive, const boost::system::error_code& ec);
  void do_close();
  void lingering_close();
  void drain();
  /// The peer's address ("" when the socket has no peer any more).
  [[nodiscard]] std::string remote();

  Worker& worker_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::shared_ptr<http::response<http::empty_body>> continue_;
  std::string origin_;  ///< Origin header of the request being answered (for CORS)
};

}  // namespace server
