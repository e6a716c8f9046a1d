#include "protocol/socket_id.hpp"

#include <doctest/doctest.h>

#include <unordered_set>

using protocol::SocketId;

TEST_CASE("socket id: text round trip") {
  const SocketId ids[] = {{0, 0},
                          {1, 2},
                          {1234, 5678},
                          {SocketId::max_part, SocketId::max_part},
                          {9'999'999'999ULL, 42}};
  for (const auto& id : ids) {
    const std::string s = id.str();
    CHECK(s.size() <= SocketId::max_length);
    const auto back = SocketId::parse(s);
    REQUIRE(back.has_value());
    CHECK(*back == id);
  }
  CHECK(SocketId{1234, 5678}.str() == "1234.5678");
  CHECK(SocketId{SocketId::max_part, 0}.str() == "10000000000.0");
}

TEST_CASE("socket id: only the canonical text parses") {
  const char* bad[] = {"",
                       ".",
                       "1",
                       "1.",
                       ".1",
                       "1..2",
                       "1.2.3",
                       "01.2",
                       "1.02",
                       "00.0",
                       "-1.2",
                       "+1.2",
                       "1.2 ",
                       " 1.2",
                       "1a.2",
                       "1.2x",
                       "10000000001.1",
                       "1.10000000001",
                       "123456789012.1",
                       "1.18446744073709551617"};
  for (const char* s : bad) {
    CAPTURE(s);
    CHECK_FALSE(SocketId::parse(s).has_value());
  }
  CHECK(SocketId::parse("0.0").has_value());
  CHECK(SocketId::parse("10000000000.10000000000").has_value());
}

TEST_CASE("socket id: hashing distinguishes the parts") {
  std::unordered_set<SocketId, protocol::SocketIdHash> set;
  set.insert({1, 2});
  set.insert({2, 1});
  set.insert({1, 2});
  CHECK(set.size() == 2);
  CHECK(set.count(SocketId{2, 1}) == 1);
}
