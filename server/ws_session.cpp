#include "server/ws_session.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <span>

#include "auth/signature.hpp"
#include "protocol/channel.hpp"
#include "protocol/client_message.hpp"
#include "protocol/messages.hpp"
#include "protocol/origin.hpp"
#include "server/errors.hpp"
#include "server/log.hpp"
#include "server/worker.hpp"

namespace server {

namespace {

constexpr std::size_t max_gather = 64;  // frames per gathered write (one syscall)
// A burst queued in one handler may exceed the send budget this many times over before the
// first write attempt; beyond it the connection is shed at once (memory bound per socket).
constexpr std::uint64_t over_budget_hard_factor = 4;
// Sign-in bounds: Pusher documents a 100-entry watchlist; ids longer than a channel name could
// never be addressed through #server-to-user-<id> anyway.
constexpr std::size_t max_watchlist_size = 100;
constexpr std::size_t max_user_id_length = 200 - 16;

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t kb_to_bytes(double kb) {
  return static_cast<std::uint64_t>(kb * 1024.0);
}

std::string format_kb(double kb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", kb);
  return buf;
}

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

/// Takes the descriptor out of Asio's reactor: from here on the worker's epoll set watches it.
int release_fd(tcp::socket& socket) {
  boost::system::error_code ec;
  const int fd = socket.is_open() ? socket.release(ec) : -1;
  return ec ? -1 : fd;
}

}  // namespace

WsSession::WsSession(Worker& worker, tcp::socket socket, std::unique_ptr<TlsChannel> tls)
    : worker_(worker),
      hub_(worker.hub()),
      fd_(release_fd(socket)),
      tls_(std::move(tls)),
      queue_(hub_.config().send_queue_max_bytes, hub_.config().send_queue_max_messages) {}

WsSession::WsSession(Worker& worker, int fd, bool in_epoll)
    : worker_(worker),
      hub_(worker.hub()),
      fd_(fd),
      fd_prepared_(true),
      fd_in_epoll_(in_epoll),
      queue_(hub_.config().send_queue_max_bytes, hub_.config().send_queue_max_messages) {}

WsSession::~WsSession() {
  // Normally terminate() already ran. The worker owns started sessions, so otherwise this is the
  // worker's teardown (or a session that never started): just release the socket.
  if (state_ != State::closed && !hub_.tearing_down.load(std::memory_order_relaxed)) {
    leave_everything();
  }
  if (fd_ >= 0) ::close(fd_);
}

// ============================================================================================
// Start-up: 101 response, the checks of protocol.md §1.2, connection_established.
// ============================================================================================

void WsSession::start(UpgradeInfo info, std::string_view leftover) {
  if (fd_ >= 0) {
    // (A descriptor from the fast accept path inherited all of this from the listener.)
    if (!fd_prepared_) {
      const int flags = ::fcntl(fd_, F_GETFL, 0);
      if (flags >= 0) (void)::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
      const int one = 1;
      (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (const std::uint64_t kb = hub_.config().send_socket_buffer_kb; kb != 0) {
        const int bytes = static_cast<int>(kb * 1024);
        (void)::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
      }
    }
  }
  remote_ = std::move(info.remote);
  ip_tracked_ = info.ip_tracked;
  id_ = worker_.next_conn_id();
  worker_.add_session(shared_from_this());
  worker_.counters().connections_opened.fetch_add(1, std::memory_order_relaxed);
  stats_ = &worker_.app_counters(hub_.app_capacity());

  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  response.append(info.accept_key).append("\r\n\r\n");
  (void)queue_.push(std::make_shared<const std::string>(std::move(response)), true);
  state_ = State::open;
  connected_at_ = last_activity_ = Clock::now();
  if (!dirty) {
    dirty = true;
    worker_.mark_dirty(shared_from_this());
  }

  // Checks in Sockudo's order, each answered with an error frame then a close (§1.2 [deviate]).
  app_ = hub_.app_by_key(info.app_key);
  // Removed by a reload between the lookup and now: as unknown (its sockets are being closed).
  if (app_ != nullptr && app_->removed.load()) app_ = nullptr;
  if (app_ != nullptr) stats_ = &worker_.app_counters(app_->index);
  const Config& cfg = hub_.config();
  if (app_ == nullptr) {
    log::info("connection_refused", {{"reason", "unknown app key"}, {"remote", remote_}});
    close_with_error(WsError::app_not_found);
  } else if (!app_->app->enabled) {
    close_with_error(WsError::app_disabled);
  } else if (!protocol::origin_allowed(app_->app->allowed_origins, info.origin)) {
    log::info(
        "connection_refused",
        {{"app_id", app_->app->id}, {"reason", "origin not allowed"}, {"origin", info.origin}});
    worker_.counters().auth_failed(AuthFailure::origin);
    close_with_error(WsError::origin_not_allowed);
  } else if (info.ip_over_cap) {
    worker_.abuse().note(
        AbuseKind::ip_connections,
        {{"remote", remote_}, {"limit", std::to_string(cfg.ip_limits.max_connections_per_ip)}});
    close_with_error(WsError::over_capacity);
  } else if (cfg.max_connections != 0 &&
             hub_.connections.fetch_add(1, std::memory_order_relaxed) >= cfg.max_connections) {
    hub_.connections.fetch_sub(1, std::memory_order_relaxed);
    close_with_error(WsError::over_capacity);
  } else {
    if (cfg.max_connections == 0) hub_.connections.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t app_max = app_->app->limits.max_connections;
    if (app_max != 0 && app_->connections.fetch_add(1, std::memory_order_relaxed) >= app_max) {
      app_->connections.fetch_sub(1, std::memory_order_relaxed);
      hub_.connections.fetch_sub(1, std::memory_order_relaxed);
      if (app_->app->quota_close_code == code_of(WsError::over_capacity)) {
        close_with_error(WsError::over_capacity);
      } else {
        close_with_error(WsError::app_over_quota);
      }
    } else {
      if (app_max == 0) app_->connections.fetch_add(1, std::memory_order_relaxed);
      counted_ = true;
      accepted_ = true;
      stats_->new_connections.fetch_add(1, std::memory_order_relaxed);
      sid_ = hub_.register_socket(id_);
      registered_ = true;
      queue_json(protocol::connection_established(
          socket_id(), static_cast<std::uint64_t>(cfg.activity_timeout.count())));
    }
  }

  if (!accepted_) stats_->connection_errors.fetch_add(1, std::memory_order_relaxed);
  // Frames the client sent right behind its upgrade request.
  if (!leftover.empty() && state_ == State::open) {
    std::string copy(leftover);
    process_bytes(reinterpret_cast<std::uint8_t*>(copy.data()), copy.size());
  }
  // TLS records that arrived with the upgrade request are already inside the channel.
  if (tls_ && state_ != State::closed && tls_->has_buffered_input() && !decrypt_tls()) return;
  if (state_ == State::closed) return;
  // Edge-triggered: bytes already waiting in the socket are reported at once (by the add, and
  // by the re-target of a descriptor the handshake registered).
  if (fd_ < 0 || !(fd_in_epoll_ ? worker_.rewatch(fd_, this) : worker_.watch(fd_, this))) {
    terminate();
  }
}

// ============================================================================================
// Send path
// ============================================================================================

void WsSession::enqueue(const SharedFrame& frame) {
  if (state_ != State::open || over_budget_) return;
  push_counted(frame);
}

void WsSession::push_counted(const SharedFrame& frame) {
  const PushResult r = queue_.push(frame);
  // A consumer is slow only under real backpressure (the kernel buffer is full and we wait for
  // it), or when one burst alone exceeds 4x the budget before the next flush: a fast reader
  // that gets a large burst from one handler is not punished for frames never offered to it.
  if (r.over_budget && (write_waiting_ || queue_.over_budget(over_budget_hard_factor))) {
    shed_slow_consumer();
    return;
  }
  if (!dirty) {
    dirty = true;
    worker_.mark_dirty(shared_from_this());
  }
}

void WsSession::shed_slow_consumer() {
  // Drop what it has not started to receive and close it with 4100. The close (and the log
  // line) are posted, because enqueue may run while the hub's state mutex is held.
  over_budget_ = true;
  queue_.drop_unstarted();
  worker_.counters().slow_consumers_closed.fetch_add(1, std::memory_order_relaxed);
  net::post(worker_.ioc(), [self = shared_from_this()] {
    log::warn("slow_consumer_closed", {{"app_id", self->app_ ? self->app_->app->id : ""},
                                       {"socket_id", self->socket_id()}});
    self->over_budget_ = false;
    self->close_with_error(WsError::slow_consumer);
  });
}

void WsSession::queue_json(std::string_view json) {
  enqueue(make_text_frame(json));
}

void WsSession::queue_control(protocol::Opcode op, std::string_view payload) {
  if (state_ == State::closed) return;
  auto frame = std::make_shared<const std::string>(protocol::make_frame(op, payload));
  if (op != protocol::Opcode::close) {
    // Pongs count against the budget like data: a client that pings and never reads is a slow
    // consumer. Only the close frame is exempt, so it always fits.
    if (state_ != State::open || over_budget_) return;
    push_counted(frame);
    return;
  }
  (void)queue_.push(std::move(frame), true);
  if (!dirty) {
    dirty = true;
    worker_.mark_dirty(shared_from_this());
  }
}

void WsSession::flush() {
  if (write_waiting_ || state_ == State::closed) return;
  if (tls_) {
    flush_tls();
    return;
  }
  std::array<iovec, max_gather> iov;
  while (!queue_.empty()) {
    // Gather everything queued (up to max_gather frames) into one non-blocking write.
    const std::size_t n = std::min(queue_.size(), max_gather);
    const std::string& front = queue_.at(0);
    iov[0] = {const_cast<char*>(front.data()) + queue_.front_offset(),
              front.size() - queue_.front_offset()};
    for (std::size_t i = 1; i < n; ++i) {
      const std::string& f = queue_.at(i);
      iov[i] = {const_cast<char*>(f.data()), f.size()};
    }
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = n;
    const ssize_t rc = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (rc < 0) {
      if (errno == EINTR) continue;
      if (would_block(errno)) {
        wait_writable();
        return;
      }
      terminate();
      return;
    }
    const auto written = static_cast<std::size_t>(rc);
    stats_->tx_bytes.fetch_add(written, std::memory_order_relaxed);
    stats_->ws_messages_sent.fetch_add(queue_.consume(written), std::memory_order_relaxed);
  }
  if (close_sent_ && state_ == State::closing) {
    // Our close frame is out. If the peer already closed, we are done; otherwise half-close and
    // wait (bounded by close_deadline_) for its close frame or EOF.
    if (peer_closed_) {
      terminate();
    } else {
      (void)::shutdown(fd_, SHUT_WR);
    }
  }
}

void WsSession::wait_writable() {
  // Backpressure: wait until the kernel buffer drains, then continue. A queue over budget now
  // belongs to a consumer that does not keep up.
  if (state_ == State::open && !over_budget_ && queue_.over_budget(1)) shed_slow_consumer();
  write_waiting_ = true;
}

void WsSession::on_io(std::uint32_t events) {
  if (state_ == State::closed) return;
  // Edge-triggered: EPOLLOUT comes once after the kernel buffer was full and has room again
  // (and along with other events, when it is simply writable: then nothing waits for it).
  if (write_waiting_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
    write_waiting_ = false;
    flush();
    if (state_ == State::closed) return;
  }
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) read_ready();
}

// ============================================================================================
// Read path
// ============================================================================================

void WsSession::read_ready() {
  if (state_ == State::closed || peer_closed_) return;
  auto& buf = worker_.scratch();
  // Edge-triggered: read until a short read (the socket is drained; new bytes raise a new
  // event), but a few full reads at most per turn, so one busy client cannot starve the others.
  for (int round = 0; round < 4; ++round) {
    const ssize_t rc = ::recv(fd_, buf.data(), buf.size(), 0);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && would_block(errno)) return;
    if (rc <= 0) {
      if (state_ == State::closing && rc == 0 && !queue_.empty()) {
        // The peer finished sending while our close is still queued: let flush() finish it.
        peer_closed_ = true;
        return;
      }
      terminate();  // EOF or reset: the peer is gone
      return;
    }
    const auto n = static_cast<std::size_t>(rc);
    stats_->rx_bytes.fetch_add(n, std::memory_order_relaxed);
    last_activity_ = Clock::now();
    if (tls_) {
      // The channel copies the ciphertext, so the scratch buffer is free for the plaintext.
      if (!tls_->feed(buf.data(), n)) {
        terminate();
        return;
      }
      if (!decrypt_tls()) return;
    } else {
      process_bytes(buf.data(), n);
      if (state_ == State::closed) return;
    }
    if (n < buf.size()) return;
  }
  if (!read_again_) {
    read_again_ = true;
    net::post(worker_.ioc(), [self = shared_from_this()] {
      self->read_again_ = false;
      self->read_ready();
    });
  }
}

