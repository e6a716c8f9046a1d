#pragma once
// Deadlines for blocking test helpers. Every wait in the e2e layer takes an absolute deadline
// (never a bare sleep): a helper returns as soon as the awaited thing happens, or reports a
// timeout when the deadline passes.

#include <chrono>
#include <stdexcept>

namespace test_support {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

/// Returns the deadline `d` from now, e.g. `ws.expect_event("pusher:pong", within(2s))`.
inline Deadline within(Clock::duration d) {
  return Clock::now() + d;
}

/// Thrown by `expect_*` helpers when the server did something other than what the test
/// expected. doctest reports the exception text as the failure reason.
struct ExpectationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace test_support
