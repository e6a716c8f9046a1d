#include "bench/wire.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "protocol/json.hpp"

namespace bench {

long parse_server_frame(std::string_view buf, WsFrame& out) noexcept {
  if (buf.size() < 2) return 0;
  const auto b0 = static_cast<std::uint8_t>(buf[0]);
  const auto b1 = static_cast<std::uint8_t>(buf[1]);
  if ((b0 & 0x70) != 0 || (b1 & 0x80) != 0) return -1;
  std::uint64_t len = b1 & 0x7f;
  std::size_t hdr = 2;
  if (len == 126) {
    if (buf.size() < 4) return 0;
    len = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(buf[2])) << 8) |
          static_cast<std::uint8_t>(buf[3]);
    hdr = 4;
  } else if (len == 127) {
    if (buf.size() < 10) return 0;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<std::uint8_t>(buf[2 + i]);
    hdr = 10;
    if (len > (1ULL << 40)) return -1;
  }
  if (buf.size() - hdr < len) return 0;
  out.opcode = b0 & 0x0f;
  out.fin = (b0 & 0x80) != 0;
  out.payload = buf.substr(hdr, static_cast<std::size_t>(len));
  return static_cast<long>(hdr + len);
}

std::uint16_t close_code(std::string_view p) noexcept {
  if (p.size() < 2) return 1005;
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(p[0]) << 8) |
                                    static_cast<std::uint8_t>(p[1]));
}

namespace {

std::string_view until_quote(std::string_view s, std::size_t start) noexcept {
  std::size_t i = start;
  while (i < s.size()) {
    if (s[i] == '\\') {
      i += 2;
      continue;
    }
    if (s[i] == '"') return s.substr(start, i - start);
    ++i;
  }
  return {};
}

}  // namespace

std::string_view event_name(std::string_view msg) noexcept {
  constexpr std::string_view fast = "{\"event\":\"";
  if (msg.substr(0, fast.size()) == fast) {
    const std::size_t end = msg.find('"', fast.size());
    if (end == std::string_view::npos) return {};
    return msg.substr(fast.size(), end - fast.size());
  }
  return string_field(msg, "event");
}

std::string_view string_field(std::string_view msg, std::string_view key,
                              std::size_t from) noexcept {
  const std::string_view tail = string_field_tail(msg, key, from);
  if (tail.empty()) return {};
  return until_quote(msg, static_cast<std::size_t>(tail.data() - msg.data()));
}

std::string_view string_field_tail(std::string_view msg, std::string_view key,
                                   std::size_t from) noexcept {
  // Looks for "key" then optional spaces, ':', optional spaces, '"'.
  std::size_t pos = from;
  while (pos < msg.size()) {
    const std::size_t k = msg.find(key, pos);
    if (k == std::string_view::npos) return {};
    pos = k + key.size();
    if (k == 0 || msg[k - 1] != '"' || pos >= msg.size() || msg[pos] != '"') continue;
    std::size_t i = pos + 1;
    while (i < msg.size() && msg[i] == ' ') ++i;
    if (i >= msg.size() || msg[i] != ':') continue;
    ++i;
    while (i < msg.size() && msg[i] == ' ') ++i;
    if (i >= msg.size() || msg[i] != '"') continue;
    return msg.substr(i + 1);
  }
  return {};
}

std::string_view socket_id_of(std::string_view msg) noexcept {
  std::size_t k = msg.find("socket_id");
  if (k == std::string_view::npos) return {};
  k += 9;
  while (k < msg.size() && (msg[k] < '0' || msg[k] > '9')) {
    if (msg[k] != '\\' && msg[k] != '"' && msg[k] != ':' && msg[k] != ' ') return {};
    ++k;
  }
  std::size_t e = k;
  while (e < msg.size() && ((msg[e] >= '0' && msg[e] <= '9') || msg[e] == '.')) ++e;
  return msg.substr(k, e - k);
}

int error_code_of(std::string_view msg) noexcept {
  std::size_t k = msg.find("\"code\"");
  if (k == std::string_view::npos) return 0;
  k += 6;
  while (k < msg.size() && (msg[k] == ':' || msg[k] == ' ')) ++k;
  int code = 0;
  std::from_chars(msg.data() + k, msg.data() + msg.size(), code);
  return code;
}

bool parse_marker(std::string_view d, Marker& out) noexcept {
  if (d.empty() || (d[0] != 'B' && d[0] != 'E')) return false;
  out.kind = d[0];
  out.count = 0;
  const char* p = d.data() + 1;
  const char* end = d.data() + d.size();
  while (out.count < 3 && p < end && *p >= '0' && *p <= '9') {
    std::uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') v = v * 10 + static_cast<std::uint64_t>(*p++ - '0');
    if (p >= end || *p != '.') return false;
    ++p;
    out.v[out.count++] = v;
  }
  return out.count > 0;
}

std::string make_marker(char kind, const std::uint64_t* nums, int n, std::size_t size) {
  std::string s(1, kind);
  for (int i = 0; i < n; ++i) {
    s += std::to_string(nums[i]);
    s.push_back('.');
  }
  if (s.size() < size) s.append(size - s.size(), 'x');
  return s;
}

std::string json_escape(std::string_view s) {
  // protocol's escaper (the server's), without the surrounding quotes.
  std::string out;
  protocol::append_json_string(out, s);
  return out.substr(1, out.size() - 2);
}

