#include "server/ws_transport.hpp"

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

#include "server/hub.hpp"
#include "server/worker.hpp"

namespace server {

namespace {

constexpr std::size_t max_gather = 64;  // frames per gathered write (one syscall)
// A burst queued in one handler may exceed the send budget this many times over before the
// first write attempt; beyond it the connection is shed at once (memory bound per socket).
constexpr std::uint64_t over_budget_hard_factor = 4;

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

WsTransport::WsTransport(Worker& worker, tcp::socket socket, std::unique_ptr<TlsChannel> tls)
    : worker_(worker),
      fd_(release_fd(socket)),
      tls_(std::move(tls)),
      queue_(worker.hub().config().send_queue_max_bytes,
             worker.hub().config().send_queue_max_messages) {}

WsTransport::WsTransport(Worker& worker, int fd, bool in_epoll)
    : fd_prepared_(true),
      worker_(worker),
      fd_in_epoll_(in_epoll),
      fd_(fd),
      queue_(worker.hub().config().send_queue_max_bytes,
             worker.hub().config().send_queue_max_messages) {}

WsTransport::~WsTransport() {
  if (fd_ >= 0) ::close(fd_);
}

Hub& WsTransport::hub() const noexcept {
  return worker_.hub();
}

// ============================================================================================
// Start-up
// ============================================================================================

void WsTransport::open(std::string_view accept_key) {
  if (fd_ >= 0 && !fd_prepared_) {
    // (A descriptor from the fast accept path inherited all of this from the listener.)
    const int flags = ::fcntl(fd_, F_GETFL, 0);
    if (flags >= 0) (void)::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
    const int one = 1;
    (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (const std::uint64_t kb = hub().config().send_socket_buffer_kb; kb != 0) {
      const int bytes = static_cast<int>(kb * 1024);
      (void)::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    }
  }
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  response.append(accept_key).append("\r\n\r\n");
  (void)queue_.push(std::make_shared<const std::string>(std::move(response)), true);
  state_ = State::open;
  last_activity_ = Clock::now();
  mark_dirty();
}

void WsTransport::begin_reading(std::string_view leftover) {
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

void WsTransport::mark_dirty() {
  if (!dirty) {
    dirty = true;
    worker_.mark_dirty(shared_from_this());
  }
}

void WsTransport::enqueue(const SharedFrame& frame) {
  if (state_ != State::open || over_budget_) return;
  push_counted(frame);
}

void WsTransport::push_counted(const SharedFrame& frame) {
  const PushResult r = queue_.push(frame);
  // A consumer is slow only under real backpressure (the kernel buffer is full and we wait for
  // it), or when one burst alone exceeds 4x the budget before the next flush: a fast reader
  // that gets a large burst from one handler is not punished for frames never offered to it.
  if (r.over_budget && (write_waiting_ || queue_.over_budget(over_budget_hard_factor))) {
    shed_slow_consumer();
    return;
  }
  mark_dirty();
}

void WsTransport::shed_slow_consumer() {
  // Drop what it has not started to receive and close it. The close is posted, because enqueue
  // may run while the hub's state mutex is held.
  over_budget_ = true;
  queue_.drop_unstarted();
  worker_.counters().slow_consumers_closed.fetch_add(1, std::memory_order_relaxed);
  net::post(worker_.ioc(), [self = shared_from_this()] {
    self->over_budget_ = false;
    self->on_slow_consumer();
  });
}

void WsTransport::queue_json(std::string_view json) {
  enqueue(make_text_frame(json));
}

void WsTransport::queue_control(protocol::Opcode op, std::string_view payload) {
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
  mark_dirty();
}

void WsTransport::flush() {
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

void WsTransport::wait_writable() {
  // Backpressure: wait until the kernel buffer drains, then continue. A queue over budget now
  // belongs to a consumer that does not keep up.
  if (state_ == State::open && !over_budget_ && queue_.over_budget(1)) shed_slow_consumer();
  write_waiting_ = true;
}

void WsTransport::on_io(std::uint32_t events) {
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

void WsTransport::read_ready() {
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

void WsTransport::process_bytes(std::uint8_t* data, std::size_t size) {
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
  const std::uint64_t max_payload = hub().config().websocket_max_payload_kb * 1024;
  std::size_t off = 0;
  while (off < len && state_ != State::closed) {
    protocol::FrameHeader h{};
    const auto err = protocol::parse_frame_header(std::span<const std::uint8_t>(p + off, len - off),
                                                  max_payload, h);
    if (err == protocol::FrameError::need_more) break;
    if (err != protocol::FrameError::none) {
      worker_.counters().protocol_errors.fetch_add(1, std::memory_order_relaxed);
      const WsError why = ws_error_for(protocol::close_code_for(err));
      on_abuse(why == WsError::frame_too_big           ? AbuseKind::message_too_big
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

bool WsTransport::on_frame(const protocol::FrameHeader& h, std::uint8_t* payload) {
  using protocol::Opcode;
  const std::string_view body(reinterpret_cast<const char*>(payload),
                              static_cast<std::size_t>(h.payload_length));
  // Closing: only the peer's close frame matters; everything else is discarded.
  if (state_ == State::closing && h.opcode != Opcode::close) return true;
  switch (h.opcode) {
    case Opcode::ping:
      // A WebSocket ping is answered by the same writer and also proves liveness (§2.3).
      if (on_ping() && state_ == State::open) queue_control(Opcode::pong, body);
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
        on_abuse(AbuseKind::protocol_error);  // bad close code, 1-byte payload or non-UTF-8
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
        on_abuse(AbuseKind::bad_fragmentation);
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
        on_abuse(AbuseKind::invalid_utf8);
        close_frame_only(WsError::invalid_utf8);
        return false;
      }
      on_message(body);
      return state_ == State::open;
    case Opcode::continuation:
      return on_continuation(h, body);
  }
  on_abuse(AbuseKind::protocol_error);
  close_frame_only(WsError::frame_protocol_error);
  return false;
}

bool WsTransport::on_continuation(const protocol::FrameHeader& h, std::string_view body) {
  if (!in_fragmented()) {
    on_abuse(AbuseKind::bad_fragmentation);
    close_frame_only(WsError::unexpected_continuation);
    return false;
  }
  Cold& c = *cold_;
  const std::uint64_t max_payload = hub().config().websocket_max_payload_kb * 1024;
  if (c.fragments.size() + body.size() > max_payload) {
    on_abuse(AbuseKind::message_too_big);
    close_frame_only(WsError::frame_too_big);
    return false;
  }
  c.fragments.append(body);
  if (!h.fin) return true;
  c.in_fragmented = false;
  std::string message;
  message.swap(c.fragments);
  if (c.fragmented_opcode == protocol::Opcode::text && !protocol::is_valid_utf8(message)) {
    on_abuse(AbuseKind::invalid_utf8);
    close_frame_only(WsError::invalid_utf8);
    return false;
  }
  if (state_ == State::open) on_message(message);
  return state_ == State::open;
}

// ============================================================================================
// TLS I/O: the same model with a TlsChannel between the socket and the frames
// ============================================================================================

bool WsTransport::decrypt_tls() {
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
  if (tls_->pending_out() > 0) mark_dirty();
  return true;
}

bool WsTransport::write_tls_out() {
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

void WsTransport::flush_tls() {
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

// ============================================================================================
// Close handshake and teardown
// ============================================================================================

void WsTransport::close_frame_only(WsError why) {
  if (state_ != State::open) return;
  begin_close(code_of(why), spec(why).message);
}

void WsTransport::begin_close(std::uint16_t code, std::string_view reason) {
  queue_control(protocol::Opcode::close, protocol::close_payload(code, reason));
  close_sent_ = true;
  state_ = State::closing;
  close_deadline_ = Clock::now() + hub().config().close_timeout;
  on_leave();
}

void WsTransport::sweep_close(Clock::time_point now) {
  if (state_ == State::closing && now >= close_deadline_) terminate();
}

void WsTransport::terminate() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  on_leave();
  if (fd_ >= 0) {
    // close() also takes the descriptor out of the worker's epoll set (it is never duplicated).
    (void)::shutdown(fd_, SHUT_RDWR);
    (void)::close(fd_);
    fd_ = -1;
  }
  tls_.reset();
  queue_.clear();
  cold_.reset();
  worker_.counters().connections_closed.fetch_add(1, std::memory_order_relaxed);
  on_terminated();
}

}  // namespace server
