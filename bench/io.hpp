#pragma once
// Socket I/O of the bench connections, plain or TLS (--tls). Without --tls these are the plain
// syscalls. With --tls every connection (subscribers and publisher) does a TLS handshake right
// after connect() (synchronously, bounded by a deadline: setup cost, outside the measured
// window), then send/recv go through OpenSSL with the same non-blocking semantics: -1 with
// errno EAGAIN when it would block, 0 at EOF. The server's certificate is not verified (the
// bench measures the server, over loopback). Single-threaded per process.

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace bench::io {

/// Turns TLS on for every connection made from now on (process-wide).
void enable_tls();
[[nodiscard]] bool tls_enabled() noexcept;

/// Call after a non-blocking connect() of `fd`. With TLS: waits for the connection and does the
/// handshake (at most `timeout_ms`); false with a reason in `error`. Without TLS: true.
bool start(int fd, int timeout_ms, std::string& error);

ssize_t send(int fd, const void* data, std::size_t size, int flags);
ssize_t recv(int fd, void* data, std::size_t size, int flags);
/// Frees the fd's TLS state (if any) and closes it.
int close(int fd);

}  // namespace bench::io
