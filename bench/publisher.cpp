#include "bench/publisher.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "auth/api_request.hpp"
#include "bench/io.hpp"
#include "bench/sysinfo.hpp"
#include "bench/wire.hpp"

namespace bench {

enum class HttpState : std::uint8_t { closed, connecting, ready, busy };

struct Publisher::Conn final : Io {
  Publisher* p = nullptr;
  int fd = -1;
  HttpState st = HttpState::closed;
  std::string out;
  std::string in;
  std::vector<std::uint32_t> chans;  ///< channel of each event of the call in flight
  std::uint64_t t_sent = 0;
  std::uint64_t t_idle = 0;  ///< when it last became ready (idle since)
  void on_io(std::uint32_t events) override { p->on_conn_io(*this, events); }
};

Publisher::Publisher(Loop& loop, PublishConfig cfg) : loop_(loop), cfg_(std::move(cfg)) {
  seq_.assign(cfg_.channels.size(), 0);
  acked_.assign(cfg_.channels.size(), 0);
  host_header_ = cfg_.host + ":" + std::to_string(cfg_.port);
  events_path_ = "/apps/" + cfg_.app_id + "/events";
  batch_path_ = "/apps/" + cfg_.app_id + "/batch_events";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(cfg_.port);
  inet_pton(AF_INET, cfg_.host.c_str(), &a.sin_addr);
  std::memcpy(dst_, &a, sizeof a);
  const std::uint32_t n = cfg_.max ? cfg_.inflight : cfg_.max_conns;
  for (std::uint32_t i = 0; i < n; ++i) {
    conns_.push_back(std::make_unique<Conn>());
    conns_.back()->p = this;
  }
}

Publisher::~Publisher() {
  if (tick_) loop_.cancel(tick_);
  for (auto& c : conns_) {
    if (c->fd >= 0) {
      loop_.del(c->fd);
      io::close(c->fd);
    }
  }
}

void Publisher::prepare() {
  const std::size_t first = cfg_.max ? conns_.size() : std::min<std::size_t>(4, conns_.size());
  for (std::size_t i = 0; i < first; ++i) open(*conns_[i]);
}

void Publisher::start() {
  running_ = true;
  t0_ = mono_ns();
  calls_issued_ = 0;
  if (!tick_) tick_ = loop_.every(1'000'000, [this] { pump(); });
  pump();
}

void Publisher::stop() {
  running_ = false;
  if (tick_) loop_.cancel(tick_);
  tick_ = 0;
}

void Publisher::open(Conn& c) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ++stats_.conn_errors;
    return;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(dst_), sizeof(sockaddr_in)) != 0 &&
      errno != EINPROGRESS) {
    io::close(fd);
    ++stats_.conn_errors;
    return;
  }
  if (std::string err; !io::start(fd, 10'000, err)) {
    io::close(fd);
    ++stats_.conn_errors;
    if (stats_.conn_errors <= 3)
      std::fprintf(stderr, "pushcore-bench: publisher %s\n", err.c_str());
    return;
  }
  c.fd = fd;
  c.st = HttpState::connecting;
  c.in.clear();
  c.out.clear();
  ++connecting_;
  ++stats_.connects;
  loop_.add(fd, EPOLLOUT, &c);
}

void Publisher::close_conn(Conn& c, bool error) {
  if (c.fd < 0) return;
  loop_.del(c.fd);
  io::close(c.fd);
  c.fd = -1;
  if (c.st == HttpState::connecting) --connecting_;
  if (c.st == HttpState::ready) std::erase(ready_, &c);
  if (c.st == HttpState::busy) {
    --busy_;
    // The call's fate is unknown: the server may or may not have published it.
    stats_.events_failed += c.chans.size();
    c.chans.clear();
  }
  if (error) ++stats_.conn_errors;
  c.st = HttpState::closed;
}

void Publisher::on_conn_io(Conn& c, std::uint32_t events) {
  if (c.fd < 0) return;
  if (c.st == HttpState::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    --connecting_;
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      c.st = HttpState::closed;
      loop_.del(c.fd);
      io::close(c.fd);
      c.fd = -1;
      ++stats_.conn_errors;
      if (stats_.conn_errors <= 3) {
        std::fprintf(stderr, "pushcore-bench: publisher connect: %s\n",
                     std::strerror(err ? err : ECONNRESET));
      }
      return;
    }
    c.st = HttpState::ready;
    loop_.mod(c.fd, EPOLLIN, &c);
    on_ready(c);
    return;
  }
  if ((events & EPOLLOUT) && !c.out.empty()) {
    const ssize_t n = io::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
      close_conn(c, true);
      return;
    }
    if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
    if (c.out.empty()) loop_.mod(c.fd, EPOLLIN, &c);
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  char buf[16384];
  const ssize_t n = io::recv(c.fd, buf, sizeof buf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    close_conn(c, true);
    return;
  }
  if (n == 0) {
    // EOF. A response delimited by the close is complete now; otherwise the call is lost.
    HttpResponse r;
    if (c.st == HttpState::busy && parse_http_response(c.in, r) == 0 && r.status != 0 && r.close) {
      on_response(c, r.status, {}, true);
      return;
    }
    close_conn(c, c.st == HttpState::busy);
    return;
  }
  c.in.append(buf, static_cast<std::size_t>(n));
  HttpResponse r;
  const long k = parse_http_response(c.in, r);
  if (k == 0) return;
  if (k < 0 || c.st != HttpState::busy) {
    close_conn(c, true);
    return;
  }
  const std::string body(r.body);
  c.in.erase(0, static_cast<std::size_t>(k));
  on_response(c, r.status, body, r.close);
}

