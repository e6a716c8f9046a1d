#include "server/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "server/http_session.hpp"
#include "server/log.hpp"
#include "server/worker.hpp"

namespace server {

namespace {
// Accepts per readiness report: a burst is spread over turns, so accepting never starves the
// connections already being served (the descriptor is level-triggered: the rest is reported
// again at the next harvest).
constexpr int accepts_per_turn = 64;

std::string peer_address(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    if (::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text) == nullptr) return {};
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text) == nullptr) return {};
  }
  return text;
}

/// A descriptor in flight to another worker: closed if the handler never runs (shutdown).
struct OwnedFd {
  int fd = -1;
  explicit OwnedFd(int f) noexcept : fd(f) {}
  OwnedFd(OwnedFd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  OwnedFd& operator=(OwnedFd&&) = delete;
  ~OwnedFd() {
    if (fd >= 0) ::close(fd);
  }
  int release() noexcept {
    const int f = fd;
    fd = -1;
    return f;
  }
};
}  // namespace

Listener::Listener(Hub& hub, const std::string& host, std::uint16_t port, TlsContext* tls)
    : hub_(hub),
      tls_(tls),
      acceptor_(hub.workers().front()->ioc()),
      retry_timer_(hub.workers().front()->ioc()) {
  const tcp::endpoint ep{net::ip::make_address(host), port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  if (tls_ == nullptr) {
    // Accepted sockets inherit TCP_NODELAY from the listener on Linux: one setsockopt here
    // instead of one per connection (pusher frames are small; never wait for Nagle). The HTTP
    // API connections handed to Beast get the same options.
    acceptor_.set_option(tcp::no_delay(true));
    // So is the send buffer size (the slow-consumer budget assumes this kernel buffer).
    if (const std::uint64_t kb = hub.config().send_socket_buffer_kb; kb != 0) {
      acceptor_.set_option(net::socket_base::send_buffer_size(static_cast<int>(kb * 1024)));
    }
  }
  acceptor_.bind(ep);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  ipv6_ = ep.protocol() == tcp::v6();
  if (tls_ == nullptr) {
    fd_ = acceptor_.release();
    const int flags = ::fcntl(fd_, F_GETFL, 0);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      throw std::system_error(err, std::generic_category(), "fcntl(O_NONBLOCK)");
    }
  }
}

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
}

void Listener::start() {
  net::post(retry_timer_.get_executor(), [this] {
    if (tls_ != nullptr) {
      do_accept();
    } else {
      watch();
    }
  });
}

void Listener::stop() {
  net::post(retry_timer_.get_executor(), [this] {
    retry_timer_.cancel();
    if (fd_ >= 0) {
      hub_.workers().front()->unwatch(fd_);
      ::close(fd_);
      fd_ = -1;
    }
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
}

void Listener::watch() {
  if (fd_ < 0) return;
  if (!hub_.workers().front()->watch_listener(fd_, this)) {
    log::error("listen_watch_failed", {{"error", std::strerror(errno)}});
  }
}

void Listener::on_ready() {
  auto& workers = hub_.workers();
  for (int i = 0; i < accepts_per_turn && fd_ >= 0; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd =
        ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // EMFILE and friends: the level-triggered descriptor would report again at once, so
      // stop watching it, back off briefly, then accept again.
      log::warn("accept_failed", {{"error", std::strerror(errno)}});
      workers.front()->unwatch(fd_);
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e) watch();
      });
      return;
    }
    const bool v6 = ss.ss_family == AF_INET6;
    Worker& target = *workers[next_worker_++ % workers.size()];
    if (&target == workers.front().get()) {
      target.adopt_connection(fd, v6, peer_address(ss));
    } else {
      net::post(target.ioc(),
                [&target, owned = OwnedFd(fd), v6, remote = peer_address(ss)]() mutable {
                  target.adopt_connection(owned.release(), v6, std::move(remote));
                });
    }
  }
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
        }
        net::post(target.ioc(), [this, &target, s = std::move(socket)]() mutable {
          std::make_shared<TlsHttpSession>(target, std::move(s), tls_->context())->run();
        });
        do_accept();
      });
}

}  // namespace server
