#include "server/http_session.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <cstring>

#include "server/client_address.hpp"
#include "server/http_api.hpp"
#include "server/upgrade.hpp"
#include "server/worker.hpp"
#include "server/ws_session.hpp"

namespace server {

namespace {
constexpr std::size_t max_header_bytes = 16 * 1024;  // request line + headers
}  // namespace

template <class Stream>
void HttpSession<Stream>::run() {
  // API answers are single small writes; don't let Nagle hold them behind a delayed ACK.
  boost::system::error_code nd;
  tcp().socket().set_option(net::ip::tcp::no_delay(true), nd);
  if constexpr (tls) {
    // The handshake has the same deadline as one request.
    tcp().expires_after(worker_.hub().config().handshake_timeout);
    stream_.async_handshake(net::ssl::stream_base::server,
                            [self = this->shared_from_this()](const boost::system::error_code& ec) {
                              self->on_handshake(ec);
                            });
  } else {
    do_read();
  }
}

template <class Stream>
void HttpSession<Stream>::preload(std::string_view bytes) {
  auto dst = buffer_.prepare(bytes.size());
  std::memcpy(dst.data(), bytes.data(), bytes.size());
  buffer_.commit(bytes.size());
}

template <class Stream>
void HttpSession<Stream>::reply(Response res, std::string origin) {
  origin_ = std::move(origin);
  send(std::move(res));
}

template <class Stream>
void HttpSession<Stream>::on_handshake(const boost::system::error_code& ec) {
  if (ec) {
    // A plain-text client, an old protocol version, a timeout: no answer is possible in TLS
    // terms; close the socket (counted, logged once per burst).
    std::string remote;
    boost::system::error_code rec;
    const auto ep = tcp().socket().remote_endpoint(rec);
    if (!rec) remote = ep.address().to_string();
    note_tls_handshake_failure(ec, remote);
    tcp().close();
    return;
  }
  do_read();
}

template <class Stream>
void HttpSession<Stream>::do_read() {
  const Config& cfg = worker_.hub().config();
  parser_.emplace();
  parser_->header_limit(max_header_bytes);
  parser_->body_limit(cfg.http_request_limit_bytes());
  // One deadline covers headers and body: slow clients cannot hold the connection open.
  tcp().expires_after(cfg.handshake_timeout);
  origin_.clear();
  // Headers first, so `Expect: 100-continue` can be answered before the client sends the body.
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                            std::size_t) { self->on_header(ec); });
}

template <class Stream>
void HttpSession<Stream>::on_header(const boost::system::error_code& ec) {
  if (ec) {
    on_read(ec, 0);
    return;
  }
  const auto& req = parser_->get();
  origin_ = std::string(req[http::field::origin]);
  if (beast::iequals(req[http::field::expect], "100-continue") && !parser_->is_done()) {
    continue_ =
        std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
    http::async_write(
        stream_, *continue_,
        [self = this->shared_from_this()](const boost::system::error_code& e, std::size_t) {
          self->continue_.reset();
          if (e) {
            self->do_close();
            return;
          }
          self->read_body();
        });
    return;
  }
  // Usually the body came in the same segment as the headers: parse what is buffered now and
  // handle the request in this handler turn. A second async_read would complete through a post,
  // letting the worker flush between publishes that arrived together (smaller write batches).
  if (!parser_->is_done() && buffer_.size() > 0) {
    boost::system::error_code pec;
    parser_->eager(true);
    const std::size_t used = parser_->put(buffer_.data(), pec);
    buffer_.consume(used);
    if (pec && pec != http::error::need_more) {
      on_read(pec, 0);
      return;
    }
  }
  if (parser_->is_done()) {
    on_read({}, 0);
    return;
  }
  read_body();
}

template <class Stream>
void HttpSession<Stream>::read_body() {
  http::async_read(stream_, buffer_, *parser_,
                   [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                     std::size_t n) { self->on_read(ec, n); });
}

