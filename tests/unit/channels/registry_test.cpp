#include "channels/registry.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

using channels::ConnId;
using channels::LeaveResult;
using channels::Registry;

namespace {

constexpr std::string_view app = "app-1";

std::vector<std::string> member_ids(const Registry& r, std::string_view app_id,
                                    std::string_view channel) {
  std::vector<std::string> ids;
  for (const auto& m : r.members(app_id, channel)) {
    ids.emplace_back(m.user_id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::optional<std::string> opt_string(std::optional<std::string_view> v) {
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

}  // namespace

// ================================================================================================
// Presence: first join / last leave
// ================================================================================================

TEST_CASE("channels: presence first join and last leave with several sockets per user") {
  enum class Op { join, leave };
  struct Step {
    Op op;
    ConnId conn;
    const char* user;  // join only
    // join: already_subscribed, channel_occupied, member_added
    // leave: was_subscribed, channel_vacated, member_removed
    bool a, b, c;
    std::size_t subscriptions;
    std::size_t users;
    const char* leave_user_id;  // leave only: expected LeaveResult::user_id
  };
  const std::vector<Step> steps = {
      {Op::join, 1, "u1", false, true, true, 1, 1, ""},    // first socket: occupied + added
      {Op::join, 2, "u1", false, false, false, 2, 1, ""},  // second socket of u1: silent
      {Op::join, 3, "u2", false, false, true, 3, 2, ""},   // second user
      {Op::join, 1, "u1", true, false, false, 3, 2, ""},   // double subscribe: no change
      {Op::join, 1, "u9", true, false, false, 3, 2, ""},   // double subscribe as another user
      {Op::leave, 1, "", true, false, false, 2, 2, "u1"},  // u1 still has socket 2
      {Op::leave, 1, "", false, false, false, 2, 2, ""},   // not subscribed any more: no-op
      {Op::leave, 2, "", true, false, true, 1, 1, "u1"},   // last socket of u1
      {Op::join, 1, "u1", false, false, true, 2, 2, ""},   // re-join announces again
      {Op::leave, 3, "", true, false, true, 1, 1, "u2"},   // u2 gone
      {Op::leave, 1, "", true, true, true, 0, 0, "u1"},    // last socket of the channel
      {Op::leave, 1, "", false, false, false, 0, 0, ""},   // channel is gone: no-op
      {Op::join, 4, "u1", false, true, true, 1, 1, ""},    // occupied again
  };

  Registry r;
  const std::string_view ch = "presence-room";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    CAPTURE(i);
    if (s.op == Op::join) {
      const auto res = r.join_presence(app, ch, s.conn, s.user, R"({"n":1})");
      CHECK(res.already_subscribed == s.a);
      CHECK(res.channel_occupied == s.b);
      CHECK(res.member_added == s.c);
      CHECK(res.subscription_count == s.subscriptions);
    } else {
      const auto res = r.unsubscribe(app, ch, s.conn);
      CHECK(res.was_subscribed == s.a);
      CHECK(res.channel_vacated == s.b);
      CHECK(res.member_removed == s.c);
      CHECK(res.user_id == s.leave_user_id);
      CHECK(res.subscription_count == s.subscriptions);
    }
    CHECK(r.subscription_count(app, ch) == s.subscriptions);
    CHECK(r.user_count(app, ch) == s.users);
    CHECK(r.members(app, ch).size() == s.users);
    CHECK(r.check_invariants() == "");
  }
}

TEST_CASE("channels: presence keeps the first user_info of a user") {
  Registry r;
  r.join_presence(app, "presence-a", 1, "42", R"({"name":"first"})");
  r.join_presence(app, "presence-a", 2, "42", R"({"name":"second"})");
  r.join_presence(app, "presence-a", 3, "7", "{}");

  auto members = r.members(app, "presence-a");
  std::sort(members.begin(), members.end(),
            [](const auto& x, const auto& y) { return x.user_id < y.user_id; });
  REQUIRE(members.size() == 2);
  CHECK(members[0].user_id == "42");
  CHECK(members[0].user_info == R"({"name":"first"})");
  CHECK(members[1].user_id == "7");
  CHECK(members[1].user_info == "{}");
  CHECK(r.has_member(app, "presence-a", "42"));
  CHECK_FALSE(r.has_member(app, "presence-a", "43"));

  // The first socket leaving does not drop the kept info while the user stays.
  r.unsubscribe(app, "presence-a", 1);
  CHECK(r.members(app, "presence-a").size() == 2);
  for (const auto& m : r.members(app, "presence-a")) {
    if (m.user_id == "42") {
      CHECK(m.user_info == R"({"name":"first"})");
    }
  }
}

TEST_CASE("channels: 42 and \"42\" are one member, typed as its first join (protocol 5.1)") {
  Registry r;
  // Numeric first: the member is numeric for every later connection of the user.
  auto j1 = r.join_presence(app, "presence-a", 1, "42", R"({"n":1})", true);
  CHECK(j1.member_added);
  auto j2 = r.join_presence(app, "presence-a", 2, "42", R"({"n":2})", false);
  CHECK_FALSE(j2.member_added);
  CHECK(r.user_count(app, "presence-a") == 1);
  CHECK(r.subscription_count(app, "presence-a") == 2);
  auto members = r.members(app, "presence-a");
  REQUIRE(members.size() == 1);
  CHECK(members[0].user_id == "42");
  CHECK(members[0].user_id_numeric);
  CHECK(members[0].user_info == R"({"n":1})");
  const auto via2 = r.member_of(app, "presence-a", 2);
  REQUIRE(via2.has_value());
  CHECK(via2->user_id == "42");
  CHECK(via2->user_id_numeric);  // the member's kept form, not conn 2's own
  CHECK_FALSE(r.member_of(app, "presence-a", 3).has_value());

  // The last leave reports the kept type, whichever connection leaves last.
  auto l1 = r.unsubscribe(app, "presence-a", 1);
  CHECK_FALSE(l1.member_removed);
  auto l2 = r.unsubscribe(app, "presence-a", 2);
  CHECK(l2.member_removed);
  CHECK(l2.user_id == "42");
  CHECK(l2.user_id_numeric);

  // String first: stays a string.
  CHECK(r.join_presence(app, "presence-b", 1, "7", "{}", false).member_added);
  CHECK_FALSE(r.join_presence(app, "presence-b", 2, "7", "{}", true).member_added);
  CHECK(r.user_count(app, "presence-b") == 1);
  REQUIRE(r.members(app, "presence-b").size() == 1);
  CHECK_FALSE(r.members(app, "presence-b")[0].user_id_numeric);
  const auto all = r.unsubscribe_all(app, 2);
  REQUIRE(all.size() == 1);
  CHECK_FALSE(all[0].second.member_removed);
  const auto last = r.unsubscribe(app, "presence-b", 1);
  CHECK(last.member_removed);
  CHECK_FALSE(last.user_id_numeric);

  // A plain subscriber is no member.
  r.subscribe(app, "presence-c", 5);
  CHECK_FALSE(r.member_of(app, "presence-c", 5).has_value());
  CHECK(r.check_invariants() == "");
}

TEST_CASE("channels: a socket in two presence channels as different users") {
  Registry r;
  CHECK(r.join_presence(app, "presence-a", 1, "alice", "{}").member_added);
  CHECK(r.join_presence(app, "presence-b", 1, "bob", "{}").member_added);
  CHECK(r.join_presence(app, "presence-b", 2, "alice", "{}").member_added);

  CHECK(opt_string(r.member_id(app, "presence-a", 1)) == "alice");
  CHECK(opt_string(r.member_id(app, "presence-b", 1)) == "bob");
  CHECK(opt_string(r.member_id(app, "presence-b", 2)) == "alice");
  CHECK_FALSE(r.member_id(app, "presence-a", 2).has_value());
  CHECK(r.channel_count_of(app, 1) == 2);

  // Leaving presence-b removes bob (the id stored for that channel), not alice.
  const auto res = r.unsubscribe(app, "presence-b", 1);
  CHECK(res.member_removed);
  CHECK(res.user_id == "bob");
  CHECK(member_ids(r, app, "presence-b") == std::vector<std::string>{"alice"});
  CHECK(member_ids(r, app, "presence-a") == std::vector<std::string>{"alice"});
  CHECK(r.check_invariants() == "");
}

// ================================================================================================
// Public channels, no-ops, disconnect
// ================================================================================================

TEST_CASE("channels: occupied and vacated on a public channel") {
  struct Step {
    bool join;
    ConnId conn;
    bool changed;  // subscribed (join) / was_subscribed (leave); inverted already_subscribed
    bool edge;     // channel_occupied (join) / channel_vacated (leave)
    std::size_t count;
  };
  const std::vector<Step> steps = {
      {true, 1, true, true, 1},   {true, 2, true, false, 2},   {true, 2, false, false, 2},
      {false, 1, true, false, 1}, {false, 2, true, true, 0},   {false, 2, false, false, 0},
      {true, 2, true, true, 1},   {false, 3, false, false, 1}, {false, 2, true, true, 0},
  };
  Registry r;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    CAPTURE(i);
    if (s.join) {
      const auto res = r.subscribe(app, "my-channel", s.conn);
      CHECK(res.already_subscribed == !s.changed);
      CHECK(res.channel_occupied == s.edge);
      CHECK_FALSE(res.member_added);
      CHECK(res.subscription_count == s.count);
    } else {
      const auto res = r.unsubscribe(app, "my-channel", s.conn);
      CHECK(res.was_subscribed == s.changed);
      CHECK(res.channel_vacated == s.edge);
      CHECK_FALSE(res.member_removed);
      CHECK(res.user_id.empty());
      CHECK(res.subscription_count == s.count);
    }
    CHECK(r.is_subscribed(app, "my-channel", s.conn) == s.join);
    CHECK(r.occupied_channels(app, "").size() == (s.count > 0 ? 1U : 0U));
    CHECK(r.check_invariants() == "");
  }
  CHECK(r.stats(app).connections == 0);  // nothing left behind
}

TEST_CASE("channels: unsubscribe of an unjoined channel is a pure no-op") {
  Registry r;
  r.join_presence(app, "presence-room", 1, "42", "{}");
  r.join_presence(app, "presence-room", 2, "42", "{}");
  r.subscribe(app, "public", 2);

  struct Case {
    const char* name;
    std::string_view app_id;
    std::string_view channel;
    ConnId conn;
  };
  const std::vector<Case> cases = {
      {"unknown app", "other-app", "presence-room", 3},
      {"unknown channel", app, "presence-none", 1},
      {"presence channel, conn not in it", app, "presence-room", 3},
      {"public channel, conn not in it", app, "public", 1},
      {"unknown conn", app, "public", 99},
  };
  const auto before = r.stats(app);
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const auto res = r.unsubscribe(c.app_id, c.channel, c.conn);
    CHECK_FALSE(res.was_subscribed);
    CHECK_FALSE(res.channel_vacated);
    CHECK_FALSE(res.member_removed);
    CHECK(res.user_id.empty());
    const auto after = r.stats(app);
    CHECK(after.subscriptions == before.subscriptions);
    CHECK(after.presence_members == before.presence_members);
    CHECK(after.channels == before.channels);
    CHECK(after.connections == before.connections);
  }
  CHECK(r.stats("other-app").channels == 0);
  CHECK(r.check_invariants() == "");
}

TEST_CASE("channels: unsubscribe_all leaves every channel of the connection") {
  Registry r;
  r.subscribe(app, "pub-a", 1);
  r.subscribe(app, "pub-b", 1);
  r.subscribe(app, "pub-b", 2);
  r.join_presence(app, "presence-x", 1, "42", "{}");
  r.join_presence(app, "presence-y", 1, "42", "{}");
  r.join_presence(app, "presence-y", 2, "42", "{}");
  r.subscribe("app-2", "pub-a", 1);  // another app: untouched
  r.sign_in(app, 1, "42", {});

  auto results = r.unsubscribe_all(app, 1);
  std::sort(results.begin(), results.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  struct Expect {
    const char* channel;
    bool vacated;
    bool member_removed;
    const char* user_id;
    std::size_t count;
  };
  const std::vector<Expect> expected = {
      {"presence-x", true, true, "42", 0},
      {"presence-y", false, false, "42", 1},  // 42 still has socket 2 there
      {"pub-a", true, false, "", 0},
      {"pub-b", false, false, "", 1},
  };
  REQUIRE(results.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(results[i].first == expected[i].channel);
    CHECK(results[i].second.was_subscribed);
    CHECK(results[i].second.channel_vacated == expected[i].vacated);
    CHECK(results[i].second.member_removed == expected[i].member_removed);
    CHECK(results[i].second.user_id == expected[i].user_id);
    CHECK(results[i].second.subscription_count == expected[i].count);
  }
  CHECK(r.channel_count_of(app, 1) == 0);
  CHECK(r.occupied_channels(app, "") == std::vector<std::string>{"presence-y", "pub-b"});
  CHECK(r.is_subscribed("app-2", "pub-a", 1));
  CHECK(opt_string(r.user_of(app, 1)) == "42");  // sign-in is separate
  CHECK(r.unsubscribe_all(app, 1).empty());      // second call: nothing
  CHECK(r.check_invariants() == "");

  r.sign_out(app, 1);
  CHECK(r.stats(app).connections == 1);  // only socket 2 remains
}

TEST_CASE("channels: occupied_channels filters by prefix and sorts") {
  Registry r;
  for (const char* name : {"presence-b", "private-a", "presence-a", "cache-z", "a"}) {
    r.subscribe(app, name, 1);
  }
  CHECK(r.occupied_channels(app, "presence-") ==
        std::vector<std::string>{"presence-a", "presence-b"});
  CHECK(r.occupied_channels(app, "").size() == 5);
  CHECK(r.occupied_channels(app, "nope").empty());
  CHECK(r.occupied_channels("unknown", "").empty());
}

TEST_CASE("channels: subscribers and for_each_subscriber list the channel's sockets") {
  Registry r;
  r.subscribe(app, "c", 3);
  r.subscribe(app, "c", 1);
  r.join_presence(app, "c", 2, "u", "{}");  // mixing is allowed: a member and subscribers
  auto subs = r.subscribers(app, "c");
  std::sort(subs.begin(), subs.end());
  CHECK(subs == std::vector<ConnId>{1, 2, 3});
  std::vector<ConnId> seen;
  r.for_each_subscriber(app, "c", [&](ConnId c) { seen.push_back(c); });
  std::sort(seen.begin(), seen.end());
  CHECK(seen == subs);
  CHECK(r.user_count(app, "c") == 1);
  CHECK(r.subscribers(app, "none").empty());
}

TEST_CASE("channels: apps are independent") {
  Registry r;
  CHECK(r.subscribe("a", "ch", 1).channel_occupied);
  CHECK(r.subscribe("b", "ch", 1).channel_occupied);
  CHECK(r.join_presence("a", "presence-p", 1, "u", "{}").member_added);
  CHECK(r.join_presence("b", "presence-p", 2, "u", "{}").member_added);
  CHECK(r.sign_in("a", 1, "u", {}).came_online);
  CHECK(r.sign_in("b", 1, "u", {}).came_online);
  CHECK(r.unsubscribe("a", "ch", 1).channel_vacated);
  CHECK(r.subscription_count("b", "ch") == 1);
  CHECK(r.sign_out("a", 1).went_offline);
  CHECK(r.is_online("b", "u"));
  CHECK(r.check_invariants() == "");
}

// ================================================================================================
// Cache channels
// ================================================================================================

TEST_CASE("channels: cache entries expire") {
  using namespace std::chrono_literals;
  const channels::TimePoint t0{};  // a fake clock: the registry never reads a real one
  Registry r;
  r.set_cached(app, "cache-prices", R"({"event":"e1"})", t0 + 10s);

  struct Probe {
    std::chrono::seconds at;
    bool present;
  };
  for (const Probe p : {Probe{0s, true}, Probe{9s, true}, Probe{10s, false}, Probe{11s, false}}) {
    CAPTURE(p.at.count());
    const auto ev = r.cached(app, "cache-prices", t0 + p.at);
    CHECK(ev.has_value() == p.present);
    if (ev) {
      CHECK(ev->frame_json == R"({"event":"e1"})");
      CHECK(ev->expires_at == t0 + 10s);
    }
  }
  CHECK_FALSE(r.cached(app, "cache-other", t0).has_value());
  CHECK_FALSE(r.cached("other-app", "cache-prices", t0).has_value());

  // A new publish replaces the entry and its expiry.
  r.set_cached(app, "cache-prices", R"({"event":"e2"})", t0 + 30s);
  CHECK(r.cached(app, "cache-prices", t0 + 20s)->frame_json == R"({"event":"e2"})");

  // Independent of subscriptions.
  r.subscribe(app, "cache-prices", 1);
  r.unsubscribe(app, "cache-prices", 1);
  CHECK(r.cached(app, "cache-prices", t0 + 20s).has_value());

  // Purge drops only expired entries.
  r.set_cached(app, "cache-old", "{}", t0 + 5s);
  r.set_cached("app-2", "cache-old", "{}", t0 + 5s);
  CHECK(r.stats(app).cached_events == 2);
  CHECK(r.purge_expired(t0 + 5s) == 2);
  CHECK(r.stats(app).cached_events == 1);
  CHECK(r.stats("app-2").cached_events == 0);
  CHECK(r.erase_cached(app, "cache-prices"));
  CHECK_FALSE(r.erase_cached(app, "cache-prices"));
  CHECK(r.check_invariants() == "");
}

// ================================================================================================
// Sign-in and watchlists
// ================================================================================================

TEST_CASE("channels: sign-in and sign-out online/offline transitions") {
  enum class Op { sign_in, sign_out };
  struct Step {
    Op op;
    ConnId conn;
    const char* user;            // sign_in: user to sign in as
    bool online_edge;            // sign_in: came_online; sign_out: went_offline
    const char* previous;        // sign_in: previous_user ("" = none); sign_out: user_id
    bool previous_went_offline;  // sign_in only
  };
  const std::vector<Step> steps = {
      {Op::sign_in, 1, "alice", true, "", false},     // first socket: online
      {Op::sign_in, 2, "alice", false, "", false},    // second socket: nothing
      {Op::sign_in, 1, "alice", false, "", false},    // same user again: nothing
      {Op::sign_in, 1, "bob", true, "alice", false},  // re-sign-in: alice keeps socket 2
      {Op::sign_in, 2, "bob", false, "alice", true},  // alice loses her last socket
      {Op::sign_out, 1, "", false, "bob", false},     // bob still has socket 2
      {Op::sign_out, 1, "", false, "", false},        // not signed in: no-op
      {Op::sign_out, 2, "", true, "bob", false},      // bob offline
      {Op::sign_in, 3, "carol", true, "", false},
      {Op::sign_in, 3, "dave", true, "carol", true},  // both edges at once
  };
  Registry r;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    CAPTURE(i);
    if (s.op == Op::sign_in) {
      const auto res = r.sign_in(app, s.conn, s.user, {});
      CHECK(res.came_online == s.online_edge);
      CHECK(res.previous_user.value_or("") == s.previous);
      CHECK(res.previous_went_offline == s.previous_went_offline);
      CHECK(opt_string(r.user_of(app, s.conn)) == s.user);
      CHECK(r.is_online(app, s.user));
    } else {
      const auto res = r.sign_out(app, s.conn);
      CHECK(res.user_id.value_or("") == s.previous);
      CHECK(res.went_offline == s.online_edge);
      CHECK_FALSE(r.user_of(app, s.conn).has_value());
    }
    CHECK(r.check_invariants() == "");
  }
  CHECK_FALSE(r.is_online(app, "alice"));
  CHECK_FALSE(r.is_online(app, "bob"));
  CHECK_FALSE(r.is_online(app, "carol"));
  CHECK(r.user_connections(app, "dave") == std::vector<ConnId>{3});
}

TEST_CASE("channels: user_connections lists signed-in sockets only") {
  Registry r;
  r.sign_in(app, 5, "42", {});
  r.sign_in(app, 2, "42", {});
  r.join_presence(app, "presence-a", 9, "42", "{}");  // a presence id is not a sign-in
  CHECK(r.user_connections(app, "42") == std::vector<ConnId>{2, 5});
  CHECK_FALSE(r.user_of(app, 9).has_value());
  CHECK(r.user_connections(app, "nobody").empty());
  // Sign-in does not touch subscriptions, and subscriptions do not touch the sign-in.
  r.subscribe(app, "c", 5);
  r.unsubscribe(app, "c", 5);
  CHECK(r.user_connections(app, "42") == std::vector<ConnId>{2, 5});
  CHECK(r.stats(app).signed_in_connections == 2);
}

TEST_CASE("channels: watcher lookup follows the user's watchlists") {
  Registry r;
  // alice: socket 1 watches bob (twice: deduplicated), socket 2 has no watchlist.
  r.sign_in(app, 1, "alice", {"bob", "bob", "carol"});
  r.sign_in(app, 2, "alice", {});
  // erin watches bob from socket 3.
  r.sign_in(app, 3, "erin", {"bob"});

  struct Probe {
    const char* watched;
    std::vector<ConnId> expected;
  };
  auto check = [&](const std::vector<Probe>& probes) {
    for (const Probe& p : probes) {
      CAPTURE(p.watched);
      CHECK(r.watcher_connections(app, p.watched) == p.expected);
    }
    CHECK(r.check_invariants() == "");
  };
  // Every socket of a watching user is notified, also socket 2 whose own list was empty.
  check({{"bob", {1, 2, 3}}, {"carol", {1, 2}}, {"erin", {}}, {"alice", {}}});

  // Watching does not require the watched user to be online, nor to exist.
  CHECK_FALSE(r.is_online(app, "bob"));

  // alice signs in socket 1 again with a new list: the old list is replaced.
  CHECK_FALSE(r.sign_in(app, 1, "alice", {"erin"}).came_online);
  check({{"bob", {3}}, {"carol", {}}, {"erin", {1, 2}}});

  // A second socket listing the same id keeps it watched when the first one leaves.
  r.sign_in(app, 4, "alice", {"erin"});
  r.sign_out(app, 1);
  check({{"erin", {2, 4}}});
  r.sign_out(app, 4);
  check({{"erin", {}}});

  // Re-sign-in as another user moves the socket's watchlist to the new identity.
  r.sign_in(app, 3, "frank", {"alice"});
  check({{"bob", {}}, {"alice", {3}}});

  // A user watching itself is its own watcher.
  r.sign_in(app, 5, "gina", {"gina"});
  check({{"gina", {5}}});

  r.sign_out(app, 2);
  r.sign_out(app, 3);
  r.sign_out(app, 5);
  CHECK(r.stats(app).connections == 0);
  CHECK(r.check_invariants() == "");
}

// ================================================================================================
// Random operation sequences against a reference model
// ================================================================================================

namespace {

// The obvious, slow model: what the registry must answer, computed from first principles.
struct Model {
  using Key = std::pair<std::string, std::string>;  // (app, channel)
  std::map<Key, std::map<ConnId, std::optional<std::string>>> subs;
  std::map<std::tuple<std::string, std::string, std::string>, std::string> info;  // kept info
  struct Signin {
    std::string user;
    std::set<std::string> watchlist;
  };
  std::map<std::pair<std::string, ConnId>, Signin> signins;

