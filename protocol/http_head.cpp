#include "protocol/http_head.hpp"

#include <algorithm>

namespace protocol {

namespace {

using Status = UpgradeHead::Status;

constexpr bool is_tchar(unsigned char c) noexcept {
  // RFC 9110 token characters.
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

bool iequals(std::string_view a, std::string_view lower_b) noexcept {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool all_tchar(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

/// Field value characters: HTAB, SP, visible ASCII, obs-text. No other control characters.
bool valid_value(std::string_view v) noexcept {
  return std::all_of(v.begin(), v.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

/// A line feed not preceded by a carriage return: a general parser refuses it at once.
bool has_bare_lf(std::string_view s) noexcept {
  for (std::size_t i = s.find('\n'); i != std::string_view::npos; i = s.find('\n', i + 1)) {
    if (i == 0 || s[i - 1] != '\r') return true;
  }
  return false;
}

UpgradeHead other() noexcept {
  UpgradeHead r;
  r.status = Status::other;
  return r;
}

}  // namespace

std::optional<bool> list_has_token(std::string_view list, std::string_view token) noexcept {
  bool found = false;
  while (true) {
    const auto comma = list.find(',');
    const std::string_view element = trim(list.substr(0, comma));
    if (!element.empty()) {
      if (!all_tchar(element)) return std::nullopt;
      if (element.size() == token.size()) {
        bool same = true;
        for (std::size_t i = 0; i < token.size() && same; ++i) {
          same = lower(element[i]) == lower(token[i]);
        }
        found = found || same;
      }
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return found;
}

UpgradeHead parse_upgrade_head(std::string_view buf, std::size_t max_head) noexcept {
  // Anything but a GET goes to the general parser as soon as its first bytes show it.
  constexpr std::string_view get = "GET ";
  const std::size_t pre = std::min(buf.size(), get.size());
  if (buf.substr(0, pre) != get.substr(0, pre)) return other();

  const std::size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buf.size() >= max_head || has_bare_lf(buf)) return other();
    return {};
  }
  if (end + 4 > max_head) return other();

  UpgradeHead r;
  r.head_size = end + 4;
  // Every line of `head` ends with CRLF; a CR or LF inside a line is a control character and
  // fails the character checks below.
  const std::string_view head = buf.substr(0, end + 2);

  // Request line: exactly "GET <target> HTTP/1.1".
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  constexpr std::string_view suffix = " HTTP/1.1";
  if (line.size() < get.size() + suffix.size() + 1 ||
      line.substr(line.size() - suffix.size()) != suffix) {
    return other();
  }
  r.target = line.substr(get.size(), line.size() - get.size() - suffix.size());
  if (r.target.front() != '/') return other();
  for (const char ch : r.target) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return other();
  }

  std::string_view upgrade;
  std::string_view connection;
  bool seen[6] = {};
  for (std::size_t pos = eol + 2; pos < head.size(); pos = eol + 2) {
    eol = head.find("\r\n", pos);
    line = head.substr(pos, eol - pos);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return other();
    const std::string_view name = line.substr(0, colon);
    // A leading space (obsolete line folding) or any non-token byte fails here.
    if (!all_tchar(name)) return other();
    const std::string_view raw = line.substr(colon + 1);
    if (!valid_value(raw)) return other();
    const std::string_view value = trim(raw);

    int slot = -1;
    if (iequals(name, "upgrade")) {
      slot = 0;
      upgrade = value;
    } else if (iequals(name, "connection")) {
      slot = 1;
      connection = value;
    } else if (iequals(name, "sec-websocket-key")) {
      slot = 2;
      r.key = value;
    } else if (iequals(name, "sec-websocket-version")) {
      slot = 3;
      r.version = value;
    } else if (iequals(name, "origin")) {
      slot = 4;
      r.origin = value;
    } else if (iequals(name, "x-forwarded-for")) {
      slot = 5;
      r.forwarded_for = value;
    } else if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) {
      return other();  // a body: not an upgrade this reader handles
    }
    if (slot >= 0) {
      // General parsers differ on repeated fields (first, last, or joined): leave them to it.
      if (seen[slot]) return other();
      seen[slot] = true;
    }
  }

  const auto has_upgrade = list_has_token(connection, "upgrade");
  const auto has_websocket = list_has_token(upgrade, "websocket");
  if (!has_upgrade || !has_websocket) return other();
  r.is_upgrade = *has_upgrade && *has_websocket;
  r.status = Status::complete;
  return r;
}

}  // namespace protocol
