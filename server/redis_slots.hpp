#pragma once
// Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its hash tag (the text between the
// first '{' and the next '}' when not empty), modulo 16384 — the Redis Cluster specification.

#include <cstdint>
#include <string_view>

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

}  // namespace server
