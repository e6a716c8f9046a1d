#pragma once
// A blocking WebSocket test client with deadlines, built on Beast
// (`websocket::stream<beast::tcp_stream>`). Each client owns an io_context that runs only inside
// its own calls, so a client must be used from one thread at a time. Operations that wait take
// an absolute deadline; a timed-out read stays pending and is picked up by the next call, so a
// timeout never corrupts the stream.
//
// Reads happen only inside calls: a client that is not asked to read does not read (use
// RawWsClient for a socket that must never read at all).

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/deadline.hpp"

namespace test_support {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// The default connection path: pusher-js 8.4.0 on protocol 7, app key `app-key`.
inline constexpr std::string_view default_ws_path =
    "/app/app-key?protocol=7&client=js&version=8.4.0";

/// Returns the default path with another app key.
[[nodiscard]] std::string ws_path_for(std::string_view app_key);

/// How a WebSocket connection ended.
struct CloseInfo {
  int code = 0;        ///< close frame code; 1006 when the TCP connection ended without one
  std::string reason;  ///< close frame reason, or the transport error text for 1006
  bool clean = false;  ///< true when a close frame was received
};

/// One result of reading from a WebSocket.
struct Incoming {
  enum class Kind { message, close, timeout };
  Kind kind = Kind::timeout;
  std::string text;  ///< message payload (kind == message)
  bool binary = false;
  CloseInfo close;  ///< kind == close

  [[nodiscard]] bool is_message() const noexcept { return kind == Kind::message; }
  [[nodiscard]] bool is_close() const noexcept { return kind == Kind::close; }
  [[nodiscard]] bool is_timeout() const noexcept { return kind == Kind::timeout; }
  /// A short human-readable description, for failure messages.
  [[nodiscard]] std::string describe() const;
};

class WsClient {
 public:
  WsClient();
  ~WsClient();  ///< drops the TCP connection without a close handshake (if still open)
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  /// TCP connect + WebSocket upgrade to 127.0.0.1:port `path` with `headers` added to the
  /// request. Returns true on a 101. On failure returns false; `handshake_status()` holds the
  /// HTTP status (0 if none was received) and `last_error()` the reason.
  bool connect(std::uint16_t port, std::string_view path = default_ws_path,
               const Headers& headers = {}, Deadline deadline = within(std::chrono::seconds(5)));

  /// connect() (throws ExpectationError on failure) followed by establish(). Returns the
  /// socket id.
  std::string open(std::uint16_t port, std::string_view path = default_ws_path,
                   const Headers& headers = {},
                   Deadline deadline = within(std::chrono::seconds(5)));

  /// Reads the next frame; it must be `pusher:connection_established` with a string `data`
  /// holding `socket_id`. Stores and returns the socket id; the whole frame is in
  /// `established_frame()`. Throws ExpectationError otherwise.
  std::string establish(Deadline deadline = within(std::chrono::seconds(5)));

  [[nodiscard]] const std::string& socket_id() const noexcept { return socket_id_; }
  [[nodiscard]] const std::string& established_frame() const noexcept { return established_; }
  [[nodiscard]] int handshake_status() const noexcept { return handshake_status_; }
  [[nodiscard]] const std::string& last_error() const noexcept { return last_error_; }

  // ---- sending (each waits until the frame is written; throws ExpectationError on failure) --
  void send_text(std::string_view text, Deadline deadline = within(std::chrono::seconds(5)));
  void send_binary(std::string_view bytes, Deadline deadline = within(std::chrono::seconds(5)));
  /// Sends a WebSocket-level Ping frame; see wait_pong().
  void ping(std::string_view payload = {}, Deadline deadline = within(std::chrono::seconds(5)));
  /// Keeps reading until a WebSocket-level Pong arrives after the last ping(). Messages that
  /// arrive meanwhile are queued for receive(). Returns the pong payload or nullopt.
  std::optional<std::string> wait_pong(Deadline deadline);