// ============================================================================================
// TLS I/O: the same model with a TlsChannel between the socket and the frames
// ============================================================================================

bool WsSession::decrypt_tls() {
  auto& buf = worker_.scratch();
  for (;;) {
    std::size_t n = 0;
    const auto st = tls_->read(buf.data(), buf.size(), n);
    if (st == TlsChannel::ReadStatus::data) {
      process_bytes(buf.data(), n);
      if (state_ == State::closed) return false;
      continue;
    }
    if (st == TlsChannel::ReadStatus::want_more) break;
    // close_notify or a TLS error: the peer is gone (or broke the stream).
    if (st == TlsChannel::ReadStatus::closed && state_ == State::closing && !queue_.empty()) {
      peer_closed_ = true;
      return false;
    }
    terminate();
    return false;
  }
  // Reading may have produced TLS output (e.g. a key update answer).
  if (tls_->pending_out() > 0 && !dirty) {
    dirty = true;
    worker_.mark_dirty(shared_from_this());
  }
  return true;
}

bool WsSession::write_tls_out() {
  while (tls_->pending_out() > 0) {
    const ssize_t rc = ::send(fd_, tls_->out_data(), tls_->pending_out(), MSG_NOSIGNAL);
    if (rc < 0) {
      if (errno == EINTR) continue;
      if (would_block(errno)) {
        wait_writable();
        return false;
      }
      terminate();
      return false;
    }
    const auto written = static_cast<std::size_t>(rc);
    tls_->consume_out(written);
    stats_->tx_bytes.fetch_add(written, std::memory_order_relaxed);
  }
  return true;
}

