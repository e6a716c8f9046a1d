// Engine, part 1: population, construction, commands, connection I/O and handshakes.

#include "bench/engine.hpp"

#include <arpa/inet.h>
#include <netdb.h>
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

#include "bench/engine_conn.hpp"
#include "bench/io.hpp"
#include "bench/sysinfo.hpp"
#include "protocol/ws_frame.hpp"

namespace bench {

bool Population::is_slow(std::uint32_t g) const noexcept {
  if (slow_share <= 0 || g >= stable) return false;
  return std::floor((g + 1) * slow_share) > std::floor(g * slow_share);
}

std::uint32_t Population::stable_on(std::uint32_t c) const noexcept {
  return c < stable ? (stable - c + channels - 1) / channels : 0;
}

Population population_of(const Options& o) {
  Population p;
  p.channels = o.channels;
  switch (o.scenario) {
    case Scenario::presence:
      p.stable = o.channels * o.watchers;
      p.cyclers = o.subscribers;
      break;
    case Scenario::churn:
    case Scenario::soak:
      p.stable = o.subscribers;
      p.cyclers = o.churners;
      break;
    default:
      p.stable = o.subscribers;
      break;
  }
  if (o.scenario == Scenario::slow) p.slow_share = o.slow_share;
  return p;
}

std::uint32_t seq_window_bits(const Options& o) {
  const std::uint64_t want = 4ULL * std::max(o.inflight, o.pub_conns) * o.batch;
  std::uint32_t w = 256;
  while (w < want && w < (1u << 20)) w <<= 1;
  return w;
}

namespace {

constexpr std::array<std::uint8_t, 4> kMask{0x37, 0xfa, 0x21, 0x3d};
constexpr std::size_t kScratch = 256 * 1024;

sockaddr_in resolve(const std::string& host, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) == 1) return a;
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) == 0 && res != nullptr) {
    a.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
    freeaddrinfo(res);
  }
  return a;
}

}  // namespace

Engine::Engine(const Options& o, Loop& loop, std::uint32_t shard, std::uint32_t shards, Sink sink)
    : o_(o),
      loop_(loop),
      pop_(population_of(o)),
      shard_(shard),
      shards_(shards),
      sink_(std::move(sink)) {
  std::uint32_t n = 0;
  for (std::uint32_t g = shard_; g < pop_.total(); g += shards_) ++n;
  conns_ = std::vector<Conn>(n);
  count_ = n;
  for (std::uint32_t i = 0; i < n; ++i) {
    Conn& c = conns_[i];
    c.eng = this;
    c.g = shard_ + i * shards_;
    c.ch = pop_.channel_of(c.g);
    c.cycler = pop_.is_cycler(c.g);
    c.slow = pop_.is_slow(c.g);
  }
  for (std::uint32_t ch = 0; ch < o_.channels; ++ch) {
    channel_names_.push_back(channel_name(o_.channel_type, o_.tag, ch));
  }
  wbits_ = seq_window_bits(o_);
  seq_bits_.assign(static_cast<std::size_t>(n) * (wbits_ / 64), 0);
  if (o_.scenario == Scenario::client_events) {
    // Receivers remember the last sequence of every other talker of their channel, unless that
    // is unreasonably large (then only totals are checked).
    std::uint64_t total = 0;
    pair_off_.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      pair_off_[i] = total;
      total += pop_.stable_on(conns_[i].ch);
    }
    if (total <= (64ULL << 20)) pair_last_.assign(total, 0);
  }
  scratch_.resize(kScratch);
  joins_leaves_.assign(o_.channels, 0);
  ce_sent_.assign(o_.channels, 0);
  const std::string h = o_.host + ":" + std::to_string(o_.port);
  upgrade_tail_ = "?protocol=" + std::to_string(o_.protocol) +
                 "&client=pushcore-bench&version=1.0&flash=false HTTP/1.1\r\nHost: " + h +
                 "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                 "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  upgrade_ = "GET /app/" + o_.app_key + upgrade_tail_;
  const sockaddr_in dst = resolve(o_.host, o_.port);
  std::memcpy(&dst_, &dst, sizeof dst);
  const sockaddr_in dst2 = resolve(o_.host, o_.port2 != 0 ? o_.port2 : o_.port);
  std::memcpy(&dst2_, &dst2, sizeof dst2);
  loopback_ = (ntohl(dst.sin_addr.s_addr) >> 24) == 127;
  status_timer_ = loop_.every(50'000'000, [this] { push_status(false); });
}

