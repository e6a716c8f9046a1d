#pragma once
// The client address behind trusted reverse proxies, from `X-Forwarded-For` (README
// "Security", "Behind a proxy"). Each proxy appends the address it received the request from,
// so with N trusted proxies in front of the server the N-th entry from the right is the
// address the outermost trusted proxy saw: the client. Entries left of it were written by the
// client (or untrusted hops) and are never used.
//
// Rule (Sockudo's IpKeyExtractor, with two deliberate differences):
//  - trust_hops 0: the header is ignored.
//  - The list is split at commas, each entry trimmed of spaces and tabs; empty entries count
//    as entries (as in Sockudo), and the chosen one must be an IPv4 or IPv6 address (no port,
//    no brackets), returned in canonical text form (inet_ntop).
//  - Fewer entries than trust_hops: the header is ignored (Sockudo takes the leftmost entry,
//    which the client wrote itself whenever it could reach a trusted hop directly).
//  - Sockudo also honours `X-Real-IP` whenever X-Forwarded-For gives nothing, even with
//    trust_hops 0, which lets any client choose its identity; it is not read here.
// Pure: no I/O, no allocation beyond the returned string.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace protocol {

/// The client address that `forwarded_for` (the X-Forwarded-For field value; several field
/// lines joined with ", " in order) reports when `trust_hops` proxies are trusted, or nullopt
/// when the peer address must be used instead (trust_hops 0, too few entries, or the chosen
/// entry is not an IP address).
[[nodiscard]] std::optional<std::string> forwarded_client(std::string_view forwarded_for,
                                                          std::size_t trust_hops);

/// Whether `s` is an IPv4 or IPv6 address in text form; when it is, its canonical form.
[[nodiscard]] std::optional<std::string> canonical_ip(std::string_view s);

}  // namespace protocol