void WsSession::flush_tls() {
  // Frames are copied into one plaintext batch per round (fewer, fuller TLS records), encrypted,
  // and written; only one batch of ciphertext is ever outside the budgeted queue.
  constexpr std::size_t batch_bytes = 16 * 1024;
  thread_local std::string batch;
  for (;;) {
    if (!write_tls_out()) return;
    if (queue_.empty()) {
      if (!(close_sent_ && state_ == State::closing)) return;
      if (peer_closed_) {
        terminate();
        return;
      }
      // Our close frame is out: close_notify, then half-close and wait (bounded by
      // close_deadline_) for the peer's close frame or EOF.
      tls_->shutdown();
      if (tls_->pending_out() > 0) {
        if (!write_tls_out()) return;
      }
      (void)::shutdown(fd_, SHUT_WR);
      return;
    }
    batch.clear();
    std::uint64_t messages = 0;
    while (!queue_.empty() && batch.size() < batch_bytes) {
      const std::string& f = queue_.at(0);
      const std::size_t off = queue_.front_offset();
      batch.append(f, off, std::string::npos);
      messages += queue_.consume(f.size() - off);
    }
    const bool ok = tls_->write(batch.data(), batch.size());
    if (batch.capacity() > 4 * batch_bytes) batch = std::string();
    if (!ok) {
      terminate();
      return;
    }
    stats_->ws_messages_sent.fetch_add(messages, std::memory_order_relaxed);
  }
}

void WsSession::process_bytes(std::uint8_t* data, std::size_t size) {
  // Parse straight from the caller's buffer when nothing is carried over; otherwise append to
  // the carried partial frame and parse from there.
  std::uint8_t* p = data;
  std::size_t len = size;
  const bool carried = cold_ && !cold_->inbuf.empty();
  if (carried) {
    std::string& in = cold_->inbuf;
    in.append(reinterpret_cast<const char*>(data), size);
    p = reinterpret_cast<std::uint8_t*>(in.data());
    len = in.size();
  }
  const std::uint64_t max_payload = hub_.config().websocket_max_payload_kb * 1024;
  std::size_t off = 0;
  while (off < len && state_ != State::closed) {
    protocol::FrameHeader h{};
    const auto err = protocol::parse_frame_header(std::span<const std::uint8_t>(p + off, len - off),
                                                  max_payload, h);
    if (err == protocol::FrameError::need_more) break;
    if (err != protocol::FrameError::none) {
      worker_.counters().protocol_errors.fetch_add(1, std::memory_order_relaxed);
      const WsError why = ws_error_for(protocol::close_code_for(err));
      abuse(why == WsError::frame_too_big           ? AbuseKind::message_too_big
            : err == protocol::FrameError::unmasked ? AbuseKind::unmasked_frame
                                                    : AbuseKind::protocol_error);
      close_frame_only(why);
      if (cold_) cold_->inbuf.clear();
      return;
    }
    if (len - off < h.header_length + h.payload_length) break;
    std::uint8_t* payload = p + off + h.header_length;
    const std::size_t plen = static_cast<std::size_t>(h.payload_length);
    protocol::unmask(std::span<std::uint8_t>(payload, plen), h.mask, 0);
    off += h.header_length + plen;
    if (!on_frame(h, payload)) {
      if (cold_) cold_->inbuf.clear();
      return;
    }
  }
  if (state_ == State::closed) return;
  if (carried) {
    std::string& in = cold_->inbuf;
    in.erase(0, off);
    if (in.empty() && in.capacity() > 4096) in.shrink_to_fit();
  } else if (off < len) {
    cold().inbuf.assign(reinterpret_cast<const char*>(p + off), len - off);
  }
}