void Publisher::on_response(Conn& c, int status, std::string_view body, bool close) {
  stats_.api_latency.record(mono_ns() - c.t_sent);
  --busy_;
  if (status >= 200 && status < 300) {
    for (std::uint32_t ch : c.chans) ++acked_[ch];
    stats_.events_acked += c.chans.size();
  } else {
    ++stats_.http_errors;
    stats_.events_failed += c.chans.size();
    if (stats_.http_errors <= 3) {
      std::fprintf(stderr, "pushcore-bench: publish answered HTTP %d: %.*s\n", status,
                   static_cast<int>(std::min<std::size_t>(body.size(), 200)), body.data());
    }
  }
  c.chans.clear();
  if (close) {
    c.st = HttpState::ready;  // so close_conn doesn't count the call again
    ready_.push_back(&c);
    close_conn(c, false);
    // Reconnect right away: the next call should not pay for the handshake.
    if (running_) open(c);
    return;
  }
  c.st = HttpState::ready;
  on_ready(c);
}

void Publisher::on_ready(Conn& c) {
  c.t_idle = mono_ns();
  ready_.push_back(&c);
  if (running_) pump();
}

void Publisher::issue(Conn& c) {
  const std::uint32_t n = std::max<std::uint32_t>(1, cfg_.batch);
  const std::uint32_t nch = static_cast<std::uint32_t>(cfg_.channels.size());
  std::string body;
  c.chans.clear();
  const std::uint64_t now = mono_ns();
  if (n > 1) body = "{\"batch\":[";
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto ch = static_cast<std::uint32_t>(next_event_++ % nch);
    const std::uint64_t nums[2] = {static_cast<std::uint64_t>(++seq_[ch]), now};
    const std::string marker = make_marker('B', nums, 2, cfg_.payload);
    if (i > 0) body.push_back(',');
    body += publish_body(cfg_.event, cfg_.channels[ch], marker);
    c.chans.push_back(ch);
  }
  if (n > 1) body += "]}";
  const std::string& path = n > 1 ? batch_path_ : events_path_;
  const std::string query = auth::build_signed_query(
      cfg_.app_key, cfg_.app_secret, "POST", path, body, static_cast<std::int64_t>(time(nullptr)));
  std::string req;
  req.reserve(path.size() + query.size() + body.size() + 160);
  req += "POST ";
  req += path;
  req.push_back('?');
  req += query;
  req += " HTTP/1.1\r\nHost: ";
  req += host_header_;
  req += "\r\nContent-Type: application/json\r\nContent-Length: ";
  req += std::to_string(body.size());
  req += "\r\n\r\n";
  req += body;
  c.st = HttpState::busy;
  ++busy_;
  ++stats_.calls;
  stats_.events_sent += n;
  c.t_sent = now;
  const ssize_t w = io::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
  if (w == static_cast<ssize_t>(req.size())) return;
  if (w < 0 && errno != EAGAIN) {
    close_conn(c, true);
    return;
  }
  c.out = req.substr(w < 0 ? 0 : static_cast<std::size_t>(w));
  loop_.mod(c.fd, EPOLLIN | EPOLLOUT, &c);
}

Publisher::Conn* Publisher::take_ready() {
  // Like HTTP client pools: a connection idle for longer than servers commonly keep idle ones
  // (Beast-based servers use their request deadline, e.g. 10 s) is closed rather than reused,
  // so a call never races the server closing it (a lost call, counted as a failure).
  constexpr std::uint64_t max_idle_ns = 4'000'000'000;
  const std::uint64_t now = mono_ns();
  while (!ready_.empty()) {
    Conn* c = ready_.back();
    ready_.pop_back();
    if (now - c->t_idle <= max_idle_ns) return c;
    c->st = HttpState::closed;
    loop_.del(c->fd);
    io::close(c->fd);
    c->fd = -1;
  }
  return nullptr;
}

void Publisher::pump() {
  if (!running_) return;
  if (cfg_.max) {
    for (auto& c : conns_) {
      if (c->st == HttpState::closed) open(*c);
    }
    while (!ready_.empty() && (!cfg_.may_publish || cfg_.may_publish())) {
      Conn* c = take_ready();
      if (c == nullptr) break;
      issue(*c);
    }
    return;
  }
  const double calls_per_s = cfg_.events_per_s / std::max<std::uint32_t>(1, cfg_.batch);
  const double elapsed = static_cast<double>(mono_ns() - t0_) / 1e9;
  auto due = static_cast<std::int64_t>(std::floor(elapsed * calls_per_s)) -
             static_cast<std::int64_t>(calls_issued_);
  while (due > 0 && !ready_.empty()) {
    Conn* c = take_ready();
    if (c == nullptr) break;
    issue(*c);
    ++calls_issued_;
    --due;
  }
  if (due <= 0) return;
  stats_.behind_max = std::max<std::uint64_t>(stats_.behind_max, static_cast<std::uint64_t>(due));
  // All connections busy: open more (each becomes ready after its handshake).
  std::int64_t want = due - static_cast<std::int64_t>(connecting_);
  for (auto& c : conns_) {
    if (want <= 0) break;
    if (c->st == HttpState::closed) {
      open(*c);
      --want;
    }
  }
}

}  // namespace bench
