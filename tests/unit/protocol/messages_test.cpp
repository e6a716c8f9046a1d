#include "protocol/messages.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

using protocol::PresenceMember;

TEST_CASE("protocol: connection_established (protocol.md 1.3, Appendix A)") {
  CHECK(
      protocol::connection_established("1.2", 120) ==
      R"({"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"})");
  CHECK(
      protocol::connection_established("4817263544.9034417723", std::chrono::seconds(30)) ==
      R"({"event":"pusher:connection_established","data":"{\"socket_id\":\"4817263544.9034417723\",\"activity_timeout\":30}"})");
}

TEST_CASE("protocol: error frame has an object data and no channel") {
  CHECK(
      protocol::error(4009, "Authentication error: Channel requires authentication") ==
      R"({"event":"pusher:error","data":{"code":4009,"message":"Authentication error: Channel requires authentication"}})");
  CHECK(
      protocol::error(4300, "Channel error: Channel name contains invalid characters: a\"b") ==
      R"({"event":"pusher:error","data":{"code":4300,"message":"Channel error: Channel name contains invalid characters: a\"b"}})");
}

TEST_CASE("protocol: ping and pong have no data key") {
  CHECK(protocol::ping() == R"({"event":"pusher:ping"})");
  CHECK(protocol::pong() == R"({"event":"pusher:pong"})");
}

TEST_CASE("protocol: subscription_succeeded for non-presence channels") {
  CHECK(protocol::subscription_succeeded("my-channel") ==
        R"({"event":"pusher_internal:subscription_succeeded","channel":"my-channel","data":"{}"})");
}

TEST_CASE("protocol: presence subscription_succeeded matches test-vectors 2a byte for byte") {
  const std::vector<PresenceMember> members{{"10", R"({"name":"Mr. Channels"})"}};
  CHECK(
      protocol::subscription_succeeded_presence("presence-foobar", members) ==
      R"({"event":"pusher_internal:subscription_succeeded","channel":"presence-foobar","data":"{\"presence\":{\"ids\":[\"10\"],\"hash\":{\"10\":{\"name\":\"Mr. Channels\"}},\"count\":1}}"})");
}

TEST_CASE("protocol: presence subscription_succeeded matches protocol.md 3.3 example") {
  const std::vector<PresenceMember> members{{"42", R"({"name":"A"})"}, {"7", R"({"name":"B"})"}};
  CHECK(
      protocol::subscription_succeeded_presence("presence-room", members) ==
      R"({"event":"pusher_internal:subscription_succeeded","channel":"presence-room","data":"{\"presence\":{\"ids\":[\"42\",\"7\"],\"hash\":{\"42\":{\"name\":\"A\"},\"7\":{\"name\":\"B\"}},\"count\":2}}"})");
}

TEST_CASE("protocol: presence_data shapes (empty user_info, empty list, escaping)") {
  const std::vector<PresenceMember> members{{"1", ""}, {"a\"b", "[1,2]"}};
  CHECK(protocol::presence_data(members) ==
        R"({"presence":{"ids":["1","a\"b"],"hash":{"1":{},"a\"b":[1,2]},"count":2}})");
  CHECK(protocol::presence_data({}) == R"({"presence":{"ids":[],"hash":{},"count":0}})");
}

TEST_CASE("protocol: member_added and member_removed (protocol.md 5.2)") {
  CHECK(
      protocol::member_added("presence-room", "42", R"({"name":"A"})") ==
      R"({"event":"pusher_internal:member_added","channel":"presence-room","data":"{\"user_id\":\"42\",\"user_info\":{\"name\":\"A\"}}"})");
  CHECK(
      protocol::member_added("presence-x", "1", "") ==
      R"({"event":"pusher_internal:member_added","channel":"presence-x","data":"{\"user_id\":\"1\",\"user_info\":{}}"})");
  CHECK(
      protocol::member_removed("presence-room", "42") ==
      R"({"event":"pusher_internal:member_removed","channel":"presence-room","data":"{\"user_id\":\"42\"}"})");
}

