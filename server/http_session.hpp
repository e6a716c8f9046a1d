#pragma once
// The HTTP stage of a connection: reads requests with Beast (keep-alive, bounded header and body
// sizes, a deadline per request), serves the HTTP API and health routes, and hands WebSocket
// upgrades on /app/{key} to a WsSession on the same worker.
// The same code serves plain TCP (beast::tcp_stream) and TLS (TlsStream): with TLS, run() does
// the handshake first (bounded by handshake_timeout) and the upgrade hands the SSL state to the
// WebSocket session (TlsChannel).
// Threading: runs on the worker that owns the socket.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "server/net.hpp"
#include "server/tls.hpp"

namespace server {

class Worker;

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  /// Plain: (worker, socket). TLS: (worker, socket, ssl context).
  template <class... Ctx>
  HttpSession(Worker& worker, tcp::socket socket, Ctx&... ctx)
      : worker_(worker), stream_(std::move(socket), ctx...) {}
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;

  void run();
  /// Before run(): bytes of the connection that were already read (by the fast accept path);
  /// they are parsed before anything else is read from the socket.
  void preload(std::string_view bytes);
  /// Instead of run(): answers with `res` (CORS for `origin`) and closes after it.
  void reply(Response res, std::string origin);

 private:
  static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;
  [[nodiscard]] beast::tcp_stream& tcp() noexcept { return beast::get_lowest_layer(stream_); }
  void on_handshake(const boost::system::error_code& ec);
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
  /// The peer's address ("" when the socket has no peer any more); asked once per connection.
  [[nodiscard]] const std::string& remote();

  Worker& worker_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::shared_ptr<http::response<http::empty_body>> continue_;
  std::string origin_;  ///< Origin header of the request being answered (for CORS)
  std::string remote_;  ///< the peer's address, once remote() asked for it
  bool remote_known_ = false;
};

using PlainHttpSession = HttpSession<beast::tcp_stream>;
using TlsHttpSession = HttpSession<TlsStream>;
extern template class HttpSession<beast::tcp_stream>;
extern template class HttpSession<TlsStream>;

}  // namespace server