bool WsSession::on_frame(const protocol::FrameHeader& h, std::uint8_t* payload) {
  using protocol::Opcode;
  const std::string_view body(reinterpret_cast<const char*>(payload),
                              static_cast<std::size_t>(h.payload_length));
  // Closing: only the peer's close frame matters; everything else is discarded.
  if (state_ == State::closing && h.opcode != Opcode::close) return true;
  switch (h.opcode) {
    case Opcode::ping:
      // A WebSocket ping is answered by the same writer and also proves liveness (§2.3).
      ping_outstanding_ = false;
      if (state_ == State::open && message_allowed()) queue_control(Opcode::pong, body);
      return true;
    case Opcode::pong:
      return true;
    case Opcode::close: {
      peer_closed_ = true;
      if (state_ == State::closing) {
        if (queue_.empty()) terminate();
        return false;
      }
      const auto cp = protocol::parse_close_payload(body);
      std::uint16_t code = protocol::to_uint(protocol::CloseCode::normal);
      if (!cp) {
        abuse(AbuseKind::protocol_error);  // bad close code, 1-byte payload or non-UTF-8 reason
        code = protocol::to_uint(protocol::CloseCode::protocol_error);
      } else if (cp->code != protocol::to_uint(protocol::CloseCode::no_status)) {
        code = cp->code;
      }
      begin_close(code, "");
      return false;
    }
    case Opcode::text:
    case Opcode::binary:
      if (in_fragmented()) {
        abuse(AbuseKind::bad_fragmentation);
        close_frame_only(WsError::expected_continuation);
        return false;
      }
      if (state_ != State::open) return true;  // closing: discard data
      if (!h.fin) {
        Cold& c = cold();
        c.in_fragmented = true;
        c.fragmented_opcode = h.opcode;
        c.fragments.assign(body);
        return true;
      }
      if (h.opcode == Opcode::text && !protocol::is_valid_utf8(body)) {
        abuse(AbuseKind::invalid_utf8);
        close_frame_only(WsError::invalid_utf8);
        return false;
      }
      on_message(body);
      return state_ == State::open;
    case Opcode::continuation: {
      if (!in_fragmented()) {
        abuse(AbuseKind::bad_fragmentation);
        close_frame_only(WsError::unexpected_continuation);
        return false;
      }
      Cold& c = *cold_;
      const std::uint64_t max_payload = hub_.config().websocket_max_payload_kb * 1024;
      if (c.fragments.size() + body.size() > max_payload) {
        abuse(AbuseKind::message_too_big);
        close_frame_only(WsError::frame_too_big);
        return false;
      }
      c.fragments.append(body);
      if (!h.fin) return true;
      c.in_fragmented = false;
      std::string message;
      message.swap(c.fragments);
      if (c.fragmented_opcode == Opcode::text && !protocol::is_valid_utf8(message)) {
        abuse(AbuseKind::invalid_utf8);
        close_frame_only(WsError::invalid_utf8);
        return false;
      }
      if (state_ == State::open) on_message(message);
      return state_ == State::open;
    }
  }
  abuse(AbuseKind::protocol_error);
  close_frame_only(WsError::frame_protocol_error);
  return false;
}

void WsSession::abuse(AbuseKind kind) {
  worker_.abuse().note(kind, {{"app_id", app_ ? app_->app->id : std::string()},
                              {"socket_id", socket_id()},
                              {"remote", remote_}});
}

bool WsSession::message_allowed() {
  // Sockudo's optional app-level message_rate_limit: every inbound message (and WebSocket
  // ping) counts, fixed one-second window. Over it, the message is dropped; the first drop of
  // a window gets one 4301 error frame (a flood is not answered frame for frame).
  const std::uint64_t limit = app_ != nullptr ? app_->app->limits.message_rate_limit : 0;
  if (limit == 0) return true;
  const auto now = Clock::now();
  if (now - msg_window_start_ >= std::chrono::seconds(1)) {
    msg_window_start_ = now;
    msg_count_ = 0;
    msg_limit_notified_ = false;
  }
  if (++msg_count_ <= limit) return true;
  abuse(AbuseKind::message_rate);
  if (!msg_limit_notified_ && state_ == State::open) {
    msg_limit_notified_ = true;
    send_error(WsError::client_event_rate);
  }
  return false;
}

// ============================================================================================
// Pusher events
// ============================================================================================

void WsSession::on_message(std::string_view text) {
  stats_->ws_messages_received.fetch_add(1, std::memory_order_relaxed);
  if (!registered_) return;  // refused connection waiting for its close handshake
  if (!message_allowed()) return;
  auto parsed = worker_.parser().parse(text);
  if (!parsed) {
    send_error(parsed.code, parsed.message);
    return;
  }
  const protocol::ClientMessage& msg = *parsed.value;
  std::string_view event = msg.event;
  std::string_view name;
  if (starts_with(event, "pusher:")) {
    name = event.substr(7);
  } else if (starts_with(event, "sockudo:")) {
    name = event.substr(8);
  } else if (starts_with(event, "client-")) {
    handle_client_event(event, msg.channel ? std::string_view(*msg.channel) : std::string_view{},
                        msg.channel.has_value(), msg.data_raw);
    return;
  } else {
    return;  // unknown events are ignored (§0)
  }
  if (name == "ping") {
    ping_outstanding_ = false;
    queue_json(protocol::pong());
  } else if (name == "pong") {
    ping_outstanding_ = false;
  } else if (name == "subscribe") {
    handle_subscribe(msg.data_raw);
  } else if (name == "unsubscribe") {
    handle_unsubscribe(msg.data_raw);
  } else if (name == "signin") {
    handle_signin(msg.data_raw);
  }
}

