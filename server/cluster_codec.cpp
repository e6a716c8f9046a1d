#include "server/cluster_codec.hpp"

#include <array>
#include <cstdint>

namespace server::cluster {

namespace {

constexpr std::string_view magic = "pc1";
constexpr std::size_t max_field_digits = 10;  // fields up to 9'999'999'999 bytes

void put(std::string& out, std::string_view field) {
  out.append(std::to_string(field.size())).push_back(':');
  out.append(field);
}

// Reads one `<len>:<bytes>` field at `pos`; advances it. False on malformed input.
bool take(std::string_view in, std::size_t& pos, std::string_view& field) {
  std::size_t len = 0;
  std::size_t digits = 0;
  while (pos < in.size() && in[pos] >= '0' && in[pos] <= '9') {
    if (++digits > max_field_digits) return false;
    len = len * 10 + static_cast<std::size_t>(in[pos] - '0');
    ++pos;
  }
  if (digits == 0 || pos >= in.size() || in[pos] != ':') return false;
  if (digits > 1 && in[pos - digits] == '0') return false;  // one spelling per length: "0", "12"
  ++pos;
  if (in.size() - pos < len) return false;
  field = in.substr(pos, len);
  pos += len;
  return true;
}

/// A serial: 1 to 20 decimal digits without overflow.
bool parse_serial(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

/// Splits off the text up to the next `sep`; false when there is none or it is empty.
bool take_until(std::string_view& in, char sep, std::string_view& part) {
  const auto at = in.find(sep);
  if (at == std::string_view::npos || at == 0) return false;
  part = in.substr(0, at);
  in.remove_prefix(at + 1);
  return true;
}

}  // namespace

std::optional<Sequenced> parse_sequenced(std::string_view payload) {
  Sequenced out;
  std::string_view serial;
  if (!take_until(payload, ' ', out.stream_id) || !take_until(payload, ' ', serial) ||
      !take_until(payload, '\n', out.message_id) || !parse_serial(serial, out.serial) ||
      out.serial == 0 || payload.empty()) {
    return std::nullopt;
  }
  out.json = payload;
  return out;
}

std::optional<Position> parse_position(std::string_view payload) {
  Position out;
  if (!take_until(payload, ' ', out.stream_id) || !parse_serial(payload, out.serial)) {
    return std::nullopt;
  }
  return out;
}

std::string encode(const Envelope& e) {
  std::string out;
  out.reserve(magic.size() + e.origin.size() + e.app_id.size() + e.target.size() +
              e.payload.size() + e.except_socket.size() + 32);
  out.append(magic);
  const char type = static_cast<char>(e.type);
  put(out, std::string_view(&type, 1));
  put(out, e.origin);
  put(out, e.app_id);
  put(out, e.target);
  put(out, e.payload);
  put(out, e.except_socket);
  return out;
}

std::optional<Envelope> decode(std::string_view bytes) {
  if (bytes.substr(0, magic.size()) != magic) return std::nullopt;
  std::size_t pos = magic.size();
  std::array<std::string_view, 6> f{};
  for (auto& field : f) {
    if (!take(bytes, pos, field)) return std::nullopt;
  }
  if (pos != bytes.size() || f[0].size() != 1) return std::nullopt;
  Envelope e;
  switch (f[0][0]) {
    case 'E':
      e.type = MsgType::event;
      break;
    case 'M':
      e.type = MsgType::member;
      break;
    case 'T':
      e.type = MsgType::terminate;
      break;
    case 'W':
      e.type = MsgType::watchlist;
      break;
    case 'S':
      e.type = MsgType::sequenced;
      break;
    case 'P':
      e.type = MsgType::position;
      break;
    default:
      return std::nullopt;
  }
  e.origin = std::string(f[1]);
  e.app_id = std::string(f[2]);
  e.target = std::string(f[3]);
  e.payload = std::string(f[4]);
  e.except_socket = std::string(f[5]);
  return e;
}

}  // namespace server::cluster