template <class Stream>
void HttpSession<Stream>::on_read(const boost::system::error_code& ec, std::size_t) {
  if (ec == beast::error::timeout && parser_ && parser_->got_some()) {
    // Slowloris: a request started but not completed within handshake_timeout. (An idle
    // keep-alive connection timing out between requests is normal and not counted.)
    worker_.abuse().note(AbuseKind::request_timeout, {{"remote", remote()}});
  }
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::ssl::error::stream_truncated) {
    do_close();
    return;
  }
  if (ec == http::error::body_limit) {
    worker_.abuse().note(AbuseKind::body_too_large, {{"remote", remote()}});
    send(http_api::error_response(ApiError::body_too_large, 11, false));
    return;
  }
  if (ec == http::error::header_limit) {
    worker_.abuse().note(AbuseKind::header_too_large, {{"remote", remote()}});
    send(http_api::error_response(ApiError::header_too_large, 11, false));
    return;
  }
  if (ec) {
    worker_.abuse().note(AbuseKind::malformed_request,
                         {{"remote", remote()}, {"error", ec.message()}});
    send(http_api::error_response(ApiError::malformed_request, 11, false));
    return;
  }
  Request req = parser_->release();
  const std::string_view target = req.target();
  // Every /app/... request is a WebSocket route: upgrade() answers 405 / 400 for non-upgrades.
  if (is_websocket_route(target.substr(0, target.find('?')), worker_.hub().config().path_prefix)) {
    upgrade(req);
    return;
  }
  // The response may come later (a cluster query): the callback keeps this session alive until
  // then and nothing is read meanwhile, so pipelined requests are answered in order. A client
  // that went away is noticed when the response is written (bounded by the query's timeout).
  http_api::handle(worker_, req, remote(),
                   [self = this->shared_from_this()](Response res) { self->send(std::move(res)); });
}

template <class Stream>
void HttpSession<Stream>::upgrade(Request& req) {
  UpgradeRequest up;
  up.get = req.method() == http::verb::get;
  up.is_upgrade = beast::websocket::is_upgrade(req);
  up.http_version = req.version();
  up.target = req.target();
  up.key = req[http::field::sec_websocket_key];
  up.version = req[http::field::sec_websocket_version];
  up.origin = req[http::field::origin];
  const std::string xff = forwarded_for(req);
  up.forwarded_for = xff;
  auto decision = decide_upgrade(worker_, up, remote());
  if (auto* refusal = std::get_if<UpgradeResponse>(&decision)) {
    send(std::move(*refusal));
    return;
  }
  UpgradeInfo info = std::move(std::get<UpgradeInfo>(decision));

  // Hand the socket (and any bytes read past the request) to the WebSocket session; it owns
  // its own deadlines from here on.
  tcp().expires_never();
  const auto data = buffer_.data();
  const std::string leftover(static_cast<const char*>(data.data()), data.size());
  std::shared_ptr<WsSession> session;
  if constexpr (tls) {
    auto channel = TlsChannel::adopt(stream_);
    if (!channel) {
      tcp().close();
      return;
    }
    session = std::make_shared<WsSession>(worker_, tcp().release_socket(), std::move(channel));
  } else {
    session = std::make_shared<WsSession>(worker_, tcp().release_socket());
  }
  session->start(std::move(info), leftover);
}

template <class Stream>
const std::string& HttpSession<Stream>::remote() {
  if (!remote_known_) {
    boost::system::error_code ec;
    const auto ep = tcp().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    remote_known_ = !ec;
  }
  return remote_;
}

template <class Stream>
void HttpSession<Stream>::send(Response res) {
  // CORS on every response, errors raised before routing included.
  http_api::apply_cors(worker_.hub().config(), origin_, res);
  const bool keep_alive = res.keep_alive();
  response_ = std::make_shared<Response>(std::move(res));
  tcp().expires_after(worker_.hub().config().handshake_timeout);
  http::async_write(
      stream_, *response_,
      [self = this->shared_from_this(), keep_alive](
          const boost::system::error_code& ec, std::size_t) { self->on_write(keep_alive, ec); });
}

template <class Stream>
void HttpSession<Stream>::on_write(bool keep_alive, const boost::system::error_code& ec) {
  response_.reset();
  if (ec) {
    do_close();
    return;
  }
  if (!keep_alive) {
    lingering_close();
    return;
  }
  do_read();
}

template <class Stream>
void HttpSession<Stream>::lingering_close() {
  // The client may still be sending a body we refused (413): closing with unread data would
  // reset the connection and destroy the response before the client reads it. Half-close, then
  // discard input until EOF, bounded by the request deadline.
  boost::system::error_code ec;
  tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  tcp().expires_after(worker_.hub().config().handshake_timeout);
  drain();
}

template <class Stream>
void HttpSession<Stream>::drain() {
  buffer_.clear();
  // Raw bytes are discarded: with TLS there is nothing to decrypt any more.
  tcp().async_read_some(
      buffer_.prepare(4096),
      [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
        if (ec) {
          self->tcp().close();
          return;
        }
        self->drain();
      });
}

template <class Stream>
void HttpSession<Stream>::do_close() {
  boost::system::error_code ec;
  tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  tcp().close();
}

template class HttpSession<beast::tcp_stream>;
template class HttpSession<TlsStream>;

}  // namespace server