void WsSession::webhook(std::string_view name, std::string_view channel,
                        std::optional<std::string> user_id,
                        std::optional<std::uint64_t> subscription_count) {
  if (!hub_.webhooks().wants(app_->index, name)) return;
  WebhookEvent ev;
  ev.name = std::string(name);
  ev.channel = std::string(channel);
  ev.user_id = std::move(user_id);
  ev.subscription_count = subscription_count;
  ev.time_ms = unix_ms();
  hub_.webhooks().emit(app_->index, std::move(ev));
}

void WsSession::webhooks_for_leave(std::string_view channel, const channels::LeaveResult& res) {
  if (!res.was_subscribed) return;
  if (res.member_removed) webhook("member_removed", channel, res.user_id);
  if (!protocol::classify_channel(channel).is_presence) {
    webhook("subscription_count", channel, std::nullopt, res.subscription_count);
  }
  if (res.channel_vacated) webhook("channel_vacated", channel);
}

void WsSession::send_error(int code, std::string_view message) {
  queue_json(protocol::error(code, message));
}

void WsSession::send_error(WsError why, std::string_view detail) {
  send_error(protocol::to_int(spec(why).code), error_message(why, detail));
}

void WsSession::log_denied(AuthFailure why, std::string_view channel, std::string_view reason) {
  worker_.counters().auth_failed(why);
  // One structured line per denied attempt; never the auth string or the secret.
  log::warn("auth_denied", {{"app_id", app_->app->id},
                            {"socket_id", socket_id()},
                            {"channel", std::string(channel)},
                            {"reason", std::string(reason)},
                            {"remote", remote_}});
}

WsSession::Subscription* WsSession::find_subscription(std::string_view channel) {
  for (auto& s : subscriptions_) {
    if (s.channel == channel) return &s;
  }
  return nullptr;
}

void WsSession::set_index_slot(std::string_view channel, std::uint32_t slot) noexcept {
  if (Subscription* s = find_subscription(channel)) s->slot = slot;
}

void WsSession::add_subscription(const std::string& channel, std::string member_id, bool presence) {
  stats_->subscriptions.fetch_add(1, std::memory_order_relaxed);
  const std::uint32_t slot = worker_.index_add(app_->index, channel, this);
  subscriptions_.push_back({channel, std::move(member_id), presence, slot});
}

void WsSession::handle_subscribe(std::string_view data_raw) {
  const App& app = *app_->app;
  auto sd = protocol::parse_subscribe_data(data_raw);
  if (!sd) {
    send_error(sd.code, sd.message);
    return;
  }
  const std::string& channel = sd.value->channel;
  if (auto err = protocol::validate_channel_name(channel, app.limits.max_channel_name_length)) {
    send_error(WsError::invalid_channel_name, *err);
    return;
  }
  const protocol::ChannelKind kind = protocol::classify_channel(channel);
  if (kind.requires_auth()) {
    if (!sd.value->auth || sd.value->auth->empty()) {
      log_denied(AuthFailure::signature_missing, channel, "signature missing");
      send_error(WsError::signature_missing);
      return;
    }
    const std::string_view channel_data = kind.is_presence && sd.value->channel_data
                                              ? std::string_view(*sd.value->channel_data)
                                              : std::string_view{};
    if (!auth::verify_channel_auth(app.key, app.secret, socket_id(), channel, channel_data,
                                   *sd.value->auth)) {
      log_denied(AuthFailure::signature_invalid, channel, "invalid signature");
      send_error(WsError::signature_invalid);
      return;
    }
  }
  if (kind.is_server_to_user || channel.front() == '#') {
    // Server-to-user events are delivered to the user's signed-in sockets, not through a
    // subscription. pusher-js subscribes to its own #server-to-user-<id> after sign-in: accept
    // exactly that one (no state), reject every other '#' channel.
    if (user_id().empty() || channel != std::string(protocol::server_to_user_prefix) + user_id()) {
      log_denied(AuthFailure::signature_invalid, channel, "server-to-user channel of another user");
      send_error(WsError::foreign_server_to_user);
      return;
    }
    queue_json(protocol::subscription_succeeded(channel));
    return;
  }
  Subscription* existing = find_subscription(channel);
  if (existing == nullptr && subscriptions_.size() >= app.limits.max_channels_per_connection) {
    abuse(AbuseKind::channel_limit);
    send_error(WsError::subscription_limit, std::to_string(app.limits.max_channels_per_connection) +
                                                " channels per connection)");
    return;
  }

  std::string reply;
  if (kind.is_presence) {
    if (!sd.value->channel_data) {
      send_error(WsError::presence_data_missing);
      return;
    }
    auto pd = protocol::parse_channel_data(*sd.value->channel_data);
    if (!pd) {
      send_error(pd.code, pd.message);
      return;
    }
    const double max_kb = app.limits.max_presence_member_size_in_kb;
    if (pd.value->user_info.size() > kb_to_bytes(max_kb)) {
      // Bytes compared against kb*1024 (stricter than Sockudo's integer-KB division by < 1 KB).
      send_error(WsError::presence_member_too_big,
                 format_kb(static_cast<double>(pd.value->user_info.size()) / 1024.0) +
                     "KB) exceeds limit (" + format_kb(max_kb) + "KB)");
      return;
    }
    if (hub_.adapter().clustered()) {
      // Cluster mode: the adapter decides "first join anywhere" and builds the cluster's
      // member snapshot in one Redis round trip; subscription_succeeded follows in
      // presence_ready() on this thread (docs/CLUSTER.md).
      auto done = [wk = &worker_, id = id_, ch = channel](std::optional<MemberList> members) {
        net::post(wk->ioc(), [wk, id, ch, members = std::move(members)]() mutable {
          if (WsSession* s = wk->find_session(id)) s->presence_ready(ch, std::move(members));
        });
      };
      bool full = false;
      {
        std::lock_guard lock(hub_.state_mutex());
        auto& reg = hub_.registry();
        if (existing == nullptr) {
          if (reg.user_count(app.id, channel) >= app.limits.max_presence_members_per_channel) {
            full = true;
          } else {
            const auto res =
                reg.join_presence(app.id, channel, id_, pd.value->user_id, pd.value->user_info);
            hub_.adapter().subscription_changed(app_->index, channel, res.subscription_count);
            hub_.adapter().presence_joined(app_->index, channel, pd.value->user_id,
                                           pd.value->user_info, socket_id(), res.member_added,
                                           std::move(done));
          }
        } else {
          hub_.adapter().presence_joined(app_->index, channel, pd.value->user_id,
                                         pd.value->user_info, socket_id(), false, std::move(done));
        }
      }
      if (full) {
        send_error(WsError::presence_full);
        return;
      }
      if (existing == nullptr) {
        add_subscription(channel, pd.value->user_id, true);
      }
      authorized_ = true;
      return;
    }
    {
      std::lock_guard lock(hub_.state_mutex());
      auto& reg = hub_.registry();
      if (existing == nullptr) {
        // Sockudo's rule: a full channel rejects even a user who is already a member.
        if (reg.user_count(app.id, channel) >= app.limits.max_presence_members_per_channel) {
          reply.clear();
        } else {
          const auto res =
              reg.join_presence(app.id, channel, id_, pd.value->user_id, pd.value->user_info);
          if (res.channel_occupied) webhook("channel_occupied", channel);
          if (res.member_added) webhook("member_added", channel, pd.value->user_id);
          if (res.member_added) {
            // member_added reaches the others before the joiner's subscription_succeeded.
            // Decisions made under the state mutex are always posted (never delivered inline),
            // so every worker receives them in decision order.
            hub_.adapter().broadcast(app_->index, channel,
                                     make_text_frame(protocol::member_added(
                                         channel, pd.value->user_id, pd.value->user_info)),
                                     id_, nullptr);
          }
          reply = "ok";
        }
      } else {
        reply = "ok";
      }
      if (!reply.empty()) {
        std::vector<protocol::PresenceMember> members;
        for (const auto& m : reg.members(app.id, channel)) {
          members.push_back({m.user_id, m.user_info});
        }
        reply = protocol::subscription_succeeded_presence(channel, members);
      }
    }
    if (reply.empty()) {
      send_error(WsError::presence_full);
      return;
    }
    if (existing == nullptr) {
      add_subscription(channel, pd.value->user_id, true);
    }
  } else {
    if (existing == nullptr) {
      std::lock_guard lock(hub_.state_mutex());
      const auto res = hub_.registry().subscribe(app.id, channel, id_);
      if (hub_.adapter().clustered()) {
        hub_.adapter().subscription_changed(app_->index, channel, res.subscription_count);
      } else {
        if (res.channel_occupied) webhook("channel_occupied", channel);
        webhook("subscription_count", channel, std::nullopt, res.subscription_count);
      }
    }
    if (existing == nullptr) {
      add_subscription(channel, std::string(), false);
    }
    reply = protocol::subscription_succeeded(channel);
  }
  if (kind.requires_auth()) authorized_ = true;
  queue_json(reply);

  if (kind.is_cache) send_cache_state(channel);
}

