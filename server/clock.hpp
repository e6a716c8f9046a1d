#pragma once
// The two millisecond clocks the server reads: wall time (unix ms, for timestamps that leave the
// process) and monotonic time (steady ms, for intervals, rate windows and deadlines).
// Header-only; the one definition of both.

#include <chrono>
#include <cstdint>

namespace server {

/// Milliseconds since the unix epoch (std::chrono::system_clock).
[[nodiscard]] inline std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Milliseconds of std::chrono::steady_clock (monotonic; the epoch is unspecified).
[[nodiscard]] inline std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace server
