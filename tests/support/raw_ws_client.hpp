#pragma once
// A WebSocket client on a plain POSIX TCP socket that does the HTTP upgrade by hand and then
// reads and writes raw RFC 6455 frames. For tests that need frames a well-behaved client never
// sends (unmasked, fragmented, oversized, invalid UTF-8, odd opcodes), exact control-frame
// exchanges, a TCP connection that never upgrades, or a client that never reads.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/deadline.hpp"
#include "tests/support/ws_client.hpp"

namespace test_support {

/// RFC 6455 opcodes.
enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// One frame read from the server, or why none was.
struct RawFrame {
  enum class Kind { frame, eof, timeout, error };
  Kind kind = Kind::timeout;
  bool fin = true;
  std::uint8_t rsv = 0;  ///< the three RSV bits (RSV1 = 4)
  std::uint8_t opcode = 0;
  bool masked = false;  ///< a server must never mask
  std::string payload;  ///< unmasked
  std::string error;    ///< kind == error

  [[nodiscard]] bool is_frame() const noexcept { return kind == Kind::frame; }
  /// Close frame status code (1005 when the payload is empty). Precondition: a close frame.
  [[nodiscard]] int close_code() const;
  /// Close frame reason. Precondition: a close frame.
  [[nodiscard]] std::string close_reason() const;
  [[nodiscard]] std::string describe() const;
};

/// Options for building a frame by hand.
struct FrameOptions {
  bool fin = true;
  bool masked = true;    ///< clients must mask; false to test the server's check
  std::uint8_t rsv = 0;  ///< RSV bits to set (4 = RSV1)
  std::optional<std::uint64_t> declared_length;  ///< lie about the payload length
};

/// Shorthands for FrameOptions.
inline FrameOptions non_final() {
  FrameOptions o;
  o.fin = false;
  return o;
}
inline FrameOptions unmasked() {
  FrameOptions o;
  o.masked = false;
  return o;
}
inline FrameOptions with_rsv(std::uint8_t rsv) {
  FrameOptions o;
  o.rsv = rsv;
  return o;
}

/// Encodes one frame. Masks with a random key when `opts.masked`.
[[nodiscard]] std::string encode_frame(Opcode opcode, std::string_view payload,
                                       const FrameOptions& opts = {});

class RawWsClient {
 public:
  RawWsClient() = default;
  ~RawWsClient();
  RawWsClient(const RawWsClient&) = delete;
  RawWsClient& operator=(const RawWsClient&) = delete;

  /// SO_RCVBUF for the next connect() (set before connecting so the TCP window stays small).
  void set_receive_buffer(int bytes) { rcvbuf_ = bytes; }

  /// TCP connect to 127.0.0.1:port. Returns false (see last_error()) on failure/timeout.
  bool connect(std::uint16_t port, Deadline deadline = within(std::chrono::seconds(5)));

  /// Sends a GET upgrade request for `path` (+ `headers`) and reads the response head. Returns
  /// the HTTP status (101 on success), or 0 on timeout/EOF. Bytes after the head stay buffered
  /// for read_frame(). `response_head()` holds the raw head, `response_body()` whatever body
  /// bytes arrived with a non-101 response (up to Content-Length, bounded by the deadline).
  int upgrade(std::string_view path = default_ws_path, const Headers& headers = {},
              Deadline deadline = within(std::chrono::seconds(5)));
  /// Sends `request` verbatim (a whole hand-written HTTP request) and reads the response head
  /// the same way as upgrade().
  int send_http(std::string_view request, Deadline deadline = within(std::chrono::seconds(5)));

  /// connect() + upgrade() (must be 101) + read connection_established. Returns the socket id.
  /// Throws ExpectationError on failure.
  std::string open(std::uint16_t port, std::string_view path = default_ws_path,
                   const Headers& headers = {},
                   Deadline deadline = within(std::chrono::seconds(5)));

  [[nodiscard]] const std::string& response_head() const noexcept { return head_; }
  [[nodiscard]] const std::string& response_body() const noexcept { return body_; }
  [[nodiscard]] const std::string& last_error() const noexcept { return error_; }

  /// Writes raw bytes. Returns false if the peer closed/reset the connection or the deadline
  /// passed (see last_error()); never raises SIGPIPE.
  bool send_bytes(std::string_view bytes, Deadline deadline = within(std::chrono::seconds(5)));
  /// encode_frame() + send_bytes().
  bool send_frame(Opcode opcode, std::string_view payload, const FrameOptions& opts = {},
                  Deadline deadline = within(std::chrono::seconds(5)));
  /// A masked, final text frame.
  bool send_text(std::string_view text, Deadline deadline = within(std::chrono::seconds(5)));
  /// A masked close frame with `code` and `reason`.
  bool send_close(int code, std::string_view reason = {},
                  Deadline deadline = within(std::chrono::seconds(5)));

  /// Reads one frame (any opcode, no reassembly).
  RawFrame read_frame(Deadline deadline);
  /// Reads the next data message (reassembling fragments; control frames other than close are
  /// skipped). Returns the text, or nullopt on close/EOF/timeout; the frame that ended it is in
  /// `last_frame()`.
  std::optional<std::string> read_message(Deadline deadline);
  /// The next data message must be a pusher event named `name`. Throws otherwise.
  std::string expect_event(std::string_view name, Deadline deadline);
  /// Reads until a close frame or the end of the connection, skipping data frames when
  /// `allow_messages` (else the next frame must be the close). Returns the close, 1006 for EOF
  /// or reset without a close frame. Throws ExpectationError on timeout.
  CloseInfo expect_close(Deadline deadline, bool allow_messages = true,
                         std::size_t* skipped_messages = nullptr);
  /// Reads and discards until the server ends the TCP connection (EOF or reset). Returns false
  /// on timeout.
  bool wait_eof(Deadline deadline);

  [[nodiscard]] const RawFrame& last_frame() const noexcept { return last_; }
  [[nodiscard]] const std::string& socket_id() const noexcept { return socket_id_; }
  /// Half-closes (SHUT_WR) the connection.
  void shutdown_write();
  void close();

 private:
  enum class Fill { data, eof, timeout, error };
  Fill fill(Deadline deadline);  // reads more bytes into in_
  int read_head(Deadline deadline);

  int fd_ = -1;
  int rcvbuf_ = 0;
  std::string in_;
  std::string head_;
  std::string body_;
  std::string error_;
  std::string socket_id_;
  RawFrame last_;
};

}  // namespace test_support
