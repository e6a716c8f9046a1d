#pragma once
// The address a request is accounted to (per-IP limits, the API rate limit, log lines): the
// socket's peer, or behind `trust_hops` trusted proxies the client that X-Forwarded-For names
// (protocol/forwarded.hpp has the rule). Header-only, no state.

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/forwarded.hpp"
#include "server/net.hpp"

namespace server {

/// The X-Forwarded-For value of a parsed request: its field lines joined with ", " in order
/// (RFC 9110 §5.3), so a proxy that adds a line instead of appending to the client's is read
/// the same way. "" when absent.
[[nodiscard]] inline std::string forwarded_for(const http::fields& fields) {
  std::string out;
  for (auto [it, end] = fields.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!out.empty()) out.append(", ");
    out.append(it->value());
  }
  return out;
}

/// `peer`, or the client address X-Forwarded-For reports when `trust_hops` > 0 and the header
/// has an address at that depth.
[[nodiscard]] inline std::string client_address(std::string_view forwarded_for, std::string peer,
                                                std::uint32_t trust_hops) {
  if (auto client = protocol::forwarded_client(forwarded_for, trust_hops)) return *client;
  return peer;
}

}  // namespace server
