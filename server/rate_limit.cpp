#include "server/rate_limit.hpp"

#include <algorithm>
#include <limits>

namespace server {

// ============================================================================================
// WindowLimiter
// ============================================================================================

RateDecision WindowLimiter::try_take(std::uint64_t units, std::uint64_t limit,
                                     std::int64_t now_ms) noexcept {
  RateDecision d;
  if (limit == 0) return d;
  constexpr std::uint64_t max32 = std::numeric_limits<std::uint32_t>::max();
  limit = std::min(limit, max32);
  units = std::min(units, max32);
  const auto now = static_cast<std::uint64_t>(std::max<std::int64_t>(now_ms, 0));
  const std::uint64_t window = (now / 1000) & max32;
  d.limit = limit;
  d.reset_s = 1;  // the window is one second long; it ends within a second
  std::uint64_t cur = state_.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t used = (cur >> 32) == window ? (cur & max32) : 0;
    if (used + units > limit) {
      d.allowed = false;
      d.remaining = limit - std::min(used, limit);
      return d;
    }
    const std::uint64_t next = (window << 32) | (used + units);
    if (state_.compare_exchange_weak(cur, next, std::memory_order_relaxed)) {
      d.remaining = limit - (used + units);
      return d;
    }
  }
}

// ============================================================================================
// IpLimiter
// ============================================================================================

IpLimiter::Shard& IpLimiter::shard_for(std::string_view ip) noexcept {
  return shards_[StringHash{}(ip) % shard_count];
}

bool IpLimiter::idle(const Entry& e, std::int64_t now_ms) const noexcept {
  return e.active == 0 && now_ms - e.window_start_ms >= settings_.window_ms;
}

IpLimiter::Result IpLimiter::on_connect(std::string_view ip, std::int64_t now_ms) {
  Result r;
  if (!enabled()) return r;
  Shard& sh = shard_for(ip);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(ip);
  if (it == sh.map.end()) {
    const std::size_t per_shard = std::max<std::size_t>(1, settings_.max_entries / shard_count);
    if (sh.map.size() >= per_shard) {
      // Sweep this shard once; everything idle goes.
      std::erase_if(sh.map, [&](const auto& kv) { return idle(kv.second, now_ms); });
    }
    if (sh.map.size() >= per_shard) {
      r.table_full = true;
      return r;
    }
    it = sh.map.emplace(std::string(ip), Entry{0, 0, now_ms}).first;
  }
  Entry& e = it->second;
  if (settings_.max_connects != 0) {
    if (now_ms - e.window_start_ms >= settings_.window_ms) {
      e.window_start_ms = now_ms;
      e.window_count = 0;
    }
    const std::int64_t left_ms = e.window_start_ms + settings_.window_ms - now_ms;
    r.rate.limit = settings_.max_connects;
    r.rate.reset_s = static_cast<std::uint64_t>(std::max<std::int64_t>(1, (left_ms + 999) / 1000));
    if (e.window_count >= settings_.max_connects) {
      r.verdict = Verdict::rate_limited;
      r.rate.allowed = false;
      r.rate.remaining = 0;
      return r;
    }
    ++e.window_count;
    r.rate.remaining = settings_.max_connects - e.window_count;
  }
  if (settings_.max_concurrent != 0) {
    if (e.active >= settings_.max_concurrent) {
      r.verdict = Verdict::over_cap;
      return r;
    }
    ++e.active;
    r.tracked = true;
  }
  return r;
}

void IpLimiter::release(std::string_view ip, std::int64_t now_ms) {
  Shard& sh = shard_for(ip);
  std::lock_guard lock(sh.mu);
  auto it = sh.map.find(ip);
  if (it == sh.map.end()) return;
  if (it->second.active > 0) --it->second.active;
  if (idle(it->second, now_ms)) sh.map.erase(it);
}

std::size_t IpLimiter::size() const {
  std::size_t n = 0;
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    n += sh.map.size();
  }
  return n;
}

}  // namespace server
