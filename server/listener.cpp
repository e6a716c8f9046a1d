#include "server/listener.hpp"

#include "server/http_session.hpp"
#include "server/log.hpp"
#include "server/worker.hpp"

namespace server {

Listener::Listener(Hub& hub, const std::string& host, std::uint16_t port, TlsContext* tls)
    : hub_(hub),
      tls_(tls),
      acceptor_(hub.workers().front()->ioc()),
      retry_timer_(acceptor_.get_executor()) {
  const tcp::endpoint ep{net::ip::make_address(host), port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
}

void Listener::start() {
  net::post(acceptor_.get_executor(), [this] { do_accept(); });
}

void Listener::stop() {
  net::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
}

void Listener::do_accept() {
  auto& workers = hub_.workers();
  Worker& target = *workers[next_worker_++ % workers.size()];
  // The new socket belongs to the target worker's io_context from the start.
  acceptor_.async_accept(
      target.ioc(), [this, &target](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
          // EMFILE and friends: log, back off briefly instead of spinning, then
          // keep accepting.
          log::warn("accept_failed", {{"error", ec.message()}});
          retry_timer_.expires_after(std::chrono::milliseconds(100));
          retry_timer_.async_wait([this](const boost::system::error_code& e) {
            if (!e && acceptor_.is_open()) do_accept();
          });
          return;
        } else {
          net::post(target.ioc(), [this, &target, s = std::move(socket)]() mutable {
            if (tls_ != nullptr) {
              std::make_shared<TlsHttpSession>(target, std::move(s), tls_->context())->run();
            } else {
              std::make_shared<PlainHttpSession>(target, std::move(s))->run();
            }
          });
        }
        do_accept();
      });
}

}  // namespace server
