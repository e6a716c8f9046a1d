#pragma once
// Socket ids (protocol.md §1.4): "A.B", two decimal integers in [0, 10^10], stored as two
// numbers (16 bytes, no heap) and rendered only where the text is needed (connection_established,
// signatures, logs). parse() accepts exactly what str() produces, so a lookup by a client's or
// backend's text matches the same socket the text named and nothing else.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace protocol {

struct SocketId {
  static constexpr std::uint64_t max_part = 10'000'000'000ULL;

  std::uint64_t a = 0;
  std::uint64_t b = 0;

  /// The canonical text, e.g. "1234.5678".
  [[nodiscard]] std::string str() const;
  /// Writes the canonical text into `out` (at least max_length bytes); returns its length.
  std::size_t write(char* out) const noexcept;
  static constexpr std::size_t max_length = 11 + 1 + 11;

  /// The id `text` names, if it is one in canonical form (digits without leading zeros, each
  /// part ≤ 10^10); nullopt for anything else.
  [[nodiscard]] static std::optional<SocketId> parse(std::string_view text) noexcept;

  friend bool operator==(const SocketId&, const SocketId&) = default;
};

struct SocketIdHash {
  std::size_t operator()(const SocketId& s) const noexcept {
    // The parts are uniform random numbers: mixing them is enough.
    return static_cast<std::size_t>(s.a * 0x9E3779B97F4A7C15ULL ^ s.b);
  }
};

}  // namespace protocol