void WsSession::send_cache_state(const std::string& channel) {
  std::optional<std::string> cached;
  {
    std::lock_guard lock(hub_.state_mutex());
    if (auto c = hub_.registry().cached(app_->app->id, channel, Clock::now())) {
      cached = std::move(c->frame_json);
    }
  }
  if (cached) {
    queue_json(*cached);
  } else {
    queue_json(protocol::cache_miss(channel));
    webhook("cache_miss", channel);
  }
}

void WsSession::presence_ready(const std::string& channel, std::optional<MemberList> members) {
  if (state_ != State::open || find_subscription(channel) == nullptr) return;
  std::string reply;
  if (members) {
    std::vector<protocol::PresenceMember> list;
    list.reserve(members->size());
    for (const auto& [id, info] : *members) list.push_back({id, info});
    reply = protocol::subscription_succeeded_presence(channel, list);
  } else {
    std::lock_guard lock(hub_.state_mutex());
    std::vector<protocol::PresenceMember> list;
    for (const auto& m : hub_.registry().members(app_->app->id, channel)) {
      list.push_back({m.user_id, m.user_info});
    }
    reply = protocol::subscription_succeeded_presence(channel, list);
  }
  queue_json(reply);
  if (protocol::classify_channel(channel).is_cache) send_cache_state(channel);
}

void WsSession::cluster_leave(std::string_view channel, const channels::LeaveResult& res) {
  if (!res.was_subscribed) return;
  hub_.adapter().subscription_changed(app_->index, channel, res.subscription_count);
  if (res.member_removed) hub_.adapter().presence_left(app_->index, channel, res.user_id);
}

void WsSession::handle_unsubscribe(std::string_view data_raw) {
  auto ch = protocol::parse_unsubscribe_channel(data_raw);
  if (!ch) {
    send_error(ch.code, ch.message);
    return;
  }
  const std::string& channel = *ch.value;
  auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                         [&](const Subscription& s) { return s.channel == channel; });
  if (it == subscriptions_.end()) return;  // not subscribed: a pure no-op (§3.5)
  {
    std::lock_guard lock(hub_.state_mutex());
    const auto res = hub_.registry().unsubscribe(app_->app->id, channel, id_);
    if (hub_.adapter().clustered()) {
      cluster_leave(channel, res);
    } else {
      webhooks_for_leave(channel, res);
    }
    if (res.member_removed && !hub_.adapter().clustered()) {
      hub_.adapter().broadcast(app_->index, channel,
                               make_text_frame(protocol::member_removed(channel, res.user_id)), id_,
                               nullptr);
    }
  }
  worker_.index_remove(app_->index, channel, this, it->slot);
  subscriptions_.erase(it);
  stats_->unsubscriptions.fetch_add(1, std::memory_order_relaxed);
}

