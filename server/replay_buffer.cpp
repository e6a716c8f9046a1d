#include "server/replay_buffer.hpp"

#include <algorithm>
#include <climits>
#include <random>

#include "protocol/messages.hpp"
#include "server/clock.hpp"

namespace server {

std::string uuid_v4() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 15; i >= 0; --i) {
    out.push_back(hex[(hi >> (i * 4)) & 0xf]);
    if (i == 8 || i == 4) out.push_back('-');
  }
  out.push_back('-');
  for (int i = 15; i >= 0; --i) {
    out.push_back(hex[(lo >> (i * 4)) & 0xf]);
    if (i == 12) out.push_back('-');
  }
  return out;
}

ReplayBuffer::ReplayBuffer(std::uint64_t max_per_channel, std::chrono::seconds ttl,
                           std::uint64_t max_bytes)
    : max_per_channel_(max_per_channel),
      ttl_ms_(static_cast<std::int64_t>(ttl.count()) * 1000),
      max_bytes_(max_bytes) {}

std::string ReplayBuffer::key(std::size_t app_index, std::string_view channel) {
  std::string k = std::to_string(app_index);
  k.push_back('\0');
  k.append(channel);
  return k;
}

ReplayBuffer::Shard& ReplayBuffer::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shard_count];
}

std::uint64_t ReplayBuffer::bytes_of(const ReplayEntry& e) {
  std::uint64_t n = e.message_id.size() + 64;
  if (e.frames.v1) n += e.frames.v1->size();
  if (e.frames.v2) n += e.frames.v2->size();
  return n;
}

void ReplayBuffer::pop_front(Channel& c) {
  bytes_.fetch_sub(bytes_of(c.entries.front()), std::memory_order_relaxed);
  c.entries.pop_front();
}

void ReplayBuffer::publish(std::size_t app_index, std::string_view channel, std::string_view json,
                           const std::function<void(const DialectFrames&)>& send) {
  const std::string k = key(app_index, channel);
  Shard& sh = shard_of(k);
  const std::int64_t now = steady_ms();
  std::lock_guard lock(sh.mutex);
  Channel& c = sh.channels[k];
  if (c.stream_id.empty()) c.stream_id = uuid_v4();
  c.touched_ms = now;
  ReplayEntry e;
  e.serial = c.next_serial++;
  e.at_ms = now;
  e.message_id = uuid_v4();
  // Channel messages are user events: the same name in both dialects, V2 adds the identity.
  e.frames = DialectFrames(
      make_text_frame(json),
      make_text_frame(protocol::with_identity(json, e.message_id, c.stream_id, e.serial)),
      e.serial);
  const std::uint64_t size = bytes_of(e);
  c.entries.push_back(std::move(e));
  bytes_.fetch_add(size, std::memory_order_relaxed);
  while (c.entries.size() > max_per_channel_) pop_front(c);
  // Over the global cap: this channel gives up its oldest (never the one just published).
  while (bytes_.load(std::memory_order_relaxed) > max_bytes_ && c.entries.size() > 1) {
    pop_front(c);
    evicted_for_memory_.fetch_add(1, std::memory_order_relaxed);
  }
  send(c.entries.back().frames);
}

StreamPosition ReplayBuffer::position(std::size_t app_index, std::string_view channel) {
  const std::string k = key(app_index, channel);
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mutex);
  Channel& c = sh.channels[k];
  if (c.stream_id.empty()) c.stream_id = uuid_v4();
  c.touched_ms = steady_ms();
  return {c.stream_id, c.next_serial - 1};
}