const std::string& Engine::upgrade_for(const Conn& c, std::string& buf) const {
  if (o_.apps == 0) return upgrade_;
  buf = "GET /app/";
  buf += o_.app_key;
  buf += '-';
  buf += std::to_string(c.g % o_.apps);
  buf += upgrade_tail_;
  return buf;
}

Engine::~Engine() {
  loop_.cancel(status_timer_);
  if (tick_timer_) loop_.cancel(tick_timer_);
  if (drain_timer_) loop_.cancel(drain_timer_);
  for (Conn& c : conns_) {
    if (c.fd >= 0) {
      loop_.del(c.fd);
      io::close(c.fd);
    }
  }
}

void Engine::handle(std::string_view cmd) {
  const std::size_t sp = cmd.find(' ');
  const std::string_view verb = cmd.substr(0, sp);
  const std::string_view arg = sp == std::string_view::npos ? "" : cmd.substr(sp + 1);
  const std::uint64_t now = mono_ns();
  if (verb == "CONNECT") {
    t_connect_ = now;
    pump_connects();
    push_status(true);
  } else if (verb == "SUBSCRIBE") {
    subscribe_all_ = true;
    pump_subscribes();
  } else if (verb == "BEGIN") {
    win_ = Report{};
    win_deliv_ = win_slow_deliv_ = win_churn_deliv_ = win_member_ = win_ce_recv_ = 0;
    win_ce_sent_ = win_cycles_ = 0;
    lat_ = &win_.hist("lat");
    in_window_ = true;
    win_t0_ = now;
    win_cpu_ = self_cpu_ns();
  } else if (verb == "END") {
    in_window_ = false;
    Report r = std::move(win_);
    r.add("deliveries", static_cast<std::int64_t>(win_deliv_));
    r.add("slow_deliveries", static_cast<std::int64_t>(win_slow_deliv_));
    r.add("churn_deliveries", static_cast<std::int64_t>(win_churn_deliv_));
    r.add("member_events", static_cast<std::int64_t>(win_member_));
    r.add("client_events_received", static_cast<std::int64_t>(win_ce_recv_));
    r.add("client_events_sent", static_cast<std::int64_t>(win_ce_sent_));
    r.add("cycles", static_cast<std::int64_t>(win_cycles_));
    r.add("cpu_ns", static_cast<std::int64_t>(self_cpu_ns() - win_cpu_));
    r.add("wall_ns", static_cast<std::int64_t>(now - win_t0_));
    win_ = Report{};
    lat_ = &win_.hist("lat");
    sink_("WINDOW " + r.serialize());
  } else if (verb == "START") {
    start_activity(now);
  } else if (verb == "STOP") {
    active_ = false;
    stopping_ = true;
    if (tick_timer_) loop_.cancel(tick_timer_);
    tick_timer_ = 0;
    maybe_stopped();
  } else if (verb == "SLOW") {
    slow_paused_ = true;
    for (Conn& c : conns_) {
      if (!c.slow || c.fd < 0) continue;
      c.paused = true;
      update_events(c);
    }
  } else if (verb == "FINISH") {
    finish(arg);
  } else if (verb == "CLOSE") {
    for (Conn& c : conns_) {
      if (c.fd < 0) continue;
      // RST instead of FIN: no TIME_WAIT left behind on the bench side.
      linger l{1, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      loop_.del(c.fd);
      io::close(c.fd);
      c.fd = -1;
      c.st = ConnState::closed;
    }
    sink_("CLOSED");
  }
}

// ---- connection setup -------------------------------------------------------------------

void Engine::pump_connects() {
  const std::uint32_t conc = std::max<std::uint32_t>(1, o_.concurrency / shards_);
  while (inflight_ < conc && next_connect_ < conns_.size()) start_connect(conns_[next_connect_++]);
}

void Engine::pump_subscribes() {
  if (!subscribe_all_) return;
  const std::uint32_t conc = std::max<std::uint32_t>(1, o_.concurrency / shards_);
  while (subscribing_ < conc && next_subscribe_ < conns_.size()) {
    Conn& c = conns_[next_subscribe_++];
    if (!c.cycler && c.st == ConnState::open && c.sub == SubState::none) subscribe(c);
  }
}

void Engine::settle(Conn& c) {
  if (!c.pending) return;
  c.pending = false;
  --inflight_;
  pump_connects();
}

int Engine::new_socket(const Conn& c) const {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fd;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (c.slow) {
    const int rcv = static_cast<int>(o_.slow_rcvbuf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  return fd;
}

void Engine::start_connect(Conn& c) {
  c.t0 = mono_ns();
  c.st = ConnState::connecting;
  c.pending = true;
  ++inflight_;
  c.fd = new_socket(c);
  if (c.fd >= 0 && !connect_from(c.fd, c.g, true)) {
    // The explicit port is taken (another process, a wildcard listener): let the kernel pick.
    io::close(c.fd);
    c.fd = new_socket(c);
    if (c.fd >= 0 && !connect_from(c.fd, c.g, false)) {
      io::close(c.fd);
      c.fd = -1;
    }
  }
  if (c.fd < 0) {
    fail(c, std::string("connect: ") + std::strerror(errno));
    return;
  }
  if (std::string err; !io::start(c.fd, 10'000, err)) {
    fail(c, err);
    return;
  }
  // On loopback the handshake has usually completed by the time connect() returns: send the
  // upgrade request right away and skip the EPOLLOUT round (three syscalls per connection).
  std::string per_app;
  const std::string& upgrade = upgrade_for(c, per_app);
  const ssize_t n = io::send(c.fd, upgrade.data(), upgrade.size(), MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(upgrade.size())) {
    c.st = ConnState::handshake;
    loop_.add(c.fd, EPOLLIN | EPOLLRDHUP, &c);
    return;
  }
  if (n > 0) {
    c.st = ConnState::handshake;
    c.out.assign(std::string_view(upgrade).substr(static_cast<std::size_t>(n)));
    c.want_out = true;
    loop_.add(c.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &c);
    return;
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN && errno != EINTR) {
    fail(c, std::string("connect: ") + std::strerror(errno));
    return;
  }
  loop_.add(c.fd, EPOLLOUT | EPOLLRDHUP, &c);
}

bool Engine::connect_from(int fd, std::uint32_t g, bool explicit_port) {
  // Source address and port are chosen here, not by the kernel: connect()'s ephemeral port
  // search scans the used ports of the 4-tuple family linearly, which makes the bench itself
  // O(N) per connection at 15k connections. Connection g uses 127.0.0.(2 + g % K), port
  // 20000 + g / K (below the ephemeral range), with K = --src-addrs or enough addresses for
  // 12000 ports each. Connections are reset (not closed) at the end, so nothing lingers.
  const unsigned char* dst = g % 2 == 1 ? dst2_ : dst_;  // same unless --port2
  if (!loopback_) {
    return ::connect(fd, reinterpret_cast<const sockaddr*>(dst), sizeof(sockaddr_in)) == 0 ||
           errno == EINPROGRESS;
  }
  const std::uint32_t k = std::max<std::uint32_t>(o_.src_addrs, (pop_.total() + 11999) / 12000);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000002u + (g % k) % 250);
  const int one = 1;
  if (explicit_port) {
    src.sin_port = htons(static_cast<std::uint16_t>(20000 + (g / k) % 12000));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  } else {
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return false;
  return ::connect(fd, reinterpret_cast<const sockaddr*>(dst), sizeof(sockaddr_in)) == 0 ||
         errno == EINPROGRESS;
}

void Engine::fail(Conn& c, std::string_view why) {
  ++failed_;
  if (failed_ <= 5) {
    std::fprintf(stderr, "pushcore-bench: connection %u failed: %.*s\n", c.g,
                 static_cast<int>(why.size()), why.data());
  }
  totals_.add("failed_connections", 1);
  if (c.fd >= 0) {
    loop_.del(c.fd);
    io::close(c.fd);
    c.fd = -1;
  }
  c.st = ConnState::closed;
  settle(c);
  push_status(true);
}

void Engine::drop(Conn& c, bool by_server) {
  if (c.fd < 0) return;
  const bool was_open = c.st == ConnState::open;
  loop_.del(c.fd);
  io::close(c.fd);
  c.fd = -1;
  c.st = ConnState::closed;
  c.in.clear();
  c.in.shrink_to_fit();
  c.out.clear();
  if (!was_open) {
    fail(c, "closed during the handshake");
    return;
  }
  if (by_server) {
    ++closed_by_server_;
    if (c.slow) {
      totals_.add("slow_shed", 1);
    } else {
      totals_.add("fast_closed", 1);
    }
  }
  if (c.sub == SubState::subscribing) {
    if (c.cycler) {
      --cycling_;
    } else {
      --subscribing_;
    }
  }
  if (c.pending) {
    ++failed_;
    settle(c);
  }
  maybe_stopped();
}

void Engine::update_events(Conn& c) {
  if (c.fd < 0) return;
  std::uint32_t ev = EPOLLRDHUP;
  if (!c.paused) ev |= EPOLLIN;
  if (c.want_out) ev |= EPOLLOUT;
  loop_.mod(c.fd, ev, &c);
}

void Engine::on_conn_io(Conn& c, std::uint32_t events) {
  if (c.fd < 0) return;
  if (c.st == ConnState::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      fail(c, std::string("connect: ") + std::strerror(err ? err : ECONNRESET));
      return;
    }
    c.st = ConnState::handshake;
    update_events(c);
    std::string per_app;
    send_raw(c, upgrade_for(c, per_app));
    return;
  }
  if (events & EPOLLOUT) on_writable(c);
  if (c.fd < 0) return;
  if (c.paused) {
    // A slow subscriber does not read; it notices only that the server hung up.
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) drop(c, true);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) on_readable(c);
}

void Engine::send_raw(Conn& c, std::string_view bytes) {
  if (c.fd < 0) return;
  if (!c.out.empty()) {
    c.out.append(bytes);
    return;
  }
  const ssize_t n = io::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n == static_cast<ssize_t>(bytes.size())) return;
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    drop(c, true);
    return;
  }
  c.out.assign(bytes.substr(n < 0 ? 0 : static_cast<std::size_t>(n)));
  c.want_out = true;
  update_events(c);
}