void WsSession::handle_client_event(std::string_view event, std::string_view channel,
                                    bool has_channel, std::string_view data_raw) {
  const App& app = *app_->app;
  const AppLimits& lim = app.limits;
  // 1. Rate limit first: every client-* attempt counts, valid or not (fixed window).
  if (lim.max_client_events_per_second > 0) {
    stats_->rate_limit_checks.fetch_add(1, std::memory_order_relaxed);
    const auto now = Clock::now();
    if (now - rate_window_start_ >= std::chrono::seconds(lim.client_event_decay_seconds)) {
      rate_window_start_ = now;
      rate_count_ = 0;
    }
    if (++rate_count_ > lim.max_client_events_per_second * lim.client_event_decay_seconds) {
      stats_->rate_limit_triggered.fetch_add(1, std::memory_order_relaxed);
      send_error(WsError::client_event_rate);
      return;
    }
  }
  if (!has_channel) {
    send_error(WsError::client_event_no_channel);
    return;
  }
  if (!app.enable_client_messages) {
    send_error(WsError::client_events_disabled);
    return;
  }
  if (event.size() > lim.max_event_name_length) {
    send_error(WsError::client_event_name_too_long, std::to_string(lim.max_event_name_length));
    return;
  }
  if (channel.size() > lim.max_channel_name_length) {
    send_error(WsError::client_event_channel_too_long, std::to_string(lim.max_channel_name_length));
    return;
  }
  if (!protocol::classify_channel(channel).allows_client_events()) {
    send_error(WsError::client_event_wrong_channel);
    return;
  }
  const std::uint64_t max_bytes = kb_to_bytes(lim.max_event_payload_in_kb);
  if (data_raw.size() > max_bytes) {
    send_error(WsError::client_event_too_big, "(" + std::to_string(data_raw.size()) +
                                                  " bytes) exceeds limit (" +
                                                  format_kb(lim.max_event_payload_in_kb) + "KB)");
    return;
  }
  const Subscription* sub = find_subscription(channel);
  if (sub == nullptr) {
    send_error(WsError::client_event_not_subscribed,
               socket_id() + " is not subscribed to channel " + std::string(channel));
    return;
  }
  std::optional<std::string_view> user_id;
  if (sub->presence) user_id = sub->member_id;
  if (hub_.webhooks().wants(app_->index, "client_event")) {
    WebhookEvent ev;
    ev.name = "client_event";
    ev.channel = std::string(channel);
    ev.event = std::string(event);
    ev.data = data_raw.empty() ? std::string("null") : std::string(data_raw);
    ev.socket_id = socket_id();
    if (user_id) ev.user_id = std::string(*user_id);
    ev.time_ms = unix_ms();
    hub_.webhooks().emit(app_->index, std::move(ev));
  }
  // Relayed byte for byte to everyone else in the channel (V1 never echoes to the sender).
  hub_.adapter().broadcast_client_event(
      app_->index, channel,
      make_text_frame(protocol::client_event(event, channel, data_raw, user_id)), id_, socket_id(),
      &worker_);
}

void WsSession::handle_signin(std::string_view data_raw) {
  const App& app = *app_->app;
  auto sd = protocol::parse_signin_data(data_raw);
  if (!sd) {
    send_error(sd.code, sd.message);
    return;
  }
  if (!app.enable_user_authentication) {
    send_error(WsError::signin_disabled);
    return;
  }
  auto ud = protocol::parse_user_data(sd.value->user_data);
  if (!ud) {
    send_error(ud.code, ud.message);
    return;
  }
  if (!auth::verify_user_auth(app.key, app.secret, socket_id(), sd.value->user_data,
                              sd.value->auth)) {
    log_denied(AuthFailure::signin_invalid, "", "invalid signin signature");
    send_error(WsError::signin_invalid);
    return;
  }
  if (ud.value->id.size() > max_user_id_length) {
    send_error(WsError::user_id_too_long, std::to_string(max_user_id_length));
    return;
  }
  // Each watched id once (a repeated id would otherwise repeat in every frame).
  std::vector<std::string>& watchlist = ud.value->watchlist;
  {
    std::vector<std::string> unique;
    for (auto& w : watchlist) {
      if (std::find(unique.begin(), unique.end(), w) == unique.end())
        unique.push_back(std::move(w));
    }
    watchlist.swap(unique);
  }
  if (watchlist.size() > max_watchlist_size) {
    send_error(WsError::watchlist_too_long);
    return;
  }
  const bool watch = app.enable_watchlist_events;
  std::vector<std::string> online, offline;
  {
    std::lock_guard lock(hub_.state_mutex());
    auto& reg = hub_.registry();
    const auto res = reg.sign_in(app.id, id_, ud.value->id,
                                 watch ? ud.value->watchlist : std::vector<std::string>{});
    if (watch && hub_.adapter().clustered()) {
      // Cluster mode: "online anywhere" is decided in Redis; watchers on every node are told
      // by the adapter, and this socket's initial watchlist state follows in watchlist_ready().
      if (res.previous_user && res.previous_went_offline) {
        hub_.adapter().user_online_changed(app_->index, *res.previous_user, false);
      }
      if (res.came_online) hub_.adapter().user_online_changed(app_->index, ud.value->id, true);
    } else if (watch) {
      if (res.previous_user && res.previous_went_offline) {
        notify_watchers(*res.previous_user, false);
      }
      if (res.came_online) notify_watchers(ud.value->id, true);
      for (const auto& w : ud.value->watchlist) {
        (reg.is_online(app.id, w) ? online : offline).push_back(w);
      }
    }
  }
  cold().user_id = ud.value->id;
  authorized_ = true;
  queue_json(protocol::signin_success(sd.value->user_data));
  if (watch && !ud.value->watchlist.empty() && hub_.adapter().clustered()) {
    auto done = [wk = &worker_, id = id_, uid = user_id(),
                 ids = ud.value->watchlist](std::optional<std::vector<bool>> on) {
      net::post(wk->ioc(), [wk, id, uid, ids, on = std::move(on)] {
        if (WsSession* s = wk->find_session(id)) s->watchlist_ready(uid, ids, on);
      });
    };
    hub_.adapter().users_online(app_->index, ud.value->watchlist, std::move(done));
    return;
  }
  if (watch && !ud.value->watchlist.empty()) {
    queue_json(protocol::watchlist_events(std::span<const std::string>(online),
                                          std::span<const std::string>(offline)));
  }
}

