#pragma once
// The WebSocket transport of one connection after the HTTP upgrade: RFC 6455 framing on a raw
// descriptor, with or without TLS. It knows frames, the send queue and the close handshake;
// what a message means (the Pusher protocol) is the derived class's (server/ws_session.hpp).
//  - the socket is a plain fd in the worker's edge-triggered epoll set (Worker::watch), not an
//    Asio socket: readiness arrives through on_io();
//  - reads: read non-blocking into the worker's scratch buffer until the socket is drained, parse
//    and unmask frames in place; only a partial frame is copied into the transport (Cold);
//  - writes: one bounded SendQueue of shared pre-encoded frames and a single writer that sends
//    everything queued with one gathered non-blocking write, waiting only under backpressure.
// Control frames (pong, close) go through the same writer. Timers are a per-worker sweep, so an
// idle connection holds no timer object.
// With TLS (a TlsChannel from the HTTP stage) the model is the same: ciphertext is read
// non-blocking into the scratch buffer and decrypted there; queued frames are encrypted in
// batches into the channel's output buffer, written non-blocking. The plain path only tests
// `tls_` once per read and per flush.
// Threading: every member function runs on the owning worker's thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/ws_frame.hpp"
#include "server/abuse.hpp"
#include "server/errors.hpp"
#include "server/net.hpp"
#include "server/send_queue.hpp"
#include "server/tls.hpp"

namespace server {

class Worker;
class Hub;
struct AppCounters;

class WsTransport : public std::enable_shared_from_this<WsTransport> {
 public:
  using Clock = std::chrono::steady_clock;

  WsTransport(const WsTransport&) = delete;
  WsTransport& operator=(const WsTransport&) = delete;

  /// Queues one shared frame (data path). Never tears down synchronously: a consumer over its
  /// budget is scheduled for close (on_slow_consumer).
  void enqueue(const SharedFrame& frame);
  /// Called by the worker's flush pass: writes what is queued, without blocking.
  void flush();
  /// Called by the worker's epoll pass: `events` is the epoll mask (EPOLLIN, EPOLLOUT, ...).
  void on_io(std::uint32_t events);

  [[nodiscard]] bool is_open() const noexcept { return state_ == State::open; }

  bool dirty = false;  ///< in the worker's dirty list (owned by Worker)

 protected:
  enum class State : std::uint8_t { handshake, open, closing, closed };

 private:
  // (The one-byte members first, next to `dirty`: they share one word.)
  State state_ = State::handshake;
  bool write_waiting_ = false;  ///< waiting for EPOLLOUT (the kernel buffer was full)
  bool read_again_ = false;     ///< a posted read continuation is pending
  bool peer_closed_ = false;    ///< the peer's close frame arrived
  bool close_sent_ = false;     ///< our close frame is queued
  bool over_budget_ = false;    ///< a slow-consumer close is scheduled
  bool fd_prepared_ = false;    ///< non-blocking with TCP_NODELAY already (fast accept path)

 protected:
  /// Takes over `socket`'s descriptor (an Asio socket from the HTTP stage), with its TLS channel.
  WsTransport(Worker& worker, tcp::socket socket, std::unique_ptr<TlsChannel> tls);
  /// A plain descriptor from the fast accept path: non-blocking with TCP_NODELAY already;
  /// `in_epoll`: registered in the worker's epoll set by the handshake.
  WsTransport(Worker& worker, int fd, bool in_epoll);
  /// Closes the descriptor if terminate() did not.
  virtual ~WsTransport();

  // ---- what the protocol on top provides -------------------------------------------------
  /// One complete text or binary message (UTF-8 checked for text), in the open state.
  virtual void on_message(std::string_view text) = 0;
  /// A WebSocket ping arrived (proof of liveness); false: do not answer it (rate limited).
  virtual bool on_ping() = 0;
  /// The connection stops carrying messages: our close frame is queued or the socket is gone.
  /// Called once per close path (begin_close, terminate); the protocol leaves its channels.
  virtual void on_leave() = 0;
  /// The socket is closed and released; the owner lets go of the connection.
  virtual void on_terminated() = 0;
  /// A misbehaving peer (bad frames, oversized messages); the protocol logs it with its ids.
  virtual void on_abuse(AbuseKind kind) = 0;
  /// The queue stayed over budget (posted, never inside enqueue): close the connection.
  virtual void on_slow_consumer() = 0;

