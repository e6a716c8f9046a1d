#include "tests/support/raw_ws_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

#include "tests/support/json_helpers.hpp"

namespace test_support {
namespace {

std::mt19937& rng() {
  thread_local std::mt19937 gen{std::random_device{}()};
  return gen;
}

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

int remaining_ms(Deadline deadline) {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Returns the value of header `name` (case-insensitive) in an HTTP response head.
std::optional<std::string> header_value(std::string_view head, std::string_view name) {
  const std::string lname = lower(name);
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos || end == start) break;
    const std::string_view line = head.substr(start, end - start);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && lower(line.substr(0, colon)) == lname) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return std::string(v);
    }
    pos = end;
  }
  return std::nullopt;
}

}  // namespace

int RawFrame::close_code() const {
  if (payload.size() < 2) return 1005;
  return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
}

std::string RawFrame::close_reason() const {
  return payload.size() > 2 ? payload.substr(2) : "";
}

std::string RawFrame::describe() const {
  switch (kind) {
    case Kind::eof:
      return "EOF";
    case Kind::timeout:
      return "timeout";
    case Kind::error:
      return "error: " + error;
    case Kind::frame:
      break;
  }
  std::string out = "frame opcode=" + std::to_string(opcode) + (fin ? " fin" : " !fin");
  if (opcode == static_cast<std::uint8_t>(Opcode::close)) {
    out += " code=" + std::to_string(close_code()) + " reason=\"" + close_reason() + "\"";
  } else {
    out += " payload=" + (payload.size() > 300 ? payload.substr(0, 300) + "..." : payload);
  }
  return out;
}

std::string encode_frame(Opcode opcode, std::string_view payload, const FrameOptions& opts) {
  std::string out;
  out += static_cast<char>((opts.fin ? 0x80 : 0) | ((opts.rsv & 7) << 4) |
                           static_cast<std::uint8_t>(opcode));
  const std::uint64_t len = opts.declared_length.value_or(payload.size());
  const std::uint8_t mask_bit = opts.masked ? 0x80 : 0;
  if (len < 126) {
    out += static_cast<char>(mask_bit | len);
  } else if (len <= 0xffff) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>((len >> 8) & 0xff);
    out += static_cast<char>(len & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((len >> shift) & 0xff);
  }
  if (!opts.masked) {
    out.append(payload);
    return out;
  }
  std::array<char, 4> key{};
  for (auto& k : key) k = static_cast<char>(rng()() & 0xff);
  out.append(key.data(), key.size());
  const std::size_t start = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < payload.size(); ++i) out[start + i] ^= key[i % 4];
  return out;
}

RawWsClient::~RawWsClient() {
  close();
}

void RawWsClient::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void RawWsClient::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool RawWsClient::connect(std::uint16_t port, Deadline deadline) {
  close();
  in_.clear();
  head_.clear();
  body_.clear();
  error_.clear();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  if (rcvbuf_ > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_, sizeof rcvbuf_);
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      error_ = std::string("connect: ") + std::strerror(errno);
      close();
      return false;
    }
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      error_ = "connect timed out";
      close();
      return false;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      error_ = std::string("connect: ") + std::strerror(err);
      close();
      return false;
    }
  }
  return true;
}

RawWsClient::Fill RawWsClient::fill(Deadline deadline) {
  if (fd_ < 0) {
    error_ = "not connected";
    return Fill::error;
  }
  for (;;) {
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      return Fill::data;
    }
    if (n == 0) return Fill::eof;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error_ = std::strerror(errno);
      return Fill::error;
    }
    const int wait = remaining_ms(deadline);
    if (wait == 0) return Fill::timeout;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, wait);
    if (r == 0) return Fill::timeout;
    if (r < 0 && errno != EINTR) {
      error_ = std::string("poll: ") + std::strerror(errno);
      return Fill::error;
    }
  }
}

