#include "protocol/channel.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using protocol::ChannelKind;

namespace {

struct KindRow {
  std::string_view name;
  bool is_private;
  bool is_presence;
  bool is_encrypted;
  bool is_cache;
  bool is_server_to_user;
  bool requires_auth;
  bool allows_client_events;
};

}  // namespace

TEST_CASE("protocol: classify_channel follows the prefix table in order") {
  // name                              priv   pres   enc    cache  s2u    auth   client-events
  const KindRow rows[] = {
      {"private-encrypted-cache-x", true, false, true, true, false, true, false},
      {"private-encrypted-x", true, false, true, false, false, true, false},
      {"private-cache-x", true, false, false, true, false, true, true},
      {"private-x", true, false, false, false, false, true, true},
      {"presence-cache-x", false, true, false, true, false, true, true},
      {"presence-x", false, true, false, false, false, true, true},
      {"cache-x", false, false, false, true, false, false, false},
      {"#server-to-user-42", false, false, false, false, true, false, false},
      {"my-channel", false, false, false, false, false, false, false},
      // Prefix match only ([deviate]): "cache-" elsewhere in the name is not a cache channel.
      {"my-cache-1", false, false, false, false, false, false, false},
      {"private-foo-cache-x", true, false, false, false, false, true, true},
      {"presence-foo-cache-x", false, true, false, false, false, true, true},
      // Prefixes need the trailing '-' and are case-sensitive.
      {"private", false, false, false, false, false, false, false},
      {"Private-x", false, false, false, false, false, false, false},
      {"presencex", false, false, false, false, false, false, false},
      {"private-encrypted", true, false, false, false, false, true, true},
      {"#server-to-user", false, false, false, false, false, false, false},
      {"", false, false, false, false, false, false, false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const ChannelKind kind = protocol::classify_channel(row.name);
    CHECK(kind.is_private == row.is_private);
    CHECK(kind.is_presence == row.is_presence);
    CHECK(kind.is_encrypted == row.is_encrypted);
    CHECK(kind.is_cache == row.is_cache);
    CHECK(kind.is_server_to_user == row.is_server_to_user);
    CHECK(kind.requires_auth() == row.requires_auth);
    CHECK(kind.allows_client_events() == row.allows_client_events);
  }
}

TEST_CASE("protocol: channel_type_prefix_length and channel_namespace") {
  CHECK(protocol::channel_type_prefix_length("private-encrypted-cache-x") == 24);
  CHECK(protocol::channel_type_prefix_length("presence-x") == 9);
  CHECK(protocol::channel_type_prefix_length("#server-to-user-1") == 16);
  CHECK(protocol::channel_type_prefix_length("public") == 0);
  CHECK(protocol::channel_namespace("private-chat:room") == "chat");
  CHECK(protocol::channel_namespace("chat:room:1") == "chat");
  CHECK(protocol::channel_namespace("presence-room") == "");
}

TEST_CASE("protocol: validate_channel_name accepts valid names") {
  const std::string_view valid[] = {
      "my-channel",
      "private-orders",
      "presence-room",
      "private-encrypted-bla",
      "cache-prices",
      "#server-to-user-42",
      "#anything",  // a leading '#' is allowed
      "AZaz09_-=@,.;",
      "private-",
      "a",
  };
  for (std::string_view name : valid) {
    CAPTURE(name);
    CHECK_FALSE(protocol::validate_channel_name(name, 200).has_value());
  }
}

TEST_CASE("protocol: validate_channel_name rejects invalid names with Sockudo's messages") {
  struct Row {
    std::string_view name;
    std::string_view message;
  };
  const Row rows[] = {
      {"", "Channel error: Channel name cannot be empty"},
      {"my channel", "Channel error: Channel name contains invalid characters: my channel"},
      {"a/b", "Channel error: Channel name contains invalid characters: a/b"},
      {"a#b", "Channel error: Channel name contains invalid characters: a#b"},
      {"#server-to-user-a#b",
       "Channel error: Channel name contains invalid characters: #server-to-user-a#b"},
      {"caf\xc3\xa9", "Channel error: Channel name contains invalid characters: caf\xc3\xa9"},
      {"a*", "Channel error: Channel name contains invalid characters: a*"},
      {"a\nb", "Channel error: Channel name contains invalid characters: a\nb"},
      {"chat:room", "Channel error: Unknown channel namespace 'chat'"},
      {"private-chat:room", "Channel error: Unknown channel namespace 'chat'"},
      {"presence-cache-ns:x:y", "Channel error: Unknown channel namespace 'ns'"},
      {"#server-to-user-ns:1", "Channel error: Unknown channel namespace 'ns'"},
      {":x", "Channel error: Unknown channel namespace ''"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    const auto error = protocol::validate_channel_name(row.name, 200);
    REQUIRE(error.has_value());
    CHECK(*error == row.message);
  }
}

TEST_CASE("protocol: validate_channel_name length limit is inclusive (200 vs 201)") {
  const std::string at_limit(200, 'a');
  const std::string over_limit(201, 'a');
  CHECK_FALSE(protocol::validate_channel_name(at_limit, 200).has_value());
  const auto error = protocol::validate_channel_name(over_limit, 200);
  REQUIRE(error.has_value());
  CHECK(*error == "Channel error: Channel name too long. Max length is 200");

  // The limit is a parameter (per-app max_channel_name_length); length is checked before chars.
  const auto custom = protocol::validate_channel_name("private-abc def", 10);
  REQUIRE(custom.has_value());
  CHECK(*custom == "Channel error: Channel name too long. Max length is 10");
  CHECK_FALSE(protocol::validate_channel_name("private-ab", 10).has_value());
}

TEST_CASE("protocol: validate_event_name checks presence and length") {
  CHECK_FALSE(protocol::validate_event_name("client-typing", 200).has_value());
  CHECK_FALSE(protocol::validate_event_name(std::string(200, 'e'), 200).has_value());
  const auto too_long = protocol::validate_event_name(std::string(201, 'e'), 200);
  REQUIRE(too_long.has_value());
  CHECK(*too_long == "Invalid event name: Event name exceeds maximum length of 200");
  const auto empty = protocol::validate_event_name("", 200);
  REQUIRE(empty.has_value());
  CHECK(*empty == "Invalid event name: Event name is required");
}