void Engine::send_text(Conn& c, std::string_view json) {
  send_raw(c, protocol::make_masked_frame(protocol::Opcode::text, json, kMask));
}

void Engine::on_writable(Conn& c) {
  while (!c.out.empty()) {
    const ssize_t n = io::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      drop(c, true);
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  c.want_out = false;
  update_events(c);
}

void Engine::on_readable(Conn& c) {
  for (int round = 0; round < 4; ++round) {
    const ssize_t n = io::recv(c.fd, scratch_.data(), scratch_.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      drop(c, true);
      return;
    }
    if (n == 0) {
      drop(c, true);
      return;
    }
    const std::uint64_t now = mono_ns();
    if (c.slow) last_slow_bytes_at_ = now;
    const bool from_in = !c.in.empty();
    std::string_view data;
    if (from_in) {
      c.in.append(scratch_.data(), static_cast<std::size_t>(n));
      data = c.in;
    } else {
      data = std::string_view(scratch_.data(), static_cast<std::size_t>(n));
    }
    std::size_t consumed = 0;
    if (!process(c, data, now, consumed)) return;
    if (from_in) {
      c.in.erase(0, consumed);
    } else if (consumed < data.size()) {
      c.in.assign(data.substr(consumed));
    }
    if (static_cast<std::size_t>(n) < scratch_.size()) return;
  }
}

bool Engine::process(Conn& c, std::string_view data, std::uint64_t now, std::size_t& consumed) {
  if (c.st == ConnState::handshake) {
    HttpResponse r;
    const long k = parse_http_response(data, r);
    if (k == 0) return true;
    if (k < 0 || r.status != 101) {
      fail(c, "upgrade answered HTTP " + std::to_string(r.status));
      return false;
    }
    consumed = static_cast<std::size_t>(k);
    c.st = ConnState::open;
  }
  for (;;) {
    WsFrame f;
    const long k = parse_server_frame(data.substr(consumed), f);
    if (k == 0) return true;
    if (k < 0) {
      totals_.add("bad_frames", 1);
      drop(c, false);
      return false;
    }
    consumed += static_cast<std::size_t>(k);
    switch (f.opcode) {
      case 1:
      case 2:
        if (!f.fin) totals_.add("fragmented_frames", 1);
        on_message(c, f.payload, now);
        break;
      case 8:
        totals_.add("close_code_" + std::to_string(close_code(f.payload)), 1);
        drop(c, true);
        return false;
      case 9:
        send_raw(c, protocol::make_masked_frame(protocol::Opcode::pong, f.payload, kMask));
        break;
      default:
        break;
    }
    if (c.fd < 0) return false;
  }
}

}  // namespace bench
