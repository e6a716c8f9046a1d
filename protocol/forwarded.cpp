#include "protocol/forwarded.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace protocol {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> canonical_ip(std::string_view s) {
  // inet_pton needs a terminated string; an address is at most 45 characters (IPv6 with an
  // embedded IPv4 tail).
  char text[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() >= sizeof(text)) return std::nullopt;
  std::memcpy(text, s.data(), s.size());
  text[s.size()] = '\0';
  char out[INET6_ADDRSTRLEN];
  in_addr v4{};
  if (::inet_pton(AF_INET, text, &v4) == 1) {
    if (::inet_ntop(AF_INET, &v4, out, sizeof(out)) == nullptr) return std::nullopt;
    return std::string(out);
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text, &v6) == 1) {
    if (::inet_ntop(AF_INET6, &v6, out, sizeof(out)) == nullptr) return std::nullopt;
    return std::string(out);
  }
  return std::nullopt;
}

std::optional<std::string> forwarded_client(std::string_view forwarded_for,
                                            std::size_t trust_hops) {
  if (trust_hops == 0 || forwarded_for.empty()) return std::nullopt;
  // Walk from the right: the trust_hops-th entry from the end is the one wanted, so only the
  // last trust_hops entries are looked at, whatever the client put in front of them.
  std::string_view rest = forwarded_for;
  for (std::size_t seen = 1;; ++seen) {
    const auto comma = rest.rfind(',');
    const std::string_view entry =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    if (seen == trust_hops) return canonical_ip(entry);
    if (comma == std::string_view::npos) return std::nullopt;  // fewer entries than hops
    rest = rest.substr(0, comma);
  }
}

}  // namespace protocol