void WsSession::watchlist_ready(const std::string& user_id, const std::vector<std::string>& ids,
                                const std::optional<std::vector<bool>>& online_flags) {
  if (state_ != State::open || this->user_id() != user_id)
    return;  // gone, or signed in again since
  std::vector<std::string> online, offline;
  if (online_flags) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      ((*online_flags)[i] ? online : offline).push_back(ids[i]);
    }
  } else {
    std::lock_guard lock(hub_.state_mutex());
    for (const auto& w : ids) {
      (hub_.registry().is_online(app_->app->id, w) ? online : offline).push_back(w);
    }
  }
  queue_json(protocol::watchlist_events(std::span<const std::string>(online),
                                        std::span<const std::string>(offline)));
}

void WsSession::notify_watchers(const std::string& user_id, bool online) {
  // Caller holds the state mutex. One frame for every signed-in socket of every watcher.
  const auto watchers = hub_.registry().watcher_connections(app_->app->id, user_id);
  if (watchers.empty()) return;
  const std::vector<std::string> ids{user_id};
  const std::vector<std::string> none;
  const auto frame =
      make_text_frame(online ? protocol::watchlist_events(std::span<const std::string>(ids),
                                                          std::span<const std::string>(none))
                             : protocol::watchlist_events(std::span<const std::string>(none),
                                                          std::span<const std::string>(ids)));
  hub_.send_to_connections(watchers, frame, nullptr);
}

// ============================================================================================
// Timers and teardown
// ============================================================================================

void WsSession::on_sweep(Clock::time_point now) {
  const Config& cfg = hub_.config();
  if (state_ == State::open) {
    if (ping_outstanding_) {
      if (now - ping_sent_at_ >= cfg.pong_timeout) {
        close_with_error(WsError::pong_timeout);
        return;
      }
    } else if (registered_ && now - last_activity_ >= cfg.activity_timeout) {
      ping_outstanding_ = true;
      ping_sent_at_ = now;
      queue_json(protocol::ping());
    }
    if (registered_ && app_->app->enable_user_authentication && !authorized_ &&
        now - connected_at_ >= cfg.user_authentication_timeout) {
      close_with_error(WsError::signin_timeout);
    }
  } else if (state_ == State::closing && now >= close_deadline_) {
    terminate();
  }
}

void WsSession::close_with_error(WsError why) {
  const WsErrorSpec& e = spec(why);
  if (e.delivery == Delivery::close_only) {
    close_frame_only(why);
    return;
  }
  close_with_error(protocol::to_uint(e.code), e.message);
}

void WsSession::close_with_error(std::uint16_t code, std::string_view message) {
  if (state_ != State::open) return;
  queue_json(protocol::error(code, message));
  begin_close(code, message);
}

void WsSession::close_frame_only(WsError why) {
  if (state_ != State::open) return;
  begin_close(code_of(why), spec(why).message);
}

void WsSession::begin_close(std::uint16_t code, std::string_view reason) {
  queue_control(protocol::Opcode::close, protocol::close_payload(code, reason));
  close_sent_ = true;
  state_ = State::closing;
  close_deadline_ = Clock::now() + hub_.config().close_timeout;
  leave_everything();
}

void WsSession::leave_everything() {
  if (registered_) {
    registered_ = false;
    {
      std::lock_guard lock(hub_.state_mutex());
      auto& reg = hub_.registry();
      const bool clustered = hub_.adapter().clustered();
      for (auto& [channel, res] : reg.unsubscribe_all(app_->app->id, id_)) {
        if (clustered) {
          cluster_leave(channel, res);
          continue;
        }
        webhooks_for_leave(channel, res);
        if (res.member_removed) {
          hub_.adapter().broadcast(app_->index, channel,
                                   make_text_frame(protocol::member_removed(channel, res.user_id)),
                                   id_, nullptr);
        }
      }
      if (!user_id().empty()) {
        const auto res = reg.sign_out(app_->app->id, id_);
        if (res.went_offline && res.user_id && app_->app->enable_watchlist_events) {
          if (clustered) {
            hub_.adapter().user_online_changed(app_->index, *res.user_id, false);
          } else {
            notify_watchers(*res.user_id, false);
          }
        }
      }
    }
    for (const auto& s : subscriptions_) worker_.index_remove(app_->index, s.channel, this, s.slot);
    stats_->unsubscriptions.fetch_add(subscriptions_.size(), std::memory_order_relaxed);
    subscriptions_.clear();
    hub_.unregister_socket(sid_);
  }
  if (counted_) {
    counted_ = false;
    // Counted when the connection leaves (not when its socket closes, which can be a close
    // handshake later) and before the gauge drops: a scrape that sees sockudo_connected fall
    // also sees the disconnection.
    stats_->disconnections.fetch_add(1, std::memory_order_relaxed);
    hub_.connections.fetch_sub(1, std::memory_order_relaxed);
    app_->connections.fetch_sub(1, std::memory_order_relaxed);
  }
  if (ip_tracked_) {
    ip_tracked_ = false;
    hub_.ip_limiter().release(remote_, std::chrono::duration_cast<std::chrono::milliseconds>(
                                           Clock::now().time_since_epoch())
                                           .count());
  }
}

void WsSession::terminate() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  leave_everything();
  if (fd_ >= 0) {
    // close() also takes the descriptor out of the worker's epoll set (it is never duplicated).
    (void)::shutdown(fd_, SHUT_RDWR);
    (void)::close(fd_);
    fd_ = -1;
  }
  tls_.reset();
  queue_.clear();
  cold_.reset();
  worker_.remove_session(this);
  worker_.counters().connections_closed.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace server
