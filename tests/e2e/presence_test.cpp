// protocol.md §5 (and §3.3-§3.5 for presence): member list, member events, identity, limits.

#include <set>

#include "tests/e2e/e2e.hpp"

namespace e2e {
namespace {

std::string member_added(std::string_view channel, std::string_view user_id,
                         std::string_view user_info) {
  return R"({"event":"pusher_internal:member_added","channel":)" + json_quote(channel) +
         ",\"data\":" +
         json_quote(R"({"user_id":)" + json_quote(user_id) + R"(,"user_info":)" +
                    std::string(user_info) + "}") +
         "}";
}

std::string member_removed(std::string_view channel, std::string_view user_id) {
  return R"({"event":"pusher_internal:member_removed","channel":)" + json_quote(channel) +
         ",\"data\":" + json_quote(R"({"user_id":)" + json_quote(user_id) + "}") + "}";
}

std::set<std::string> as_set(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

TEST_CASE("e2e: presence subscription_succeeded carries exact ids, hash and count") {
  Server server;
  const std::string ch = "presence-room";
  WsClient a;
  a.open(server.port());
  CHECK(join_presence(a, ch, R"({"user_id":"1","user_info":{"name":"A"}})") ==
        R"({"presence":{"ids":["1"],"hash":{"1":{"name":"A"}},"count":1}})");

  WsClient b;
  b.open(server.port());
  const std::string data = join_presence(b, ch, R"({"user_id":"2","user_info":{"name":"B"}})");
  const PresenceData p = parse_presence(data);
  CHECK(p.count == 2);
  CHECK(p.ids.size() == 2);
  CHECK(as_set(p.ids) == std::set<std::string>{"1", "2"});
  CHECK(p.hash ==
        std::map<std::string, std::string>{{"1", R"({"name":"A"})"}, {"2", R"({"name":"B"})"}});

  // member_added was queued for A before B's subscription_succeeded was sent: A's ping (sent
  // after B saw its success) is answered after the member_added.
  a.send_text(ping_frame());
  CHECK(a.expect_message(soon()) == member_added(ch, "2", R"({"name":"B"})"));
  a.expect_event("pusher:pong", soon());
  // Never to the joiner itself.
  b.expect_alive_and_idle();

  // A member without user_info gets {}.
  WsClient c;
  c.open(server.port());
  const PresenceData pc = parse_presence(join_presence(c, ch, R"({"user_id":"3"})"));
  CHECK(pc.count == 3);
  CHECK(pc.hash.at("3") == "{}");
  CHECK(a.expect_message(soon()) == member_added(ch, "3", "{}"));
  CHECK(b.expect_message(soon()) == member_added(ch, "3", "{}"));

  // Leaving: member_removed to the rest.
  b.unsubscribe(ch);
  CHECK(a.expect_message(soon()) == member_removed(ch, "2"));
  CHECK(c.expect_message(soon()) == member_removed(ch, "2"));
  b.expect_alive_and_idle();
}

TEST_CASE("e2e: presence announces only a user's first join and last leave") {
  Server server;
  const std::string ch = "presence-tabs";
  WsClient observer;
  observer.open(server.port());
  join_presence(observer, ch, R"({"user_id":"1"})");

  WsClient tab1;
  WsClient tab2;
  tab1.open(server.port());
  tab2.open(server.port());
  join_presence(tab1, ch, R"({"user_id":"7","user_info":{"tab":1}})");
  CHECK(observer.expect_message(soon()) == member_added(ch, "7", R"({"tab":1})"));

  // Second socket of user 7: full list in its own reply, nothing for the others.
  const PresenceData p =
      parse_presence(join_presence(tab2, ch, R"({"user_id":"7","user_info":{"tab":2}})"));
  CHECK(p.count == 2);
  CHECK(as_set(p.ids) == std::set<std::string>{"1", "7"});
  CHECK(p.hash.at("7") == R"({"tab":1})");  // the first socket's user_info is kept
  observer.expect_alive_and_idle();
  tab1.expect_alive_and_idle();

  // One of two sockets leaves: nothing announced.
  tab1.unsubscribe(ch);
  tab1.expect_alive_and_idle();
  observer.expect_alive_and_idle();

  // The last socket leaves (close handshake): member_removed.
  REQUIRE(tab2.close().has_value());
  CHECK(observer.expect_message(soon()) == member_removed(ch, "7"));

  // An abrupt TCP drop is a leave too.
  WsClient dropper;
  dropper.open(server.port());
  join_presence(dropper, ch, R"({"user_id":"8"})");
  CHECK(observer.expect_message(soon()) == member_added(ch, "8", "{}"));
  dropper.drop();
  CHECK(observer.expect_message(soon()) == member_removed(ch, "8"));
  observer.expect_alive_and_idle();
}

TEST_CASE("e2e: a numeric presence user_id is echoed as the signed number (protocol 5.1)") {
  Server server;
  const std::string ch = "presence-foobar";
  WsClient a;
  a.open(server.port());
  // ids lists the number, hash keys stay strings.
  CHECK(join_presence(a, ch, R"({"user_id":10,"user_info":{"name":"Mr. Channels"}})") ==
        R"({"presence":{"ids":[10],"hash":{"10":{"name":"Mr. Channels"}},"count":1}})");
  WsClient b;
  b.open(server.port());
  const std::string data = join_presence(b, ch, R"({"user_id":"2"})");
  CHECK((
      data ==
          R"({"presence":{"ids":[10,"2"],"hash":{"10":{"name":"Mr. Channels"},"2":{}},"count":2}})" ||
      data ==
          R"({"presence":{"ids":["2",10],"hash":{"2":{},"10":{"name":"Mr. Channels"}},"count":2}})"));
  CHECK(a.expect_message(soon()) == member_added(ch, "2", "{}"));
  WsClient c;
  c.open(server.port());
  join_presence(c, ch, R"({"user_id":-7})");
  const std::string added_c =
      R"({"event":"pusher_internal:member_added","channel":"presence-foobar","data":"{\"user_id\":-7,\"user_info\":{}}"})";
  CHECK(a.expect_message(soon()) == added_c);
  CHECK(b.expect_message(soon()) == added_c);

  // Client events carry the sender's id with its type.
  a.send_text(client_event_frame("client-x", ch, R"({"t":1})"));
  CHECK(b.expect_message(soon()) ==
        R"({"event":"client-x","channel":"presence-foobar","data":{"t":1},"user_id":10})");
  c.expect_message(soon());

  // GET .../users lists the number as a number.
  HttpClient http(server.port());
  const HttpResponse users =
      http.signed_request(app, "GET", "/apps/app-id/channels/" + ch + "/users");
  CHECK(users.status == 200);
  CHECK(users.body.find(R"({"id":10})") != std::string::npos);
  CHECK(users.body.find(R"({"id":"2"})") != std::string::npos);
  CHECK(users.body.find(R"({"id":-7})") != std::string::npos);

  a.drop();
  const std::string removed_a =
      R"({"event":"pusher_internal:member_removed","channel":"presence-foobar","data":"{\"user_id\":10}"})";
  CHECK(b.expect_message(soon()) == removed_a);
  CHECK(c.expect_message(soon()) == removed_a);
}

TEST_CASE("e2e: 42 and \"42\" are one presence user, shown as its first join signed it") {
  Server server;
  const std::string ch = "presence-same";
  WsClient observer;
  observer.open(server.port());
  join_presence(observer, ch, R"({"user_id":"1"})");

  WsClient tab1;
  tab1.open(server.port());
  CHECK(parse_presence(join_presence(tab1, ch, R"({"user_id":42,"user_info":{"t":1}})")).count ==
        2);
  CHECK(
      observer.expect_message(soon()) ==
      R"({"event":"pusher_internal:member_added","channel":"presence-same","data":"{\"user_id\":42,\"user_info\":{\"t\":1}}"})");
  // The same user signed as a string: no member_added, still one user, still the number.
  WsClient tab2;
  tab2.open(server.port());
  const std::string data = join_presence(tab2, ch, R"({"user_id":"42","user_info":{"t":2}})");
  const PresenceData p = parse_presence(data);
  CHECK(p.count == 2);
  CHECK(p.ids.size() == 2);
  CHECK(as_set(p.ids) == std::set<std::string>{"1", "42"});
  CHECK(p.numeric_ids == std::vector<std::string>{"42"});
  CHECK(p.hash.at("42") == R"({"t":1})");
  // tab2's client events use the member's kept form.
  tab2.send_text(client_event_frame("client-y", ch, "{}"));
  CHECK(observer.expect_message(soon()) ==
        R"({"event":"client-y","channel":"presence-same","data":{},"user_id":42})");
  tab1.expect_message(soon());

  HttpClient http(server.port());
  const HttpResponse info =
      http.signed_request(app, "GET", "/apps/app-id/channels/" + ch, "", {{"info", "user_count"}});
  CHECK(info.body.find(R"("user_count":2)") != std::string::npos);

  // The string-signed socket leaving last removes the member as the number it was announced as.
  tab1.drop();
  observer.expect_alive_and_idle();
  tab2.drop();
  CHECK(
      observer.expect_message(soon()) ==
      R"({"event":"pusher_internal:member_removed","channel":"presence-same","data":"{\"user_id\":42}"})");
}

TEST_CASE("e2e: presence channel_data problems are reported and leave no member behind") {
  Server server;
  const std::string ch = "presence-bad";
  WsClient c;
  const std::string id = c.open(server.port());

  SUBCASE("channel_data missing -> 4000") {
    c.subscribe(ch, private_auth(id, ch));
    CHECK(c.expect_refused(ch, 4000, "ServerError", 4000, soon()) ==
          "Invalid message format: Missing channel_data for presence channel");
  }
  SUBCASE("channel_data not JSON -> 4000") {
    subscribe_presence(c, ch, "not json");
    CHECK(c.expect_refused(ch, 4000, "ServerError", 4000, soon()) ==
          "Invalid message format: Invalid channel_data JSON for presence");
  }
  SUBCASE("user_id missing or of a wrong type -> 4300") {
    for (const char* cd : {R"({"user_info":{}})", R"({"user_id":null})", R"({"user_id":true})",
                           R"({"user_id":{"a":1}})", R"({"user_id":["1"]})", R"({"user_id":""})"}) {
      CAPTURE(cd);
      subscribe_presence(c, ch, cd);
      CHECK(c.expect_refused(ch, 4300, "ServerError", 4300, soon()) ==
            "Channel error: Missing user_id in channel_data");
    }
  }
  c.expect_alive_and_idle();
  // Nobody was registered by the failed attempts.
  WsClient ok;
  ok.open(server.port());
  CHECK(join_presence(ok, ch, R"({"user_id":"5"})") ==
        R"({"presence":{"ids":["5"],"hash":{"5":{}},"count":1}})");
}

TEST_CASE("e2e: presence user_info over max_presence_member_size_in_kb gets 4300") {
  Server server;  // default limit: 2 KB
  WsClient c;
  c.open(server.port());
  const std::string big =
      R"({"user_id":"1","user_info":{"blob":")" + std::string(4000, 'x') + "\"}}";
  subscribe_presence(c, "presence-big", big);
  const std::string msg = c.expect_refused("presence-big", 4300, "LimitReached", 4301, soon());
  CHECK_MESSAGE(msg.rfind("Channel error: Presence member data size", 0) == 0, msg);
  c.expect_alive_and_idle();
  const std::string fits =
      R"({"user_id":"1","user_info":{"blob":")" + std::string(1500, 'x') + "\"}}";
  CHECK(parse_presence(join_presence(c, "presence-big", fits)).count == 1);
}