bool RawWsClient::send_bytes(std::string_view bytes, Deadline deadline) {
  if (fd_ < 0) {
    error_ = "not connected";
    return false;
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const int wait = remaining_ms(deadline);
      pollfd p{fd_, POLLOUT, 0};
      if (wait == 0 || ::poll(&p, 1, wait) == 0) {
        error_ = "send timed out after " + std::to_string(sent) + " of " +
                 std::to_string(bytes.size()) + " bytes";
        return false;
      }
      continue;
    }
    error_ = std::string("send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool RawWsClient::send_frame(Opcode opcode, std::string_view payload, const FrameOptions& opts,
                             Deadline deadline) {
  return send_bytes(encode_frame(opcode, payload, opts), deadline);
}

bool RawWsClient::send_text(std::string_view text, Deadline deadline) {
  return send_frame(Opcode::text, text, {}, deadline);
}

bool RawWsClient::send_close(int code, std::string_view reason, Deadline deadline) {
  std::string payload;
  payload += static_cast<char>((code >> 8) & 0xff);
  payload += static_cast<char>(code & 0xff);
  payload += reason;
  return send_frame(Opcode::close, payload, {}, deadline);
}

int RawWsClient::read_head(Deadline deadline) {
  std::size_t end;
  while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
    const Fill f = fill(deadline);
    if (f != Fill::data) {
      error_ = f == Fill::timeout ? "timed out reading the response head"
                                  : "connection ended before the response head (" + error_ + ")";
      return 0;
    }
  }
  head_ = in_.substr(0, end + 4);
  in_.erase(0, end + 4);
  // "HTTP/1.1 101 Switching Protocols"
  const std::size_t sp = head_.find(' ');
  if (sp == std::string::npos) return 0;
  const int status = std::atoi(head_.c_str() + sp + 1);
  if (status != 101) {
    std::size_t want = 0;
    if (auto cl = header_value(head_, "content-length")) want = std::stoul(*cl);
    while (in_.size() < want && fill(deadline) == Fill::data) {
    }
    body_ = in_.substr(0, std::min(want, in_.size()));
    in_.erase(0, body_.size());
  }
  return status;
}

int RawWsClient::upgrade(std::string_view path, const Headers& headers, Deadline deadline) {
  std::array<unsigned char, 16> nonce{};
  for (auto& b : nonce) b = static_cast<unsigned char>(rng()() & 0xff);
  const std::string key = base64(nonce.data(), nonce.size());
  std::string req = "GET " + std::string(path) + " HTTP/1.1\r\n";
  req += "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  req += "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n";
  for (const auto& [name, value] : headers) req += name + ": " + value + "\r\n";
  req += "\r\n";
  const int status = send_http(req, deadline);
  if (status == 101) {
    const std::string magic = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(magic.data()), magic.size(), digest);
    const std::string expected = base64(digest, sizeof digest);
    const auto accept = header_value(head_, "sec-websocket-accept");
    if (!accept || *accept != expected) {
      error_ = "101 response with a wrong Sec-WebSocket-Accept (" + accept.value_or("missing") +
               ", expected " + expected + ")";
      return 0;
    }
  }
  return status;
}

int RawWsClient::send_http(std::string_view request, Deadline deadline) {
  if (!send_bytes(request, deadline)) return 0;
  return read_head(deadline);
}

std::string RawWsClient::open(std::uint16_t port, std::string_view path, const Headers& headers,
                              Deadline deadline) {
  if (!connect(port, deadline)) throw ExpectationError("raw connect failed: " + error_);
  const int status = upgrade(path, headers, deadline);
  if (status != 101) {
    throw ExpectationError("raw upgrade failed: HTTP " + std::to_string(status) + " " + error_ +
                           "\n" + head_);
  }
  const std::string msg = expect_event("pusher:connection_established", deadline);
  socket_id_ = socket_id_of(msg);
  return socket_id_;
}

