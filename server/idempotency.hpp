#pragma once
// Idempotent HTTP publishes (Sockudo's `idempotency`): the first request with a key claims it;
// a retry within the TTL gets the first one's answer and publishes nothing. Per app; bounded
// (expired keys are dropped as new ones come, and past `max_keys` the oldest go). Thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace server {

class IdempotencyCache {
 public:
  IdempotencyCache(std::chrono::seconds ttl, std::size_t max_keys) noexcept
      : ttl_ms_(static_cast<std::int64_t>(ttl.count()) * 1000), max_keys_(max_keys) {}

  /// What `claim` found.
  struct Claim {
    enum class State : std::uint8_t {
      fresh,        ///< first use: publish, then `complete`
      answered,     ///< a retry: answer `body` (status 200), publish nothing
      in_progress,  ///< the first request has not answered yet
    };
    State state = State::fresh;
    std::string body;
  };
  /// Claims `key` of `app_id` (any thread).
  Claim claim(std::string_view app_id, std::string_view key);
  /// Stores the answer of a claimed key (any thread).
  void complete(std::string_view app_id, std::string_view key, std::string body);
  /// Releases a claimed key whose request failed before publishing (a retry may publish).
  void release(std::string_view app_id, std::string_view key);

  [[nodiscard]] std::size_t size();

 private:
  struct Entry {
    std::int64_t expires_ms = 0;
    std::optional<std::string> body;  ///< unset while in progress
  };
  static std::string full_key(std::string_view app_id, std::string_view key);
  void expire(std::int64_t now);

  std::int64_t ttl_ms_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::pair<std::int64_t, std::string>> order_;  ///< (expiry, key), oldest first
};

}  // namespace server
