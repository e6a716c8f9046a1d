#include "server/tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>

#include "server/clock.hpp"
#include "server/log.hpp"

namespace server {

namespace {

// OpenSSL's reason for the last error (or `fallback`), and a clear error queue afterwards.
std::string openssl_reason(const char* fallback) {
  std::string reason;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;  // the last one is the most specific
  }
  return reason.empty() ? std::string(fallback) : reason;
}

bool readable_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  std::fclose(f);
  return true;
}

void require_file(const std::string& key, const std::string& path) {
  if (!readable_file(path)) {
    throw ConfigError("ssl." + key + ": cannot read " + path);
  }
}

// Extra chain certificates (intermediates) from a PEM file, sent after the leaf certificate.
void add_chain_file(SSL_CTX* ctx, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw ConfigError("ssl.ca_path: cannot read " + path);
  std::size_t count = 0;
  for (;;) {
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    const int ok = SSL_CTX_add1_chain_cert(ctx, cert);
    X509_free(cert);
    if (ok != 1) {
      std::fclose(f);
      throw ConfigError("ssl.ca_path: " + path + ": " + openssl_reason("cannot add certificate"));
    }
    ++count;
  }
  std::fclose(f);
  ERR_clear_error();  // the end-of-file "no start line" of the loop above
  if (count == 0) throw ConfigError("ssl.ca_path: " + path + ": no PEM certificate found");
}

std::atomic<std::uint64_t> g_failures{0};
std::atomic<std::uint64_t> g_failures_logged{0};
std::atomic<std::int64_t> g_last_log_ms{-1};
constexpr std::int64_t failure_log_interval_ms = 10'000;

}  // namespace

TlsContext::TlsContext(const SslConfig& cfg)
    : ctx_(net::ssl::context::tls_server), passphrase_(cfg.passphrase) {
  SSL_CTX* ctx = ctx_.native_handle();
  ERR_clear_error();
  ctx_.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                   net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle connections give their read/write buffers back (many mostly idle WebSockets).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (!passphrase_.empty()) {
    ctx_.set_password_callback(
        [this](std::size_t, net::ssl::context::password_purpose) { return passphrase_; });
  }

  require_file("cert_path", cfg.cert_path);
  require_file("key_path", cfg.key_path);
  if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert_path.c_str()) != 1) {
    throw ConfigError("ssl.cert_path: " + cfg.cert_path + ": " +
                      openssl_reason("not a PEM certificate"));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, cfg.key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw ConfigError("ssl.key_path: " + cfg.key_path + ": " +
                      openssl_reason("not a PEM private key (or a wrong passphrase)"));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw ConfigError("ssl.key_path: " + cfg.key_path + ": " +
                      openssl_reason("the key does not match the certificate"));
  }
  if (!cfg.ca_path.empty()) add_chain_file(ctx, cfg.ca_path);
}

std::unique_ptr<TlsChannel> TlsChannel::adopt(TlsStream& stream) {
  SSL* ssl = stream.native_handle();
  std::unique_ptr<TlsChannel> ch(new TlsChannel());
  ch->rbio_ = BIO_new(BIO_s_mem());
  ch->wbio_ = BIO_new(BIO_s_mem());
  if (ch->rbio_ == nullptr || ch->wbio_ == nullptr || SSL_up_ref(ssl) != 1) {
    if (ch->rbio_ != nullptr) BIO_free(ch->rbio_);
    if (ch->wbio_ != nullptr) BIO_free(ch->wbio_);
    ch->rbio_ = ch->wbio_ = nullptr;
    return nullptr;
  }
  ch->ssl_ = ssl;
  // Ciphertext that reached the stream's BIO pair but was not decrypted yet (a client that sent
  // frames right behind its upgrade request) moves to the new input BIO.
  BIO* old = SSL_get_rbio(ssl);
  if (old != nullptr) {
    char buf[4096];
    while (BIO_ctrl_pending(old) > 0) {
      const int n = BIO_read(old, buf, sizeof buf);
      if (n <= 0) break;
      BIO_write(ch->rbio_, buf, n);
    }
  }
  BIO_set_mem_eof_return(ch->rbio_, -1);  // empty = "want more", not EOF
  // Replaces (and releases) the pair end; the stream frees its other end and its reference.
  SSL_set_bio(ssl, ch->rbio_, ch->wbio_);
  return ch;
}

TlsChannel::~TlsChannel() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees the BIOs too
}

bool TlsChannel::feed(const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const int chunk = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
    const int n = BIO_write(rbio_, data, chunk);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

TlsChannel::ReadStatus TlsChannel::read(std::uint8_t* out, std::size_t cap, std::size_t& n) {
  n = 0;
  const int want = static_cast<int>(std::min<std::size_t>(cap, 1 << 30));
  const int r = SSL_read(ssl_, out, want);
  if (r > 0) {
    n = static_cast<std::size_t>(r);
    return ReadStatus::data;
  }
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return ReadStatus::want_more;
    case SSL_ERROR_ZERO_RETURN:
      return ReadStatus::closed;  // close_notify
    default:
      ERR_clear_error();
      return ReadStatus::error;
  }
}

bool TlsChannel::has_buffered_input() const noexcept {
  return SSL_pending(ssl_) > 0 || BIO_ctrl_pending(rbio_) > 0;
}

bool TlsChannel::write(const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const int chunk = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
    const int r = SSL_write(ssl_, p, chunk);
    if (r <= 0) {
      ERR_clear_error();
      return false;
    }
    p += r;
    size -= static_cast<std::size_t>(r);
  }
  return true;
}

void TlsChannel::shutdown() {
  if (shutdown_sent_) return;
  shutdown_sent_ = true;
  (void)SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::size_t TlsChannel::pending_out() const noexcept {
  return BIO_ctrl_pending(wbio_);
}

const char* TlsChannel::out_data() const noexcept {
  char* p = nullptr;
  (void)BIO_get_mem_data(wbio_, &p);
  return p;
}

void TlsChannel::consume_out(std::size_t n) noexcept {
  // Reads (and thereby drops) the written prefix; a memory BIO only moves its read pointer.
  char sink[4096];
  while (n > 0) {
    const int r = BIO_read(wbio_, sink, static_cast<int>(std::min(n, sizeof sink)));
    if (r <= 0) break;
    n -= static_cast<std::size_t>(r);
  }
}

void note_tls_handshake_failure(const boost::system::error_code& ec, const std::string& remote) {
  const std::uint64_t total = g_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  const std::int64_t now = steady_ms();
  std::int64_t last = g_last_log_ms.load(std::memory_order_relaxed);
  if (last >= 0 && now - last < failure_log_interval_ms) return;
  if (!g_last_log_ms.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  const std::uint64_t before = g_failures_logged.exchange(total, std::memory_order_relaxed);
  log::warn("tls_handshake_failed", {{"remote", remote},
                                     {"error", ec.message()},
                                     {"failures_since_last_log", std::to_string(total - before)},
                                     {"failures_total", std::to_string(total)}});
}

std::uint64_t tls_handshake_failures() noexcept {
  return g_failures.load(std::memory_order_relaxed);
}

}  // namespace server
