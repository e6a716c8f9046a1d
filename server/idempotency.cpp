#include "server/idempotency.hpp"

#include "server/clock.hpp"

namespace server {

std::string IdempotencyCache::full_key(std::string_view app_id, std::string_view key) {
  std::string k(app_id);
  k.push_back('\0');
  k.append(key);
  return k;
}

void IdempotencyCache::expire(std::int64_t now) {
  while (!order_.empty() && (order_.front().first <= now || entries_.size() > max_keys_)) {
    auto it = entries_.find(order_.front().second);
    // Only the entry this queue item was made for (a re-claimed key has a later expiry).
    if (it != entries_.end() && it->second.expires_ms == order_.front().first) entries_.erase(it);
    order_.pop_front();
  }
}

IdempotencyCache::Claim IdempotencyCache::claim(std::string_view app_id, std::string_view key) {
  const std::int64_t now = steady_ms();
  std::string k = full_key(app_id, key);
  std::lock_guard lock(mutex_);
  expire(now);
  auto it = entries_.find(k);
  if (it != entries_.end() && it->second.expires_ms > now) {
    if (it->second.body) return {Claim::State::answered, *it->second.body};
    return {Claim::State::in_progress, {}};
  }
  const std::int64_t expires = now + ttl_ms_;
  entries_[k] = Entry{expires, std::nullopt};
  order_.emplace_back(expires, std::move(k));
  return {};
}

void IdempotencyCache::complete(std::string_view app_id, std::string_view key, std::string body) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(full_key(app_id, key));
  if (it != entries_.end()) it->second.body = std::move(body);
}

void IdempotencyCache::release(std::string_view app_id, std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(full_key(app_id, key));
  if (it != entries_.end() && !it->second.body) entries_.erase(it);
}

std::size_t IdempotencyCache::size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace server