  [[nodiscard]] bool user_in_channel(const Key& k, const std::string& user) const {
    const auto it = subs.find(k);
    if (it == subs.end()) {
      return false;
    }
    return std::any_of(it->second.begin(), it->second.end(),
                       [&](const auto& e) { return e.second == user; });
  }

  [[nodiscard]] std::size_t users(const Key& k) const {
    std::set<std::string> u;
    if (const auto it = subs.find(k); it != subs.end()) {
      for (const auto& e : it->second) {
        if (e.second) {
          u.insert(*e.second);
        }
      }
    }
    return u.size();
  }

  [[nodiscard]] std::vector<ConnId> conns_of(const std::string& app_id,
                                             const std::string& user) const {
    std::vector<ConnId> out;
    for (const auto& [k, s] : signins) {
      if (k.first == app_id && s.user == user) {
        out.push_back(k.second);
      }
    }
    return out;  // std::map order: ascending ConnId within one app
  }

  [[nodiscard]] std::vector<ConnId> watchers(const std::string& app_id,
                                             const std::string& watched) const {
    std::set<std::string> watching_users;
    for (const auto& [k, s] : signins) {
      if (k.first == app_id && s.watchlist.contains(watched)) {
        watching_users.insert(s.user);
      }
    }
    std::vector<ConnId> out;
    for (const auto& [k, s] : signins) {
      if (k.first == app_id && watching_users.contains(s.user)) {
        out.push_back(k.second);
      }
    }
    return out;
  }
};

void compare_all(const Registry& r, const Model& m, const std::vector<std::string>& apps,
                 const std::vector<std::string>& chans, const std::vector<std::string>& users,
                 ConnId max_conn) {
  for (const std::string& a : apps) {
    std::vector<std::string> occupied;
    for (const std::string& c : chans) {
      const Model::Key k{a, c};
      const auto it = m.subs.find(k);
      const std::size_t count = it == m.subs.end() ? 0 : it->second.size();
      REQUIRE(r.subscription_count(a, c) == count);
      REQUIRE(r.user_count(a, c) == m.users(k));
      if (count > 0) {
        occupied.push_back(c);
      }
      std::vector<std::pair<std::string, std::string>> expected_members;
      for (const std::string& u : users) {
        REQUIRE(r.has_member(a, c, u) == m.user_in_channel(k, u));
        if (m.user_in_channel(k, u)) {
          expected_members.emplace_back(u, m.info.at({a, c, u}));
        }
      }
      std::vector<std::pair<std::string, std::string>> got_members;
      for (const auto& mv : r.members(a, c)) {
        got_members.emplace_back(std::string(mv.user_id), std::string(mv.user_info));
      }
      std::sort(got_members.begin(), got_members.end());
      REQUIRE(got_members == expected_members);
      for (ConnId conn = 1; conn <= max_conn; ++conn) {
        const bool sub = it != m.subs.end() && it->second.contains(conn);
        REQUIRE(r.is_subscribed(a, c, conn) == sub);
        const std::optional<std::string> id = sub ? it->second.at(conn) : std::nullopt;
        REQUIRE(opt_string(r.member_id(a, c, conn)) == id);
      }
    }
    std::sort(occupied.begin(), occupied.end());
    REQUIRE(r.occupied_channels(a, "") == occupied);
    for (ConnId conn = 1; conn <= max_conn; ++conn) {
      std::size_t n = 0;
      for (const auto& [k, s] : m.subs) {
        n += (k.first == a && s.contains(conn)) ? 1 : 0;
      }
      REQUIRE(r.channel_count_of(a, conn) == n);
      const auto sit = m.signins.find({a, conn});
      REQUIRE(
          opt_string(r.user_of(a, conn)) ==
          (sit == m.signins.end() ? std::nullopt : std::optional<std::string>(sit->second.user)));
    }
    for (const std::string& u : users) {
      REQUIRE(r.user_connections(a, u) == m.conns_of(a, u));
      REQUIRE(r.is_online(a, u) == !m.conns_of(a, u).empty());
      REQUIRE(r.watcher_connections(a, u) == m.watchers(a, u));
    }
  }
}

}  // namespace

TEST_CASE("channels: invariants hold over random operation sequences") {
  const std::vector<std::string> apps = {"a1", "a2"};
  const std::vector<std::string> chans = {"c0", "c1", "c2", "presence-p0", "presence-p1"};
  const std::vector<std::string> users = {"u0", "u1", "u2", "u3"};
  constexpr ConnId max_conn = 6;
  constexpr int steps_per_seed = 2000;

  for (const unsigned seed : {1U, 2U, 3U, 20240601U}) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    auto pick = [&rng](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    Registry r;
    Model m;
    std::size_t max_subscriptions = 0;
    std::size_t max_signed_in = 0;
    for (int step = 0; step < steps_per_seed; ++step) {
      CAPTURE(step);
      const std::string& a = apps[pick(apps.size())];
      const std::string& c = chans[pick(chans.size())];
      const std::string& u = users[pick(users.size())];
      const ConnId conn = 1 + pick(max_conn);
      const Model::Key k{a, c};
      const bool presence = c.starts_with("presence-");

      switch (pick(6)) {
        case 0:
        case 1: {  // join (twice as likely, to keep the registry populated)
          auto& s = m.subs[k];
          const bool already = s.contains(conn);
          const bool occupied = s.empty();
          const bool added = presence && !already && !m.user_in_channel(k, u);
          const std::string info = "{\"s\":" + std::to_string(step) + "}";
          const auto res =
              presence ? r.join_presence(a, c, conn, u, info) : r.subscribe(a, c, conn);
          if (!already) {
            s.emplace(conn, presence ? std::optional<std::string>(u) : std::nullopt);
            if (added) {
              m.info[{a, c, u}] = info;
            }
          }
          REQUIRE(res.already_subscribed == already);
          REQUIRE(res.channel_occupied == (occupied && !already));
          REQUIRE(res.member_added == added);
          REQUIRE(res.subscription_count == s.size());
          break;
        }
        case 2: {  // leave one
          LeaveResult expected;
          auto it = m.subs.find(k);
          if (it != m.subs.end() && it->second.contains(conn)) {
            expected.was_subscribed = true;
            const auto id = it->second.at(conn);
            it->second.erase(conn);
            if (id) {
              expected.user_id = *id;
              expected.member_removed = !m.user_in_channel(k, *id);
            }
            expected.subscription_count = it->second.size();
            if (it->second.empty()) {
              expected.channel_vacated = true;
              m.subs.erase(it);
            }
          } else {
            expected.subscription_count = it == m.subs.end() ? 0 : it->second.size();
          }
          const auto res = r.unsubscribe(a, c, conn);
          REQUIRE(res.was_subscribed == expected.was_subscribed);
          REQUIRE(res.channel_vacated == expected.channel_vacated);
          REQUIRE(res.member_removed == expected.member_removed);
          REQUIRE(res.user_id == expected.user_id);
          REQUIRE(res.subscription_count == expected.subscription_count);
          break;
        }
        case 3: {  // disconnect from every channel
          auto res = r.unsubscribe_all(a, conn);
          std::size_t expected_n = 0;
          for (const auto& [key, s] : m.subs) {
            expected_n += (key.first == a && s.contains(conn)) ? 1 : 0;
          }
          REQUIRE(res.size() == expected_n);
          for (const auto& [name, lr] : res) {
            auto it = m.subs.find({a, name});
            REQUIRE(it != m.subs.end());
            const auto id = it->second.at(conn);
            it->second.erase(conn);
            REQUIRE(lr.was_subscribed);
            REQUIRE(lr.user_id == id.value_or(""));
            REQUIRE(lr.member_removed == (id && !m.user_in_channel({a, name}, *id)));
            REQUIRE(lr.subscription_count == it->second.size());
            REQUIRE(lr.channel_vacated == it->second.empty());
            if (it->second.empty()) {
              m.subs.erase(it);
            }
          }
          break;
        }
        case 4: {  // sign in with a random watchlist
          std::vector<std::string> watchlist;
          std::set<std::string> wl;
          for (std::size_t i = pick(3); i > 0; --i) {
            watchlist.push_back(users[pick(users.size())]);
            wl.insert(watchlist.back());
          }
          const auto prev = m.signins.find({a, conn});
          std::optional<std::string> prev_user;
          if (prev != m.signins.end() && prev->second.user != u) {
            prev_user = prev->second.user;
          }
          const bool same = prev != m.signins.end() && prev->second.user == u;
          m.signins[{a, conn}] = Model::Signin{u, wl};
          const auto res = r.sign_in(a, conn, u, watchlist);
          REQUIRE(res.came_online == (!same && m.conns_of(a, u).size() == 1));
          REQUIRE(res.previous_user == prev_user);
          REQUIRE(res.previous_went_offline == (prev_user && m.conns_of(a, *prev_user).empty()));
          break;
        }
        default: {  // sign out
          const auto it = m.signins.find({a, conn});
          std::optional<std::string> user;
          if (it != m.signins.end()) {
            user = it->second.user;
            m.signins.erase(it);
          }
          const auto res = r.sign_out(a, conn);
          REQUIRE(res.user_id == user);
          REQUIRE(res.went_offline == (user && m.conns_of(a, *user).empty()));
          break;
        }
      }
      REQUIRE(r.check_invariants() == "");
      // The full comparison is O(state x universe); every few steps keeps the test fast.
      if (step % 5 == 0) {
        compare_all(r, m, apps, chans, users, max_conn);
      }
      max_subscriptions = std::max(max_subscriptions, r.stats("a1").subscriptions);
      max_signed_in = std::max(max_signed_in, r.stats("a1").signed_in_connections);
    }
    compare_all(r, m, apps, chans, users, max_conn);
    // The walk must reach busy states, not hover around empty.
    CHECK(max_subscriptions >= 10);
    CHECK(max_signed_in >= 4);
  }
}