TEST_CASE("protocol: numeric member ids keep their type (protocol.md 5.1, revised)") {
  CHECK(
      protocol::member_added("presence-room", "42", R"({"name":"A"})", true) ==
      R"({"event":"pusher_internal:member_added","channel":"presence-room","data":"{\"user_id\":42,\"user_info\":{\"name\":\"A\"}}"})");
  CHECK(
      protocol::member_removed("presence-room", "42", true) ==
      R"({"event":"pusher_internal:member_removed","channel":"presence-room","data":"{\"user_id\":42}"})");
  CHECK(
      protocol::member_removed("presence-room", "-1.5e3", true) ==
      R"({"event":"pusher_internal:member_removed","channel":"presence-room","data":"{\"user_id\":-1.5e3}"})");
  // ids: numbers stay numbers, strings stay strings; hash keys are strings either way.
  const std::vector<PresenceMember> members{{"42", R"({"name":"A"})", true},
                                            {"7", R"({"name":"B"})", false}};
  CHECK(protocol::presence_data(members) ==
        R"({"presence":{"ids":[42,"7"],"hash":{"42":{"name":"A"},"7":{"name":"B"}},"count":2}})");
  CHECK(
      protocol::subscription_succeeded_presence("presence-room", members) ==
      R"({"event":"pusher_internal:subscription_succeeded","channel":"presence-room","data":"{\"presence\":{\"ids\":[42,\"7\"],\"hash\":{\"42\":{\"name\":\"A\"},\"7\":{\"name\":\"B\"}},\"count\":2}}"})");
  CHECK(protocol::client_event("client-typing", "presence-room", R"({"t":1})", "42", true) ==
        R"({"event":"client-typing","channel":"presence-room","data":{"t":1},"user_id":42})");
  CHECK(protocol::client_event("client-typing", "presence-room", R"({"t":1})", "42", false) ==
        R"({"event":"client-typing","channel":"presence-room","data":{"t":1},"user_id":"42"})");
}

TEST_CASE("protocol: cache_miss (protocol.md 3.6)") {
  CHECK(protocol::cache_miss("cache-prices") ==
        R"({"event":"pusher:cache_miss","channel":"cache-prices","data":"{}"})");
}

TEST_CASE("protocol: api_event stringifies data (protocol.md 7.3, 9.2)") {
  CHECK(protocol::api_event("notify", "#server-to-user-42", R"({"n":1})") ==
        R"({"event":"notify","channel":"#server-to-user-42","data":"{\"n\":1}"})");
  CHECK(protocol::api_event("foo", "project-3", "null") ==
        R"({"event":"foo","channel":"project-3","data":"null"})");
  CHECK(protocol::api_event("e", "c", "line\nbreak \xc3\xa9") ==
        "{\"event\":\"e\",\"channel\":\"c\",\"data\":\"line\\nbreak \xc3\xa9\"}");
}

TEST_CASE("protocol: client_event relays data byte for byte, user_id last") {
  CHECK(protocol::client_event("client-typing", "private-chat", R"({"text":"hi"})", std::nullopt) ==
        R"({"event":"client-typing","channel":"private-chat","data":{"text":"hi"}})");
  CHECK(protocol::client_event("client-x", "private-x", R"({"b":1.50,"a":[1, 2]})", std::nullopt) ==
        R"({"event":"client-x","channel":"private-x","data":{"b":1.50,"a":[1, 2]}})");
  CHECK(protocol::client_event("client-x", "private-x", R"("a string")", std::nullopt) ==
        R"({"event":"client-x","channel":"private-x","data":"a string"})");
  CHECK(protocol::client_event("client-x", "private-x", "", std::nullopt) ==
        R"({"event":"client-x","channel":"private-x","data":null})");
  CHECK(protocol::client_event("client-typing", "presence-room", R"({"t":1})", "42") ==
        R"({"event":"client-typing","channel":"presence-room","data":{"t":1},"user_id":"42"})");
}

TEST_CASE("protocol: signin_success carries the user_data string (protocol.md 7.1)") {
  CHECK(protocol::signin_success(R"({"id":"12345"})") ==
        R"({"event":"pusher:signin_success","data":{"user_data":"{\"id\":\"12345\"}"}})");
}

