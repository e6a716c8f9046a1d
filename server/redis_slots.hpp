#pragma once
// Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its hash tag (the text between the
// first '{' and the next '}' when not empty), modulo 16384 — the Redis Cluster specification.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace server {

inline constexpr std::uint16_t cluster_slots = 16384;

[[nodiscard]] constexpr std::uint16_t crc16_xmodem(std::string_view data) noexcept {
  std::uint16_t crc = 0;
  for (const char ch : data) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(ch) << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000U) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021U)
                                 : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

/// The slot of `key` (its hash tag decides when it has one).
[[nodiscard]] constexpr std::uint16_t key_slot(std::string_view key) noexcept {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    if (const auto close = key.find('}', open + 1);
        close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<std::uint16_t>(crc16_xmodem(key) % cluster_slots);
}

/// A Redis Cluster redirection: "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381".
struct Redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  std::string host;
  std::uint16_t port = 0;
};

/// The redirection in an error reply, or nullopt for any other error.
[[nodiscard]] inline std::optional<Redirect> parse_redirect(std::string_view err) {
  Redirect r;
  if (err.starts_with("MOVED ")) {
    err.remove_prefix(6);
  } else if (err.starts_with("ASK ")) {
    r.ask = true;
    err.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto sp = err.find(' ');
  const auto colon = err.rfind(':');
  if (sp == std::string_view::npos || colon == std::string_view::npos || colon < sp) {
    return std::nullopt;
  }
  auto number = [](std::string_view t, long max) -> long {
    if (t.empty() || t.size() > 5) return -1;
    long v = 0;
    for (const char c : t) {
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v <= max ? v : -1;
  };
  const long slot = number(err.substr(0, sp), cluster_slots - 1);
  const long port = number(err.substr(colon + 1), 65535);
  if (slot < 0 || port <= 0) return std::nullopt;
  r.slot = static_cast<std::uint16_t>(slot);
  r.host = std::string(err.substr(sp + 1, colon - sp - 1));
  r.port = static_cast<std::uint16_t>(port);
  if (r.host.size() > 2 && r.host.front() == '[' && r.host.back() == ']') {
    r.host = r.host.substr(1, r.host.size() - 2);  // [v6]:port
  }
  return r;
}

/// A shard channel of a Redis Cluster and the keys that share its slot.
struct SlotBucket {
  std::string prefix;  ///< `{<prefix>:b<b>.<n>}`: keys starting with it share the bucket's slot
  std::string bus;     ///< prefix + "#bus", the bucket's shard channel
  std::uint16_t slot = 0;
};

/// `count` buckets whose hash tags spread over the slot range evenly: bucket b's tag is
/// searched so that its slot falls in the b-th 1/count of the range (primaries own contiguous
/// ranges, so the buckets spread over the shards).
[[nodiscard]] inline std::vector<SlotBucket> make_buckets(const std::string& prefix,
                                                          std::size_t count) {
  std::vector<SlotBucket> out;
  for (std::size_t b = 0; b < count; ++b) {
    const std::size_t lo = b * cluster_slots / count, hi = (b + 1) * cluster_slots / count;
    for (std::size_t n = 0;; ++n) {
      const std::string tag =
          "{" + prefix + ":b" + std::to_string(b) + "." + std::to_string(n) + "}";
      const std::uint16_t slot = key_slot(tag);
      if ((slot >= lo && slot < hi) || n == 1'000'000) {  // found (~count tries on average)
        out.push_back({tag, tag + "#bus", slot});
        break;
      }
    }
  }
  return out;
}

}  // namespace server
