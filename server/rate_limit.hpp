#pragma once
// Rate limits and per-IP connection limits (README "Security").
//  - FixedWindow: a fixed window counter owned by one thread (a connection's
//    `message_rate_limit` and client-event limits).
//  - WindowLimiter: one fixed window of N units per second, shared by every worker, lock-free
//    (one 64-bit atomic: window number in the high half, units used in the low half). Used per
//    app for `max_backend_events_per_second` and `max_read_requests_per_second`.
//  - IpLimiter: per-IP connect-rate windows (`rate_limiter.websocket_rate_limit`) and concurrent
//    WebSocket counts (`max_connections_per_ip`). Sharded: 64 shards, each a small mutex and a
//    hash map, so workers contend only when two connects hash to the same shard. Memory is
//    bounded: entries with no open connection and an expired window are erased when touched,
//    a full shard is swept first, and when it is still full (every entry busy) the connect is
//    allowed untracked and counted (`table_full`), never an unbounded insert.
// Time is a parameter (milliseconds on any monotonic clock) so the logic is unit-tested.
// Threading: every member function is safe from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace server {

/// Outcome of a rate-limit check, with what the 429 headers report.
struct RateDecision {
  bool allowed = true;
  std::uint64_t limit = 0;      ///< X-RateLimit-Limit
  std::uint64_t remaining = 0;  ///< X-RateLimit-Remaining (after this request)
  std::uint64_t reset_s = 0;    ///< seconds until the window ends (X-RateLimit-Reset, Retry-After)
};

/// A fixed window counter of one owner (one thread, no atomics): 16 bytes.
struct FixedWindow {
  using Clock = std::chrono::steady_clock;
  Clock::time_point start{};
  std::uint32_t count = 0;  ///< units taken in the current window (saturates)
  bool noted = false;       ///< the owner's flag for this window (e.g. "refusal reported")

  /// Counts one unit in the window of length `window` that contains `now` (a new window starts
  /// when the last one is over, and clears `noted`). True while the window's units are within
  /// `limit`.
  bool take(Clock::time_point now, Clock::duration window, std::uint64_t limit) noexcept {
    if (now - start >= window) {
      start = now;
      count = 0;
      noted = false;
    }
    if (count != UINT32_MAX) ++count;
    return count <= limit;
  }
};

/// A fixed one-second window of `limit` units shared by all threads.
class WindowLimiter {
 public:
  /// Takes `units` from the window containing `now_ms` when they all fit (a batch is all or
  /// nothing); otherwise takes nothing. `limit` 0 means unlimited (always allowed, not counted).
  [[nodiscard]] RateDecision try_take(std::uint64_t units, std::uint64_t limit,
                                      std::int64_t now_ms) noexcept;

 private:
  std::atomic<std::uint64_t> state_{0};  ///< (window number << 32) | units used
};

/// Per-IP limits. `window_ms` / `max_connects` configure the connect-rate window (0 = off);
/// `max_concurrent` caps open WebSocket connections per IP (0 = off).
class IpLimiter {
 public:
  struct Settings {
    std::uint64_t max_connects = 0;  ///< connects per window and IP; 0 = no rate limit
    std::int64_t window_ms = 60000;
    std::uint64_t max_concurrent = 0;  ///< open connections per IP; 0 = no cap
    std::size_t max_entries = 65536;   ///< table bound (all shards together)
  };

  enum class Verdict : std::uint8_t {
    allowed,       ///< counted; call release() when the connection ends if `tracked`
    rate_limited,  ///< too many connects in this window (HTTP 429)
    over_cap,      ///< too many open connections from this IP (close 4100)
  };

  struct Result {
    Verdict verdict = Verdict::allowed;
    bool tracked = false;     ///< a concurrent slot was taken (release it exactly once)
    bool table_full = false;  ///< the table had no room: allowed without tracking
    RateDecision rate;        ///< the connect-rate window (headers of the 429)
  };

  explicit IpLimiter(Settings settings) : settings_(settings) {}

  /// True when either limit is on (otherwise callers skip the table entirely).
  [[nodiscard]] bool enabled() const noexcept {
    return settings_.max_connects != 0 || settings_.max_concurrent != 0;
  }

  /// One WebSocket connect attempt from `ip`: checks the rate window, then the concurrent cap,
  /// and takes a concurrent slot when allowed and the cap is on.
  [[nodiscard]] Result on_connect(std::string_view ip, std::int64_t now_ms);

  /// Gives back the concurrent slot of a connection that `on_connect` tracked.
  void release(std::string_view ip, std::int64_t now_ms);

  /// Entries held now (all shards; for tests and metrics).
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::uint64_t active = 0;  ///< open connections
    std::uint64_t window_count = 0;
    std::int64_t window_start_ms = 0;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> map;
  };
  static constexpr std::size_t shard_count = 64;

  [[nodiscard]] bool idle(const Entry& e, std::int64_t now_ms) const noexcept;
  [[nodiscard]] Shard& shard_for(std::string_view ip) noexcept;

  Settings settings_;
  std::array<Shard, shard_count> shards_;
};

}  // namespace server
