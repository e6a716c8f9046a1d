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

ReplayEntry make_replay_entry(std::string_view json, std::string message_id,
                              std::string_view stream_id, std::uint64_t serial,
                              std::int64_t at_ms) {
  ReplayEntry e;
  e.serial = serial;
  e.at_ms = at_ms;
  e.message_id = std::move(message_id);
  // Channel messages are user events: the same name in both dialects, V2 adds the identity.
  e.frames = DialectFrames(
      make_text_frame(json),
      make_text_frame(protocol::with_identity(json, e.message_id, stream_id, serial)), serial);
  return e;
}

ReplayLookup::Status judge_resume(const std::optional<std::string>& asked_stream,
                                  std::uint64_t serial, const std::optional<std::string>& current,
                                  std::uint64_t newest, std::optional<std::uint64_t> first_kept,
                                  std::uint64_t max_replay) {
  using Status = ReplayLookup::Status;
  if (!current) return Status::expired;  // nothing kept of this channel
  if (asked_stream && *asked_stream != *current) return Status::stream_reset;
  if (serial > newest) return Status::expired;  // ahead of this stream: cannot be verified
  if (serial == newest) return Status::recovered;
  if (!first_kept || serial + 1 < *first_kept) return Status::expired;
  if (newest - serial > max_replay) return Status::window_exceeded;
  return Status::recovered;
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
  keep(c, make_replay_entry(json, uuid_v4(), c.stream_id, c.next_serial++, now));
  send(c.entries.back().frames);
}

void ReplayBuffer::keep(Channel& c, ReplayEntry e) {
  const std::uint64_t size = bytes_of(e);
  c.entries.push_back(std::move(e));
  bytes_.fetch_add(size, std::memory_order_relaxed);
  while (c.entries.size() > max_per_channel_) pop_front(c);
  // Over the global cap: this channel gives up its oldest (never the one just kept).
  while (bytes_.load(std::memory_order_relaxed) > max_bytes_ && c.entries.size() > 1) {
    pop_front(c);
    evicted_for_memory_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool ReplayBuffer::insert(std::size_t app_index, std::string_view channel,
                          const MessageIdentity& id, std::string_view json,
                          const std::function<void(const DialectFrames&)>& send) {
  const std::string k = key(app_index, channel);
  Shard& sh = shard_of(k);
  const std::int64_t now = steady_ms();
  std::lock_guard lock(sh.mutex);
  Channel& c = sh.channels[k];
  if (c.stream_id != id.stream_id) {
    while (!c.entries.empty()) pop_front(c);
    c.stream_id = id.stream_id;
    c.next_serial = id.serial;
  } else if (id.serial < c.next_serial) {
    return false;  // already seen (never on an ordered bus)
  } else if (id.serial > c.next_serial) {
    while (!c.entries.empty()) pop_front(c);  // a gap: what came before is not complete
  }
  c.next_serial = id.serial + 1;
  c.touched_ms = now;
  keep(c, make_replay_entry(json, id.message_id, c.stream_id, id.serial, now));
  send(c.entries.back().frames);
  return true;
}

void ReplayBuffer::learn(std::size_t app_index, std::string_view channel,
                         const StreamPosition& pos) {
  const std::string k = key(app_index, channel);
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mutex);
  Channel& c = sh.channels[k];
  c.touched_ms = steady_ms();
  if (c.stream_id == pos.stream_id && c.next_serial > pos.serial) return;  // knows as much
  if (c.stream_id != pos.stream_id || pos.serial + 1 != c.next_serial) {
    while (!c.entries.empty()) pop_front(c);
  }
  c.stream_id = pos.stream_id;
  c.next_serial = pos.serial + 1;
}

std::optional<StreamPosition> ReplayBuffer::known_position(std::size_t app_index,
                                                           std::string_view channel) {
  const std::string k = key(app_index, channel);
  Shard& sh = shard_of(k);
  std::lock_guard lock(sh.mutex);
  auto it = sh.channels.find(k);
  if (it == sh.channels.end() || it->second.stream_id.empty()) return std::nullopt;
  it->second.touched_ms = steady_ms();
  return StreamPosition{it->second.stream_id, it->second.next_serial - 1};
}

void ReplayBuffer::clear() {
  for (Shard& sh : shards_) {
    std::lock_guard lock(sh.mutex);
    for (auto& [k, c] : sh.channels) {
      while (!c.entries.empty()) pop_front(c);
    }
    sh.channels.clear();
  }
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
  out.status = judge_resume(stream_id, serial, c.stream_id, c.next_serial - 1, out.oldest_serial,
                            max_replay);
  if (out.status != ReplayLookup::Status::recovered) return out;
  for (const ReplayEntry& e : c.entries) {
    if (e.serial > serial) out.entries.push_back(e);
  }
  return out;
}

RewindPick pick_rewind(const std::vector<std::int64_t>& at_ms, std::uint64_t count,
                       std::int64_t since_ms, std::uint64_t first_kept_serial) {
  RewindPick p;
  p.first = at_ms.size();
  std::uint64_t taken = 0;
  bool reached_oldest = true;
  for (std::size_t i = at_ms.size(); i-- > 0;) {
    if (at_ms[i] < since_ms) {
      reached_oldest = false;
      break;
    }
    if (taken == count) {
      p.truncated_by_limit = true;
      reached_oldest = false;
      break;
    }
    p.first = i;
    ++taken;
  }
  // Every kept message was taken and still fewer than asked, while older ones were published.
  p.truncated_by_retention = reached_oldest && taken < count && first_kept_serial > 1;
  return p;
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
  std::vector<std::int64_t> at;
  at.reserve(c.entries.size());
  for (const ReplayEntry& e : c.entries) at.push_back(e.at_ms);
  const RewindPick p =
      pick_rewind(at, count, since, c.entries.empty() ? c.next_serial : c.entries.front().serial);
  out.entries.assign(c.entries.begin() + static_cast<std::ptrdiff_t>(p.first), c.entries.end());
  out.truncated_by_limit = p.truncated_by_limit;
  out.truncated_by_retention = p.truncated_by_retention;
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