RawFrame RawWsClient::read_frame(Deadline deadline) {
  RawFrame f;
  for (;;) {
    if (in_.size() >= 2) {
      const auto b0 = static_cast<unsigned char>(in_[0]);
      const auto b1 = static_cast<unsigned char>(in_[1]);
      std::size_t header = 2;
      std::uint64_t len = b1 & 0x7f;
      if (len == 126) header += 2;
      if (len == 127) header += 8;
      const bool masked = (b1 & 0x80) != 0;
      if (masked) header += 4;
      if (in_.size() >= header) {
        if (len == 126) {
          len = (static_cast<unsigned char>(in_[2]) << 8) | static_cast<unsigned char>(in_[3]);
        } else if (len == 127) {
          len = 0;
          for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(in_[2 + i]);
        }
        if (in_.size() >= header + len) {
          f.kind = RawFrame::Kind::frame;
          f.fin = (b0 & 0x80) != 0;
          f.rsv = static_cast<std::uint8_t>((b0 >> 4) & 7);
          f.opcode = static_cast<std::uint8_t>(b0 & 0x0f);
          f.masked = masked;
          f.payload = in_.substr(header, len);
          if (masked) {
            const std::string key = in_.substr(header - 4, 4);
            for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] ^= key[i % 4];
          }
          in_.erase(0, header + len);
          last_ = f;
          return f;
        }
      }
    }
    const Fill r = fill(deadline);
    if (r == Fill::data) continue;
    f.kind = r == Fill::eof       ? RawFrame::Kind::eof
             : r == Fill::timeout ? RawFrame::Kind::timeout
                                  : RawFrame::Kind::error;
    f.error = error_;
    last_ = f;
    return f;
  }
}

std::optional<std::string> RawWsClient::read_message(Deadline deadline) {
  std::string msg;
  bool in_message = false;
  for (;;) {
    RawFrame f = read_frame(deadline);
    if (!f.is_frame()) return std::nullopt;
    const auto op = static_cast<Opcode>(f.opcode);
    if (op == Opcode::close) return std::nullopt;
    if (op == Opcode::ping || op == Opcode::pong) continue;
    if (op == Opcode::text || op == Opcode::binary) {
      msg = std::move(f.payload);
      in_message = true;
    } else if (op == Opcode::continuation && in_message) {
      msg += f.payload;
    }
    if (f.fin && in_message) return msg;
  }
}

std::string RawWsClient::expect_event(std::string_view name, Deadline deadline) {
  auto msg = read_message(deadline);
  if (!msg) {
    throw ExpectationError("expected event " + std::string(name) + ", got " + last_.describe());
  }
  std::string ev;
  try {
    ev = event_of(*msg);
  } catch (const std::exception&) {
  }
  if (ev != name) throw ExpectationError("expected event " + std::string(name) + ", got " + *msg);
  return *msg;
}

CloseInfo RawWsClient::expect_close(Deadline deadline, bool allow_messages,
                                    std::size_t* skipped_messages) {
  for (;;) {
    RawFrame f = read_frame(deadline);
    switch (f.kind) {
      case RawFrame::Kind::timeout:
        throw ExpectationError("expected a close, timed out");
      case RawFrame::Kind::eof:
        return CloseInfo{1006, "EOF", false};
      case RawFrame::Kind::error:
        return CloseInfo{1006, f.error, false};
      case RawFrame::Kind::frame:
        break;
    }
    if (f.opcode == static_cast<std::uint8_t>(Opcode::close)) {
      return CloseInfo{f.close_code(), f.close_reason(), true};
    }
    if (!allow_messages) throw ExpectationError("expected a close, got " + f.describe());
    if (skipped_messages != nullptr && f.fin) ++*skipped_messages;
  }
}

bool RawWsClient::wait_eof(Deadline deadline) {
  in_.clear();
  for (;;) {
    const Fill r = fill(deadline);
    if (r == Fill::eof || r == Fill::error) return true;
    if (r == Fill::timeout) return false;
    in_.clear();
  }
}

}  // namespace test_support
