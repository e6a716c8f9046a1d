#include "server/handshake.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "server/http_api.hpp"
#include "server/http_session.hpp"
#include "server/worker.hpp"
#include "server/ws_session.hpp"

namespace server {

namespace {
// Heads up to this size are read here; longer ones go to Beast (limit 16 KiB, answered 431).
constexpr std::size_t fast_head_limit = 8 * 1024;
}  // namespace

Handshake::Handshake(Worker& worker, int fd, bool ipv6, std::string remote)
    : worker_(worker),
      fd_(fd),
      ipv6_(ipv6),
      remote_(std::move(remote)),
      deadline_(Clock::now() + worker.hub().config().handshake_timeout) {}

Handshake::~Handshake() {
  if (fd_ >= 0) ::close(fd_);  // also leaves the epoll set
}

void Handshake::start() {
  read();
}

void Handshake::on_io(std::uint32_t) {
  if (done_) return;
  read();
}

void Handshake::on_sweep(Clock::time_point now) {
  if (done_ || now < deadline_) return;
  // Slowloris: a request started but not completed in time (an idle socket is just closed).
  if (!buf_.empty()) worker_.abuse().note(AbuseKind::request_timeout, {{"remote", remote_}});
  close();
}

void Handshake::read() {
  auto& scratch = worker_.scratch();
  char* const chunk = reinterpret_cast<char*>(scratch.data());
  for (;;) {
    const ssize_t rc = ::recv(fd_, chunk, scratch.size(), 0);
    if (rc < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      close();  // reset
      return;
    }
    if (rc == 0) {
      // EOF. A partial request is Beast's to judge (it reads the EOF itself and answers).
      if (buf_.empty()) {
        close();
      } else {
        to_http(buf_);
      }
      return;
    }
    // Usually the whole head arrives in one read: parse it in place, without a copy.
    std::string_view data(chunk, static_cast<std::size_t>(rc));
    if (!buf_.empty()) {
      buf_.append(data);
      data = buf_;
    }
    const auto head = protocol::parse_upgrade_head(data, fast_head_limit);
    if (head.status == protocol::UpgradeHead::Status::complete) {
      finish(head, data);
      return;
    }
    if (head.status == protocol::UpgradeHead::Status::other) {
      to_http(data);
      return;
    }
    if (buf_.empty()) buf_.assign(data);
  }
  // The head is incomplete and nothing more is waiting: wait for the rest.
  if (!watched_) {
    if (!worker_.watch_handshake(fd_, this)) {
      close();
      return;
    }
    watched_ = true;
  }
}

void Handshake::finish(const protocol::UpgradeHead& head, std::string_view data) {
  const auto path = head.target.substr(0, head.target.find('?'));
  if (!is_websocket_route(path, worker_.hub().config().path_prefix)) {
    to_http(data);  // an HTTP API GET (or health, metrics...): Beast answers it
    return;
  }
  UpgradeRequest up;
  up.get = true;
  up.is_upgrade = head.is_upgrade;
  up.http_version = 11;
  up.target = head.target;
  up.key = head.key;
  up.version = head.version;
  up.origin = head.origin;
  up.forwarded_for = head.forwarded_for;
  auto decision = decide_upgrade(worker_, up, remote_);
  if (auto* refusal = std::get_if<UpgradeResponse>(&decision)) {
    to_http(data, std::move(*refusal), head.origin);
    return;
  }
  // The session takes the descriptor (and any frames sent right behind the head).
  const int fd = fd_;
  fd_ = -1;
  auto session = std::make_shared<WsSession>(worker_, fd, watched_);
  const std::string leftover(data.substr(head.head_size));
  done();
  session->start(std::move(std::get<UpgradeInfo>(decision)), leftover);
}

void Handshake::to_http(std::string_view data, std::optional<UpgradeResponse> reply,
                        std::string_view origin) {
  // Beast takes over the descriptor: out of our epoll set, into Asio's reactor.
  if (watched_) worker_.unwatch(fd_);
  const int fd = fd_;
  fd_ = -1;
  boost::system::error_code ec;
  tcp::socket socket(worker_.ioc());
  socket.assign(ipv6_ ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    done();
    return;
  }
  auto http = std::make_shared<PlainHttpSession>(worker_, std::move(socket));
  if (reply) {
    http->reply(std::move(*reply), std::string(origin));
  } else {
    http->preload(data);
    http->run();
  }
  done();
}

void Handshake::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  done();
}

void Handshake::done() {
  if (done_) return;
  done_ = true;
  worker_.end_handshake(this);
}

}  // namespace server
