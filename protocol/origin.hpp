#pragma once
// Origin allowlist matching (protocol.md §1.2, Sockudo's rules).

#include <string>
#include <string_view>
#include <vector>

namespace protocol {

/// True when `origin` (the request's Origin header, "" when absent) is allowed by `patterns`.
/// An empty pattern list allows everything. `*` or `any` allows everything (including a missing
/// origin). Otherwise matching is case-insensitive and exact, with three extras: a pattern
/// without a scheme is compared with the origin's host part (port kept); `*.example.com` matches
/// `example.com` and any subdomain; one `*` elsewhere acts as a prefix/suffix wildcard.
[[nodiscard]] bool origin_allowed(const std::vector<std::string>& patterns,
                                  std::string_view origin);

}  // namespace protocol