TEST_CASE("protocol: watchlist_events uses the Pusher envelope and omits empty lists") {
  const std::vector<std::string> online{"7"};
  const std::vector<std::string> offline{"9", "10"};
  const std::vector<std::string> none;
  CHECK(
      protocol::watchlist_events(online, offline) ==
      R"({"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"online","user_ids":["7"]},{"name":"offline","user_ids":["9","10"]}]}})");
  CHECK(
      protocol::watchlist_events(online, none) ==
      R"({"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"online","user_ids":["7"]}]}})");
  CHECK(
      protocol::watchlist_events(none, offline) ==
      R"({"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"offline","user_ids":["9","10"]}]}})");
  CHECK(protocol::watchlist_events(none, none) ==
        R"({"event":"pusher_internal:watchlist_events","data":{"events":[]}})");
  const std::vector<std::string_view> views{"2"};
  const std::vector<std::string_view> no_views;
  CHECK(
      protocol::watchlist_events(views, no_views) ==
      R"({"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"online","user_ids":["2"]}]}})");
}

TEST_CASE("protocol: watchlist_event is the one-user frame of either list") {
  CHECK(
      protocol::watchlist_event("42", true) ==
      R"({"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"online","user_ids":["42"]}]}})");
  CHECK(
      protocol::watchlist_event("a\"b", false) ==
      R"({"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"offline","user_ids":["a\"b"]}]}})");
}

TEST_CASE("protocol: channel-scoped pusher:error and pusher:subscription_error (§3.4, §6)") {
  CHECK(
      protocol::error(4301, "Client event rejected due to rate limit", "private-a") ==
      R"({"event":"pusher:error","channel":"private-a","data":{"code":4301,"message":"Client event rejected due to rate limit"}})");
  // No channel: the connection-level frame, exactly as error(code, message).
  CHECK(protocol::error(4301, "x", "") == protocol::error(4301, "x"));
  CHECK(
      protocol::subscription_error("private-a", "AuthError",
                                   "Authentication error: Channel requires authentication", 401) ==
      R"({"event":"pusher:subscription_error","channel":"private-a","data":{"type":"AuthError","error":"Authentication error: Channel requires authentication","status":401}})");
  CHECK(
      protocol::subscription_error("presence-\"q", "LimitReached", "Over \"capacity\"", 4100) ==
      R"({"event":"pusher:subscription_error","channel":"presence-\"q","data":{"type":"LimitReached","error":"Over \"capacity\"","status":4100}})");
}

TEST_CASE("protocol: V2 dialect renames protocol events, never user events") {
  using protocol::has_protocol_prefix;
  using protocol::to_v2;
  CHECK(to_v2(protocol::pong()) == R"({"event":"sockudo:pong"})");
  CHECK(
      to_v2(protocol::connection_established("1.2", 120)) ==
      R"({"event":"sockudo:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"})");
  CHECK(to_v2(protocol::subscription_succeeded("c")) ==
        R"({"event":"sockudo_internal:subscription_succeeded","channel":"c","data":"{}"})");
  CHECK(
      to_v2(protocol::member_removed("presence-c", "7", true)) ==
      R"({"event":"sockudo_internal:member_removed","channel":"presence-c","data":"{\"user_id\":7}"})");
  CHECK(to_v2(protocol::error(4009, "x")) ==
        R"({"event":"sockudo:error","data":{"code":4009,"message":"x"}})");
  // User events keep their bytes: one encoding serves both dialects.
  const std::string user = protocol::api_event("my-event", "c", "d");
  CHECK_FALSE(has_protocol_prefix(user));
  CHECK(to_v2(user) == user);
  const std::string client = protocol::client_event("client-x", "private-c", "{}", std::nullopt);
  CHECK_FALSE(has_protocol_prefix(client));
  CHECK(to_v2(client) == client);
  // Only the event name's own prefix counts, not text later in the frame.
  CHECK_FALSE(has_protocol_prefix(protocol::api_event("e", "c", "pusher:x")));
}
