// URL parsing of the config loader: `adapter.redis.url` / REDIS_URL (redis://, public
// parse_redis_url) and webhook `url`s (http:// and https://, for the webhook sender).

#include "protocol/percent.hpp"
#include "server/config_detail.hpp"

namespace server {

RedisUrl parse_redis_url(std::string_view url) {
  RedisUrl out;
  constexpr std::string_view scheme = "redis://";
  constexpr std::string_view tls_scheme = "rediss://";
  std::string_view rest;
  if (url.substr(0, scheme.size()) == scheme) {
    rest = url.substr(scheme.size());
  } else if (url.substr(0, tls_scheme.size()) == tls_scheme) {
    rest = url.substr(tls_scheme.size());
    out.tls = true;
  } else {
    throw ConfigError("expected a redis[s]://[[user]:password@]host[:port][/db] URL");
  }
  const auto decode = [](std::string_view s) { return protocol::percent_decode(s); };
  // Credentials end at the last '@' before the path (a password may contain '@' unescaped).
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  std::string_view hostport = authority;
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = authority.substr(0, at);
    hostport = authority.substr(at + 1);
    const std::size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      out.password = decode(cred);  // redis://secret@host: a bare password
    } else {
      out.username = decode(cred.substr(0, colon));
      out.password = decode(cred.substr(colon + 1));
    }
  }
  std::string_view port_text;
  if (!hostport.empty() && hostport.front() == '[') {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) throw ConfigError("unterminated [IPv6] host");
    out.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw ConfigError("unexpected text after the [IPv6] host");
      port_text = after.substr(1);
      if (port_text.empty()) throw ConfigError("empty port");
    }
  } else {
    const std::size_t colon = hostport.find(':');
    out.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      if (port_text.empty()) throw ConfigError("empty port");
    }
  }
  if (out.host.empty()) throw ConfigError("missing host");
  const auto to_number = [](std::string_view s, std::uint64_t max, const char* what) {
    if (s.empty() || s.size() > 10) throw ConfigError(std::string("invalid ") + what);
    std::uint64_t n = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') throw ConfigError(std::string("invalid ") + what);
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > max) throw ConfigError(std::string(what) + " out of range");
    return n;
  };
  if (!port_text.empty()) {
    out.port = static_cast<std::uint16_t>(to_number(port_text, 65535, "port"));
    if (out.port == 0) throw ConfigError("port out of range");
  }
  if (const std::size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path.size() > 1) {
    out.db = static_cast<std::uint32_t>(to_number(path.substr(1), 1'000'000, "database number"));
  }
  return out;
}

RedisUrl parse_cluster_seed(std::string_view seed) {
  if (seed.find("://") != std::string_view::npos) {
    RedisUrl u = parse_redis_url(seed);
    if (u.db != 0) throw ConfigError("a Redis Cluster has only database 0");
    return u;
  }
  const std::size_t colon = seed.rfind(':');
  if (colon == std::string_view::npos || seed.find(':') != colon) {
    throw ConfigError("expected host:port or a redis[s]:// URL");
  }
  return parse_redis_url("redis://" + std::string(seed));
}

namespace config_detail {

// Splits an http:// or https:// URL into the parts the sender needs. Returns "" on success or
// the problem. No user info (credentials belong in `headers`), no whitespace or control bytes.
std::string parse_webhook_url(std::string_view url, WebhookTarget& out) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return "contains whitespace or control characters";
    }
  }
  std::string_view rest;
  if (url.size() > 7 && iequals(url.substr(0, 7), "http://")) {
    out.tls = false;
    out.port = 80;
    rest = url.substr(7);
  } else if (url.size() > 8 && iequals(url.substr(0, 8), "https://")) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(8);
  } else {
    return "must start with http:// or https://";
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return "user info (user:password@) is not supported; put credentials in `headers`";
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return "unterminated IPv6 address";
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return "unexpected text after the IPv6 address";
      }
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    return "has no host";
  }
  if (!port.empty()) {
    const auto number = parse_uint_text(port);
    if (!number || *number < 1 || *number > 65535 || port.find('.') != std::string_view::npos) {
      return "port must be 1..65535";
    }
    out.port = static_cast<std::uint16_t>(*number);
  } else if (authority.back() == ':') {
    return "empty port";
  }
  if (const std::size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  out.host = std::string(host);
  out.target = target.empty()
                   ? "/"
                   : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
  out.url = std::string(url);
  return "";
}

std::string format_redis_url(const RedisUrl& url) {
  const auto encode = [](std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : s) {
      const auto b = static_cast<unsigned char>(c);
      const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                              c == '~';
      if (unreserved) {
        out += c;
      } else {
        out += '%';
        out += hex[b >> 4];
        out += hex[b & 0xf];
      }
    }
    return out;
  };
  std::string out = "redis://";
  if (!url.username.empty() || !url.password.empty()) {
    out += encode(url.username);
    out += ':';
    out += encode(url.password);
    out += '@';
  }
  const bool ipv6 = url.host.find(':') != std::string::npos;
  out += ipv6 ? "[" + url.host + "]" : url.host;
  out += ':' + std::to_string(url.port) + '/' + std::to_string(url.db);
  return out;
}

}  // namespace config_detail
}  // namespace server