TEST_CASE("e2e: a full presence channel rejects a new member with 4100, connection stays open") {
  ServerConfig cfg = default_config();
  cfg.app().max_presence_members_per_channel = 2;
  Server server(cfg);
  const std::string ch = "presence-small";
  WsClient a;
  WsClient b;
  WsClient c;
  a.open(server.port());
  b.open(server.port());
  c.open(server.port());
  join_presence(a, ch, R"({"user_id":"1"})");
  join_presence(b, ch, R"({"user_id":"2"})");
  subscribe_presence(c, ch, R"({"user_id":"3"})");
  CHECK(c.expect_refused(ch, 4100, "LimitReached", 4100, soon()) == "Over capacity");
  c.expect_alive_and_idle();
  CHECK(a.expect_message(soon()) == member_added(ch, "2", "{}"));
  a.expect_alive_and_idle();  // no member_added for the rejected user
  // The limit is per channel.
  CHECK(parse_presence(join_presence(c, "presence-other", R"({"user_id":"3"})")).count == 1);
}

TEST_CASE("e2e: presence double subscribe replies with the current list and no member events") {
  Server server;
  const std::string ch = "presence-double";
  WsClient a;
  WsClient b;
  a.open(server.port());
  b.open(server.port());
  join_presence(a, ch, R"({"user_id":"1"})");
  join_presence(b, ch, R"({"user_id":"2"})");
  CHECK(a.expect_message(soon()) == member_added(ch, "2", "{}"));
  const PresenceData again = parse_presence(join_presence(b, ch, R"({"user_id":"2"})"));
  CHECK(again.count == 2);
  CHECK(as_set(again.ids) == std::set<std::string>{"1", "2"});
  a.expect_alive_and_idle();
}

}  // namespace e2e
