#include "server/oneshot_http.hpp"

#include <memory>

namespace server {

namespace {

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(tcp::socket socket, std::shared_ptr<const OneShotHttpServer::Handler> handler)
      : stream_(std::move(socket)), handler_(std::move(handler)) {}

  void run() {
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, req_,
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       if (!ec) self->respond();
                     });
  }

 private:
  void respond() {
    res_.version(req_.version());
    (*handler_)(req_, res_);
    res_.keep_alive(false);
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      [self = shared_from_this()](const boost::system::error_code&, std::size_t) {
                        boost::system::error_code ec;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                      });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<const OneShotHttpServer::Handler> handler_;
  beast::flat_buffer buffer_;
  OneShotHttpServer::Request req_;
  OneShotHttpServer::Response res_;
};

}  // namespace

OneShotHttpServer::OneShotHttpServer(net::io_context& ioc, const std::string& host,
                                     std::uint16_t port, Handler handler)
    : acceptor_(ioc), handler_(std::make_shared<const Handler>(std::move(handler))) {
  const tcp::endpoint ep{net::ip::make_address(host), port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
}

void OneShotHttpServer::start() {
  net::post(acceptor_.get_executor(), [this] { do_accept(); });
}

void OneShotHttpServer::stop() {
  net::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
}

void OneShotHttpServer::do_accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (!ec) std::make_shared<Exchange>(std::move(socket), handler_)->run();
    do_accept();
  });
}

std::string https_location(std::string_view host_header, std::string_view target,
                           std::uint16_t https_port) {
  std::string_view host = host_header;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    host = close == std::string_view::npos ? std::string_view{} : host.substr(0, close + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  // A Host is a reg-name or IP literal: nothing that could break out of the Location header.
  const bool sane = !host.empty() && host.find_first_of(" \t\r\n/\\@?#") == std::string_view::npos;
  std::string out = "https://";
  out.append(sane ? host : std::string_view("localhost"));
  out.append(":").append(std::to_string(https_port));
  if (target.empty() || target.front() != '/') {
    out.push_back('/');
  } else {
    out.append(target);
  }
  return out;
}

}  // namespace server
