#pragma once
// TLS on the main port (OpenSSL).
//  - TlsContext: the server context built from Config::ssl: TLS 1.2 or newer only, certificate
//    chain, private key (optional passphrase), optional extra CA/chain file. Loading fails with
//    a ConfigError that names the file and OpenSSL's reason (start-up only).
//  - TlsChannel: one connection's TLS state after the handshake, driven through memory BIOs so
//    that WsTransport keeps its own I/O model (non-blocking reads into the worker's scratch buffer,
//    gathered non-blocking writes): ciphertext read from the socket goes in with feed(),
//    plaintext comes out of read(); plaintext frames go in with write(), ciphertext to send
//    comes out of out_data()/consume_out().
// The HTTP stage (HttpSession) does the handshake with an asio ssl::stream; at the WebSocket
// upgrade the SSL object moves into a TlsChannel (adopt()), with any bytes already buffered.
// Threading: a TlsChannel belongs to one session (one worker thread); TlsContext is shared and
// read-only after start.

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/config.hpp"
#include "server/net.hpp"

namespace server {

using TlsStream = net::ssl::stream<beast::tcp_stream>;

class TlsContext {
 public:
  /// Loads certificate, key and CA file. Throws ConfigError with a clear message.
  explicit TlsContext(const SslConfig& cfg);
  [[nodiscard]] net::ssl::context& context() noexcept { return ctx_; }

 private:
  net::ssl::context ctx_;
  std::string passphrase_;
};

class TlsChannel {
 public:
  enum class ReadStatus : std::uint8_t { data, want_more, closed, error };

  /// Takes over the (handshaken) SSL object of `stream`: one more reference is taken, its BIOs
  /// are replaced by memory BIOs, and ciphertext the stream had buffered but not decrypted yet
  /// is carried over. Returns nullptr when OpenSSL fails to allocate.
  static std::unique_ptr<TlsChannel> adopt(TlsStream& stream);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  /// Ciphertext read from the socket. Returns false when OpenSSL refuses it (out of memory).
  bool feed(const std::uint8_t* data, std::size_t size);
  /// Decrypts into `out` (at most `cap` bytes); `n` is the plaintext size when data.
  ReadStatus read(std::uint8_t* out, std::size_t cap, std::size_t& n);
  /// True when decrypted plaintext (or a full record) is buffered inside OpenSSL.
  [[nodiscard]] bool has_buffered_input() const noexcept;
  /// Encrypts all of `data` (memory BIO writes cannot block). False on a TLS error.
  bool write(const void* data, std::size_t size);
  /// Queues a close_notify alert (once).
  void shutdown();

  /// Ciphertext waiting to be written to the socket.
  [[nodiscard]] std::size_t pending_out() const noexcept;
  [[nodiscard]] const char* out_data() const noexcept;
  /// Drops `n` bytes of written ciphertext from the front.
  void consume_out(std::size_t n) noexcept;

 private:
  TlsChannel() = default;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  ///< ciphertext in (owned by ssl_)
  BIO* wbio_ = nullptr;  ///< ciphertext out (owned by ssl_)
  bool shutdown_sent_ = false;
};

/// A failed TLS handshake on the main port (plain-text client, old protocol version, ...):
/// counted in pushcore_tls_handshake_failures_total and logged at most once per 10 s burst with
/// the number of failures since the last line. Any thread.
void note_tls_handshake_failure(const boost::system::error_code& ec, const std::string& remote);
[[nodiscard]] std::uint64_t tls_handshake_failures() noexcept;

}  // namespace server
