#include "server/cluster_codec.hpp"

#include <array>

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
  ++pos;
  if (in.size() - pos < len) return false;
  field = in.substr(pos, len);
  pos += len;
  return true;
}

}  // namespace

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
