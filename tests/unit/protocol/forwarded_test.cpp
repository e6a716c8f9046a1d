#include "protocol/forwarded.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using protocol::canonical_ip;
using protocol::forwarded_client;

TEST_CASE("forwarded: trust_hops 0 ignores the header") {
  CHECK(forwarded_client("203.0.113.7", 0) == std::nullopt);
  CHECK(forwarded_client("203.0.113.7, 10.0.0.1", 0) == std::nullopt);
}

TEST_CASE("forwarded: the trust_hops-th entry from the right") {
  CHECK(forwarded_client("203.0.113.7", 1) == "203.0.113.7");
  // A client-written entry in front of what the one trusted proxy appended is ignored.
  CHECK(forwarded_client("1.1.1.1, 203.0.113.7", 1) == "203.0.113.7");
  CHECK(forwarded_client("1.1.1.1,203.0.113.7,10.0.0.2", 2) == "203.0.113.7");
  CHECK(forwarded_client("203.0.113.7, 10.0.0.2", 2) == "203.0.113.7");
  CHECK(forwarded_client(" \t203.0.113.7\t , 10.0.0.2 ", 2) == "203.0.113.7");
}

TEST_CASE("forwarded: fewer entries than trusted hops fall back to the peer") {
  CHECK(forwarded_client("203.0.113.7", 2) == std::nullopt);
  CHECK(forwarded_client("203.0.113.7, 10.0.0.2", 3) == std::nullopt);
  CHECK(forwarded_client("", 1) == std::nullopt);
}

TEST_CASE("forwarded: the chosen entry must be an address; others are not looked at") {
  CHECK(forwarded_client("unknown", 1) == std::nullopt);
  CHECK(forwarded_client("203.0.113.7:4711", 1) == std::nullopt);
  CHECK(forwarded_client("[2001:db8::1]", 1) == std::nullopt);
  CHECK(forwarded_client("203.0.113.7,", 1) == std::nullopt);  // empty entries count
  CHECK(forwarded_client("203.0.113.7,,", 2) == std::nullopt);
  CHECK(forwarded_client("garbage here, 203.0.113.7", 1) == "203.0.113.7");
  CHECK(forwarded_client("1.2.3.4, 10.0.0.1 10.0.0.2", 1) == std::nullopt);
}

TEST_CASE("forwarded: addresses come back in canonical form") {
  CHECK(forwarded_client("2001:DB8:0:0:0:0:0:1", 1) == "2001:db8::1");
  CHECK(forwarded_client("::ffff:192.0.2.1", 1) == "::ffff:192.0.2.1");
  CHECK(canonical_ip("127.0.0.1") == "127.0.0.1");
  CHECK(canonical_ip("127.1") == std::nullopt);  // inet_pton accepts dotted quads only
  CHECK(canonical_ip("") == std::nullopt);
  CHECK(canonical_ip(std::string(100, '1')) == std::nullopt);
}