  // ---- for the protocol on top -----------------------------------------------------------
  /// Starts the transport: the 101 response is queued, the state is open, and the worker's
  /// flush pass will write it. Socket options of a descriptor from the Asio stage are set here.
  void open(std::string_view accept_key);
  /// Processes bytes that arrived with the upgrade request, then watches the descriptor
  /// (edge-triggered). May terminate.
  void begin_reading(std::string_view leftover);
  /// Queues a text frame built from `json` (budget-counted like any data frame).
  void queue_json(std::string_view json);
  /// Queues a close frame with `code`/`reason`, enters closing and starts the close deadline.
  void begin_close(std::uint16_t code, std::string_view reason);
  /// A close frame alone for a situation of the error map (no pusher:error before it).
  void close_frame_only(WsError why);
  /// Abrupt end (I/O error, peer gone, deadline): leave, close the socket. Idempotent.
  void terminate();
  /// The sweep's part of the transport: ends a close handshake past its deadline.
  void sweep_close(Clock::time_point now);
  [[nodiscard]] bool closed() const noexcept { return state_ == State::closed; }
  [[nodiscard]] bool closing() const noexcept { return state_ == State::closing; }
  [[nodiscard]] Clock::time_point last_activity() const noexcept { return last_activity_; }
  [[nodiscard]] Hub& hub() const noexcept;

  Worker& worker_;
  AppCounters* stats_ = nullptr;  ///< byte and message counters (the app's, once known)

 private:
  /// Reads until the socket is drained (or for a few rounds, then continues in a posted handler).
  void read_ready();
  /// The kernel send buffer is full: wait for EPOLLOUT (a consumer over budget is shed).
  void wait_writable();
  void process_bytes(std::uint8_t* data, std::size_t size);
  /// Handles one complete frame; returns false when the transport stopped reading.
  bool on_frame(const protocol::FrameHeader& h, std::uint8_t* payload);
  /// A continuation frame of a fragmented message.
  bool on_continuation(const protocol::FrameHeader& h, std::string_view body);
  void queue_control(protocol::Opcode op, std::string_view payload);
  /// Pushes a budget-counted frame; sheds the connection when it is a slow consumer.
  void push_counted(const SharedFrame& frame);
  void shed_slow_consumer();
  void mark_dirty();
  // ---- TLS variants of the I/O above ----
  /// Decrypts everything buffered in tls_ and processes it; false when the transport stopped.
  bool decrypt_tls();
  void flush_tls();
  /// Writes tls_'s pending ciphertext; false when it waits for writability or terminated.
  bool write_tls_out();

  bool fd_in_epoll_ = false;         ///< registered in the worker's epoll set by the handshake
  int fd_ = -1;                      ///< the connection's socket (owned; non-blocking)
  std::unique_ptr<TlsChannel> tls_;  ///< null on the plain path

  SendQueue queue_;
  /// State most connections never need, allocated on first use: a partial frame carried
  /// between reads, a fragmented message being reassembled.
  struct Cold {
    std::string inbuf;
    std::string fragments;
    bool in_fragmented = false;
    protocol::Opcode fragmented_opcode = protocol::Opcode::text;
  };
  std::unique_ptr<Cold> cold_;
  Cold& cold() {
    if (!cold_) cold_ = std::make_unique<Cold>();
    return *cold_;
  }
  [[nodiscard]] bool in_fragmented() const noexcept { return cold_ && cold_->in_fragmented; }

  Clock::time_point last_activity_{};
  Clock::time_point close_deadline_{};
};

}  // namespace server