  /// Sends `pusher:subscribe` (see subscribe_frame: empty auth/channel_data are omitted).
  void subscribe(std::string_view channel, std::string_view auth = {},
                 std::string_view channel_data = {});
  /// subscribe() then expect the next frame to be `pusher_internal:subscription_succeeded` for
  /// `channel`. Returns that frame's data string.
  std::string subscribe_ok(std::string_view channel, std::string_view auth = {},
                           std::string_view channel_data = {},
                           Deadline deadline = within(std::chrono::seconds(5)));
  void unsubscribe(std::string_view channel);

  // ---- receiving ----
  /// Next message, a close, or a timeout at `deadline`.
  Incoming receive(Deadline deadline);
  /// Next text/binary message, or nullopt on close/timeout (see closed()).
  std::optional<std::string> next_message(Deadline deadline);
  /// The next frame must be a message; returns it. Throws ExpectationError on close/timeout.
  std::string expect_message(Deadline deadline);
  /// The next frame must be a message with `event` == name; returns it (exact sequence).
  std::string expect_event(std::string_view name, Deadline deadline);
  /// Skips frames until one has `event` == name; returns it. Skipped frames are appended to
  /// `skipped` when given. Throws on close/timeout.
  std::string wait_for_event(std::string_view name, Deadline deadline,
                             std::vector<std::string>* skipped = nullptr);
  /// The next frame must be `pusher:error` with `code`; returns its message.
  std::string expect_error(std::int64_t code, Deadline deadline);
  /// A refused subscription of `channel`: the next frames must be the connection-level
  /// `pusher:error` {code} (no channel) and then `pusher:subscription_error` on `channel` with
  /// data {type, error: the same message, status}. Returns the message.
  std::string expect_refused(std::string_view channel, std::int64_t code, std::string_view type,
                             std::int64_t status, Deadline deadline);
  /// What expect_error_then_close() saw.
  struct ErrorThenClose {
    std::string message;  ///< the pusher:error message
    CloseInfo close;      ///< the close that followed
  };
  /// The next frames must be `pusher:error` {code} and then a clean close with the same code.
  /// Throws ExpectationError otherwise. (The close reason is returned, not checked.)
  ErrorThenClose expect_error_then_close(std::int64_t code, Deadline deadline);
  /// The next thing must be a close (allow_messages=false), or a close after any number of
  /// messages (allow_messages=true). Returns it; throws on timeout or a disallowed message.
  CloseInfo expect_close(Deadline deadline, bool allow_messages = false);
  /// Sends `pusher:ping` and expects `pusher:pong` as the very next frame: proves the
  /// connection is alive and that nothing else was queued for it before the pong. Returns the
  /// pong frame.
  std::string expect_alive_and_idle(Deadline deadline = within(std::chrono::seconds(5)));

  /// Starts the close handshake with `code`/`reason` and waits for the peer's close frame and
  /// the end of the TCP connection. Messages still arriving are discarded. Returns the peer's
  /// close (code/reason), or nullopt on timeout/error (see last_error()).
  std::optional<CloseInfo> close(int code = 1000, std::string_view reason = {},
                                 Deadline deadline = within(std::chrono::seconds(5)));
  /// Drops the TCP connection at once (no close frame).
  void drop();

  /// True once a close (or a transport error) was read.
  [[nodiscard]] bool closed() const noexcept { return final_.has_value(); }
  [[nodiscard]] const std::optional<CloseInfo>& close_info() const noexcept { return final_; }

 private:
  using Stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  template <class Pred>
  bool run_until(Pred pred, Deadline deadline);
  void start_read();
  void write(std::string_view bytes, bool binary, Deadline deadline);

  boost::asio::io_context ioc_;
  std::unique_ptr<Stream> ws_;
  boost::beast::flat_buffer rbuf_;
  bool read_pending_ = false;
  bool keep_reading_ = false;  ///< restart reads as they complete (while waiting for a pong)
  std::deque<Incoming> inbox_;
  std::optional<CloseInfo> final_;
  std::size_t pongs_ = 0;
  std::size_t pongs_at_ping_ = 0;
  std::string last_pong_;
  std::string socket_id_;
  std::string established_;
  int handshake_status_ = 0;
  std::string last_error_;
};

}  // namespace test_support