std::string subscribe_json(std::string_view channel, std::string_view auth,
                           std::string_view channel_data) {
  std::string s = "{\"event\":\"pusher:subscribe\",\"data\":{";
  if (!auth.empty()) {
    s += "\"auth\":\"";
    s += auth;
    s += "\",";
  }
  if (!channel_data.empty()) {
    s += "\"channel_data\":\"";
    s += json_escape(channel_data);
    s += "\",";
  }
  s += "\"channel\":\"";
  s += channel;
  s += "\"}}";
  return s;
}

std::string unsubscribe_json(std::string_view channel) {
  std::string s = "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":\"";
  s += channel;
  s += "\"}}";
  return s;
}

std::string client_event_json(std::string_view event, std::string_view channel,
                              std::string_view data_marker) {
  std::string s = "{\"event\":\"";
  s += event;
  s += "\",\"channel\":\"";
  s += channel;
  s += "\",\"data\":\"";
  s += data_marker;
  s += "\"}";
  return s;
}

std::string publish_body(std::string_view event, std::string_view channel,
                         std::string_view data_marker) {
  std::string s = "{\"name\":\"";
  s += event;
  s += "\",\"channel\":\"";
  s += channel;
  s += "\",\"data\":\"";
  s += data_marker;
  s += "\"}";
  return s;
}

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool contains_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const std::size_t c = value.find(',');
    if (iequals(trim(value.substr(0, c)), token)) return true;
    if (c == std::string_view::npos) break;
    value.remove_prefix(c + 1);
  }
  return false;
}

}  // namespace

long parse_http_response(std::string_view buf, HttpResponse& out) noexcept {
  const std::size_t hend = buf.find("\r\n\r\n");
  if (hend == std::string_view::npos) return buf.size() > 65536 ? -1 : 0;
  std::string_view head = buf.substr(0, hend + 2);
  const std::size_t eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1.") return -1;
  const bool http10 = status_line[7] == '0';
  int status = 0;
  auto [sp, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
  if (ec != std::errc{} || sp != status_line.data() + 12) return -1;
  out.status = status;
  out.close = http10;
  long long content_length = -1;
  bool chunked = false;
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    const std::size_t e = head.find("\r\n");
    const std::string_view line = head.substr(0, e);
    head.remove_prefix(e == std::string_view::npos ? head.size() : e + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      long long v = 0;
      auto [p, e2] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (e2 != std::errc{} || p != value.data() + value.size() || v < 0) return -1;
      content_length = v;
    } else if (iequals(name, "connection")) {
      if (contains_token(value, "close")) out.close = true;
      if (contains_token(value, "keep-alive")) out.close = false;
    } else if (iequals(name, "transfer-encoding")) {
      chunked = contains_token(value, "chunked");
    }
  }
  const std::size_t body_start = hend + 4;
  if ((status >= 100 && status < 200) || status == 204 || status == 304) {
    out.body = {};
    return static_cast<long>(body_start);
  }
  if (chunked) {
    std::size_t pos = body_start;
    bool first = true;
    for (;;) {
      const std::size_t le = buf.find("\r\n", pos);
      if (le == std::string_view::npos) return 0;
      std::size_t size = 0;
      const char* b = buf.data() + pos;
      auto [p, e2] = std::from_chars(b, buf.data() + le, size, 16);
      if (e2 != std::errc{} || p == b) return -1;
      pos = le + 2;
      if (size == 0) {
        // Trailers (none expected) end with an empty line.
        const std::size_t te = buf.find("\r\n", pos);
        if (te == std::string_view::npos) return 0;
        if (first) out.body = {};
        return static_cast<long>(te + 2);
      }
      if (buf.size() < pos + size + 2) return 0;
      if (first) out.body = buf.substr(pos, size);
      first = false;
      pos += size + 2;
    }
  }
  if (content_length < 0) {
    // Body until close: the caller completes it on EOF.
    out.close = true;
    return 0;
  }
  if (buf.size() - body_start < static_cast<std::size_t>(content_length)) return 0;
  out.body = buf.substr(body_start, static_cast<std::size_t>(content_length));
  return static_cast<long>(body_start + static_cast<std::size_t>(content_length));
}

SeqResult seq_observe(SeqState& st, std::uint64_t* bits, std::uint32_t wbits,
                      std::uint64_t seq) noexcept {
  const std::uint32_t mask = wbits - 1;
  auto bit = [&](std::uint64_t s) -> std::uint64_t& { return bits[(s & mask) >> 6]; };
  auto flag = [](std::uint64_t s) { return 1ULL << (s & 63); };
  if (seq == 0) {
    ++st.stale;
    return SeqResult::stale;
  }
  if (seq > st.hi) {
    if (seq - st.hi >= wbits) {
      std::memset(bits, 0, wbits / 8);
    } else {
      for (std::uint64_t s = st.hi + 1; s < seq; ++s) bit(s) &= ~flag(s);
    }
    bit(seq) |= flag(seq);
    st.hi = seq;
    ++st.unique;
    return SeqResult::fresh;
  }
  if (st.hi - seq >= wbits) {
    ++st.stale;
    return SeqResult::stale;
  }
  if (bit(seq) & flag(seq)) {
    ++st.dups;
    return SeqResult::duplicate;
  }
  bit(seq) |= flag(seq);
  ++st.unique;
  return SeqResult::fresh;
}

}  // namespace bench
