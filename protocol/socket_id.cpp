#include "protocol/socket_id.hpp"

#include <charconv>

namespace protocol {

namespace {

/// One part: 1–11 digits, no leading zero unless it is "0", value ≤ max_part.
std::optional<std::uint64_t> parse_part(std::string_view s) noexcept {
  if (s.empty() || s.size() > 11) return std::nullopt;
  if (s.size() > 1 && s.front() == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > SocketId::max_part) return std::nullopt;
  return v;
}

}  // namespace

std::size_t SocketId::write(char* out) const noexcept {
  char* p = std::to_chars(out, out + 11, a).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 11, b).ptr;
  return static_cast<std::size_t>(p - out);
}

std::string SocketId::str() const {
  char buf[max_length];
  return std::string(buf, write(buf));
}

std::optional<SocketId> SocketId::parse(std::string_view text) noexcept {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto a = parse_part(text.substr(0, dot));
  const auto b = parse_part(text.substr(dot + 1));
  if (!a || !b) return std::nullopt;
  return SocketId{*a, *b};
}

}  // namespace protocol