ReplayLookup ReplayBuffer::after(std::size_t app_index, std::string_view channel,
                                 const std::optional<std::string>& stream_id, std::uint64_t serial,
                                 std::uint64_t max_replay) {
  const std::string k = key(app_index, channel);
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mutex);
  ReplayLookup out;
  auto it = sh.channels.find(k);
  if (it == sh.channels.end()) return out;  // expired: nothing kept of this channel
  Channel& c = it->second;
  c.touched_ms = steady_ms();
  out.current_stream_id = c.stream_id;
  if (!c.entries.empty()) {
    out.oldest_serial = c.entries.front().serial;
    out.newest_serial = c.entries.back().serial;
  }
  if (stream_id && *stream_id != c.stream_id) {
    out.status = ReplayLookup::Status::stream_reset;
    return out;
  }
  const std::uint64_t newest = c.next_serial - 1;
  if (serial > newest) return out;  // ahead of this stream: cannot be verified, as expired
  if (serial == newest) {
    out.status = ReplayLookup::Status::recovered;
    return out;
  }
  if (c.entries.empty() || serial + 1 < c.entries.front().serial) return out;
  if (newest - serial > max_replay) {
    out.status = ReplayLookup::Status::window_exceeded;
    return out;
  }
  out.status = ReplayLookup::Status::recovered;
  for (const ReplayEntry& e : c.entries) {
    if (e.serial > serial) out.entries.push_back(e);
  }
  return out;
}

ReplayBuffer::Rewind ReplayBuffer::latest(std::size_t app_index, std::string_view channel,
                                          std::uint64_t count,
                                          std::optional<std::uint64_t> seconds) {
  const std::string k = key(app_index, channel);
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mutex);
  Rewind out;
  auto it = sh.channels.find(k);
  if (it == sh.channels.end()) return out;
  const Channel& c = it->second;
  const std::int64_t since =
      seconds ? steady_ms() - static_cast<std::int64_t>(*seconds) * 1000 : INT64_MIN;
  std::size_t taken = 0;
  bool reached_oldest = true;
  for (auto e = c.entries.rbegin(); e != c.entries.rend(); ++e) {
    if (e->at_ms < since) {
      reached_oldest = false;
      break;
    }
    if (taken == count) {
      out.truncated_by_limit = true;
      reached_oldest = false;
      break;
    }
    out.entries.push_back(*e);
    ++taken;
  }
  // Every kept message was taken and still fewer than asked, while older ones were published.
  const std::uint64_t first_kept = c.entries.empty() ? c.next_serial : c.entries.front().serial;
  out.truncated_by_retention = reached_oldest && taken < count && first_kept > 1;
  std::reverse(out.entries.begin(), out.entries.end());
  return out;
}

void ReplayBuffer::prune(const std::function<bool(std::size_t, std::string_view)>& occupied) {
  const std::int64_t now = steady_ms();
  for (Shard& sh : shards_) {
    std::vector<std::string> idle;
    {
      std::lock_guard lock(sh.mutex);
      for (auto& [k, c] : sh.channels) {
        while (!c.entries.empty() && now - c.entries.front().at_ms >= ttl_ms_) pop_front(c);
        if (c.entries.empty() && now - c.touched_ms >= ttl_ms_) idle.push_back(k);
      }
    }
    for (const std::string& k : idle) {
      const auto nul = k.find('\0');
      const std::size_t app = std::stoull(k.substr(0, nul));
      if (occupied(app, std::string_view(k).substr(nul + 1))) continue;
      std::lock_guard lock(sh.mutex);
      auto it = sh.channels.find(k);
      if (it != sh.channels.end() && it->second.entries.empty() &&
          now - it->second.touched_ms >= ttl_ms_) {
        sh.channels.erase(it);
      }
    }
  }
}

void V2Counters::add(Kind kind, std::size_t app_index, std::string_view label) {
  std::lock_guard lock(mutex_);
  for (Row& r : rows_) {
    if (r.kind == kind && r.app_index == app_index && r.label == label) {
      ++r.count;
      return;
    }
  }
  rows_.push_back({kind, app_index, std::string(label), 1});
}

std::vector<V2Counters::Row> V2Counters::rows() {
  std::lock_guard lock(mutex_);
  return rows_;
}

ReplayStats ReplayBuffer::stats() {
  ReplayStats s;
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mutex);
    s.channels += sh.channels.size();
    for (const auto& [k, c] : sh.channels) s.messages += c.entries.size();
  }
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.evicted_for_memory = evicted_for_memory_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace server
