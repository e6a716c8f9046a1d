#include "bench/io.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include "server/clock.hpp"

namespace bench::io {

namespace {

SSL_CTX* g_ctx = nullptr;
std::vector<SSL*> g_ssl;  // by fd

SSL* ssl_of(int fd) {
  return fd >= 0 && static_cast<std::size_t>(fd) < g_ssl.size() ? g_ssl[fd] : nullptr;
}

bool wait_fd(int fd, short events, std::int64_t deadline) {
  for (;;) {
    const std::int64_t left = deadline - server::steady_ms();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

std::string ssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "handshake failed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

void enable_tls() {
  if (g_ctx != nullptr) return;
  g_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(g_ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(g_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

bool tls_enabled() noexcept {
  return g_ctx != nullptr;
}

bool start(int fd, int timeout_ms, std::string& error) {
  if (g_ctx == nullptr) return true;
  const std::int64_t deadline = server::steady_ms() + timeout_ms;
  if (!wait_fd(fd, POLLOUT, deadline)) {
    error = "tls: connect timed out";
    return false;
  }
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    errno = err;
    error = "tls: connect failed";
    return false;
  }
  SSL* ssl = SSL_new(g_ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    if (ssl != nullptr) SSL_free(ssl);
    error = "tls: " + ssl_reason();
    return false;
  }
  for (;;) {
    const int r = SSL_connect(ssl);
    if (r == 1) break;
    const int e = SSL_get_error(ssl, r);
    const bool ok = (e == SSL_ERROR_WANT_READ && wait_fd(fd, POLLIN, deadline)) ||
                    (e == SSL_ERROR_WANT_WRITE && wait_fd(fd, POLLOUT, deadline));
    if (!ok) {
      error = "tls: " + ssl_reason();
      SSL_free(ssl);
      return false;
    }
  }
  if (static_cast<std::size_t>(fd) >= g_ssl.size())
    g_ssl.resize(static_cast<std::size_t>(fd) + 1024);
  g_ssl[fd] = ssl;
  return true;
}

ssize_t send(int fd, const void* data, std::size_t size, int flags) {
  SSL* ssl = ssl_of(fd);
  if (ssl == nullptr) return ::send(fd, data, size, flags);
  if (size == 0) return 0;
  const int r = SSL_write(ssl, data, static_cast<int>(size));
  if (r > 0) return r;
  const int e = SSL_get_error(ssl, r);
  ERR_clear_error();
  errno = (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) ? EAGAIN : ECONNRESET;
  return -1;
}

ssize_t recv(int fd, void* data, std::size_t size, int flags) {
  SSL* ssl = ssl_of(fd);
  if (ssl == nullptr) return ::recv(fd, data, size, flags);
  const int r = SSL_read(ssl, data, static_cast<int>(size));
  if (r > 0) return r;
  const int e = SSL_get_error(ssl, r);
  ERR_clear_error();
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) return 0;
  errno = ECONNRESET;
  return -1;
}

int close(int fd) {
  if (SSL* ssl = ssl_of(fd)) {
    SSL_free(ssl);
    g_ssl[fd] = nullptr;
  }
  return ::close(fd);
}

}  // namespace bench::io
