#include "server/replay_buffer.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "protocol/messages.hpp"

using server::DialectFrames;
using server::ReplayBuffer;
using server::ReplayLookup;

namespace {

// The JSON text of an encoded (unmasked, short) text frame.
std::string payload(const server::SharedFrame& f) {
  const std::size_t len7 = static_cast<unsigned char>((*f)[1]) & 0x7f;
  return f->substr(len7 == 126 ? 4 : 2);
}

std::vector<DialectFrames> publish(ReplayBuffer& rb, std::string_view channel, int n,
                                   std::size_t app = 0) {
  std::vector<DialectFrames> sent;
  for (int i = 0; i < n; ++i) {
    rb.publish(app, channel, protocol::api_event("e", channel, std::to_string(i)),
               [&](const DialectFrames& f) { sent.push_back(f); });
  }
  return sent;
}

}  // namespace

TEST_CASE("replay: serials count per channel from 1; V1 bytes unchanged, V2 with identity") {
  ReplayBuffer rb(100, std::chrono::seconds(60), 1 << 20);
  const auto a = publish(rb, "a", 3);
  const auto b = publish(rb, "b", 1);
  REQUIRE(a.size() == 3);
  CHECK(a[0].serial == 1);
  CHECK(a[2].serial == 3);
  CHECK(b[0].serial == 1);
  CHECK(payload(a[0].v1) == protocol::api_event("e", "a", "0"));
  const std::string v2 = payload(a[1].v2);
  const auto pos = rb.position(0, "a");
  CHECK(pos.serial == 3);
  CHECK(v2.starts_with(R"({"event":"e","channel":"a","data":"1","message_id":")"));
  CHECK(v2.ends_with(R"(","stream_id":")" + pos.stream_id + R"(","serial":2})"));
  CHECK(rb.position(0, "b").stream_id != pos.stream_id);
  CHECK(rb.position(1, "a").serial == 0);  // another app: another stream
  CHECK(server::uuid_v4().size() == 36);
  CHECK(server::uuid_v4()[14] == '4');
}

TEST_CASE("replay: resume lookups") {
  ReplayBuffer rb(5, std::chrono::seconds(60), 1 << 20);
  publish(rb, "c", 8);  // keeps serials 4..8
  const std::string stream = rb.position(0, "c").stream_id;
  SUBCASE("after a kept position: the rest, in order") {
    const ReplayLookup r = rb.after(0, "c", stream, 5, 100);
    REQUIRE(r.status == ReplayLookup::Status::recovered);
    REQUIRE(r.entries.size() == 3);
    CHECK(r.entries[0].serial == 6);
    CHECK(r.entries[2].serial == 8);
    CHECK(r.entries[2].message_id.size() == 36);
  }
  SUBCASE("just before the oldest kept one still recovers; older is expired") {
    CHECK(rb.after(0, "c", stream, 3, 100).status == ReplayLookup::Status::recovered);
    const ReplayLookup r = rb.after(0, "c", stream, 2, 100);
    CHECK(r.status == ReplayLookup::Status::expired);
    CHECK(r.oldest_serial == 4);
    CHECK(r.newest_serial == 8);
  }
  SUBCASE("up to date: recovered, nothing to send") {
    const ReplayLookup r = rb.after(0, "c", stream, 8, 100);
    CHECK(r.status == ReplayLookup::Status::recovered);
    CHECK(r.entries.empty());
  }
  SUBCASE("ahead of the stream cannot be verified") {
    CHECK(rb.after(0, "c", stream, 9, 100).status == ReplayLookup::Status::expired);
  }
  SUBCASE("another stream id") {
    const ReplayLookup r = rb.after(0, "c", std::string("other"), 5, 100);
    CHECK(r.status == ReplayLookup::Status::stream_reset);
    CHECK(r.current_stream_id == stream);
  }
  SUBCASE("no stream id given: the current stream") {
    CHECK(rb.after(0, "c", std::nullopt, 7, 100).entries.size() == 1);
  }
  SUBCASE("more missed than may be replayed") {
    CHECK(rb.after(0, "c", stream, 4, 2).status == ReplayLookup::Status::window_exceeded);
  }
  SUBCASE("unknown channel") {
    CHECK(rb.after(0, "nope", std::nullopt, 0, 100).status == ReplayLookup::Status::expired);
  }
}

TEST_CASE("replay: rewind takes the newest, says what was cut") {
  ReplayBuffer rb(4, std::chrono::seconds(60), 1 << 20);
  publish(rb, "r", 3);
  auto w = rb.latest(0, "r", 2, std::nullopt);
  REQUIRE(w.entries.size() == 2);
  CHECK(w.entries[0].serial == 2);
  CHECK(w.truncated_by_limit);
  CHECK_FALSE(w.truncated_by_retention);
  w = rb.latest(0, "r", 10, std::nullopt);
  CHECK(w.entries.size() == 3);
  CHECK_FALSE(w.truncated_by_limit);
  CHECK_FALSE(w.truncated_by_retention);
  publish(rb, "r", 3);  // serials 1, 2 dropped by the count bound
  w = rb.latest(0, "r", 10, std::nullopt);
  CHECK(w.entries.size() == 4);
  CHECK(w.truncated_by_retention);
  CHECK(rb.latest(0, "r", 10, 3600).entries.size() == 4);
  CHECK(rb.latest(0, "none", 10, std::nullopt).entries.empty());
}

TEST_CASE("replay: the global byte cap takes a channel's oldest first, never the newest") {
  ReplayBuffer rb(1000, std::chrono::seconds(60), 2000);
  publish(rb, "big", 50);
  const auto s = rb.stats();
  CHECK(s.bytes <= 2000);
  CHECK(s.messages >= 1);
  CHECK(s.messages < 50);
  CHECK(s.evicted_for_memory > 0);
  const auto last = rb.latest(0, "big", 1, std::nullopt);
  REQUIRE(last.entries.size() == 1);
  CHECK(last.entries[0].serial == 50);
}

TEST_CASE("replay: prune drops expired messages, keeps streams of occupied channels") {
  ReplayBuffer rb(10, std::chrono::seconds(1), 1 << 20);
  publish(rb, "busy", 2);
  publish(rb, "idle", 2);
  const std::string busy_stream = rb.position(0, "busy").stream_id;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  rb.prune([](std::size_t, std::string_view ch) { return ch == "busy"; });
  CHECK(rb.stats().messages == 0);
  CHECK(rb.stats().channels == 1);
  CHECK(rb.stats().bytes == 0);
  CHECK(rb.position(0, "busy").stream_id == busy_stream);
  CHECK(rb.position(0, "busy").serial == 2);  // the stream goes on where it was
}

namespace {

bool insert(ReplayBuffer& rb, std::string_view channel, std::string_view stream,
            std::uint64_t serial, std::vector<DialectFrames>* sent = nullptr) {
  const server::MessageIdentity id{std::string(stream), serial, "m" + std::to_string(serial)};
  return rb.insert(0, channel, id, protocol::api_event("e", channel, std::to_string(serial)),
                   [&](const DialectFrames& f) {
                     if (sent != nullptr) sent->push_back(f);
                   });
}

}  // namespace

TEST_CASE("replay mirror: keeps the cluster's identity, in order") {
  ReplayBuffer rb(5, std::chrono::seconds(60), 1 << 20);
  CHECK_FALSE(rb.known_position(0, "m").has_value());  // never starts a stream
  std::vector<DialectFrames> sent;
  CHECK(insert(rb, "m", "S", 7, &sent));
  CHECK(insert(rb, "m", "S", 8, &sent));
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].serial == 8);
  CHECK(payload(sent[1].v2).ends_with(R"("message_id":"m8","stream_id":"S","serial":8})"));
  CHECK(payload(sent[1].v1) == protocol::api_event("e", "m", "8"));
  CHECK(rb.known_position(0, "m")->serial == 8);
  CHECK(rb.known_position(0, "m")->stream_id == "S");
  // The first message seen (7) has an unknown predecessor: a resume from 6 replays 7, 8; one
  // from 5 is not this mirror's to answer.
  CHECK(rb.after(0, "m", "S", 6, 100).entries.size() == 2);
  CHECK(rb.after(0, "m", "S", 5, 100).status == ReplayLookup::Status::expired);
  CHECK_FALSE(insert(rb, "m", "S", 8));  // seen already: not sent again
}

TEST_CASE("replay mirror: a gap or another stream drops what came before") {
  ReplayBuffer rb(10, std::chrono::seconds(60), 1 << 20);
  for (std::uint64_t s = 1; s <= 4; ++s) CHECK(insert(rb, "g", "S", s));
  CHECK(rb.after(0, "g", "S", 0, 100).entries.size() == 4);
  CHECK(insert(rb, "g", "S", 7));  // 5 and 6 never arrived
  auto l = rb.after(0, "g", "S", 2, 100);
  CHECK(l.status == ReplayLookup::Status::expired);  // 3..6 cannot be vouched for
  l = rb.after(0, "g", "S", 6, 100);
  REQUIRE(l.status == ReplayLookup::Status::recovered);
  REQUIRE(l.entries.size() == 1);
  CHECK(l.entries[0].serial == 7);
  CHECK(insert(rb, "g", "T", 1));  // a new stream (the cluster lost the old one)
  CHECK(rb.after(0, "g", "S", 7, 100).status == ReplayLookup::Status::stream_reset);
  CHECK(rb.known_position(0, "g")->stream_id == "T");
  rb.clear();
  CHECK_FALSE(rb.known_position(0, "g").has_value());
  CHECK(rb.stats().messages == 0);
  CHECK(rb.stats().bytes == 0);
}

TEST_CASE("replay mirror: learn a position the cluster answered") {
  ReplayBuffer rb(10, std::chrono::seconds(60), 1 << 20);
  rb.learn(0, "p", {"S", 5});
  CHECK(rb.known_position(0, "p")->serial == 5);
  CHECK(rb.after(0, "p", "S", 5, 100).status == ReplayLookup::Status::recovered);
  CHECK(rb.after(0, "p", "S", 4, 100).status == ReplayLookup::Status::expired);
  CHECK(insert(rb, "p", "S", 6));
  CHECK(rb.after(0, "p", "S", 5, 100).entries.size() == 1);
  rb.learn(0, "p", {"S", 3});  // older than what it knows: kept as is
  CHECK(rb.known_position(0, "p")->serial == 6);
  CHECK(rb.after(0, "p", "S", 5, 100).entries.size() == 1);
  rb.learn(0, "p", {"S", 9});  // newer: the kept messages no longer lead up to it
  CHECK(rb.known_position(0, "p")->serial == 9);
  CHECK(rb.after(0, "p", "S", 5, 100).status == ReplayLookup::Status::expired);
}

TEST_CASE("replay: judge_resume and pick_rewind (shared with the cluster's history)") {
  using S = ReplayLookup::Status;
  const std::optional<std::string> s = "S";
  CHECK(server::judge_resume(s, 3, std::nullopt, 0, std::nullopt, 10) == S::expired);
  CHECK(server::judge_resume("T", 3, s, 5, 1, 10) == S::stream_reset);
  CHECK(server::judge_resume(std::nullopt, 3, s, 5, 1, 10) == S::recovered);  // no stream asked
  CHECK(server::judge_resume(s, 6, s, 5, 1, 10) == S::expired);               // ahead
  CHECK(server::judge_resume(s, 5, s, 5, std::nullopt, 10) == S::recovered);  // up to date
  CHECK(server::judge_resume(s, 2, s, 5, 4, 10) == S::expired);               // 3 is gone
  CHECK(server::judge_resume(s, 3, s, 5, 4, 10) == S::recovered);
  CHECK(server::judge_resume(s, 3, s, 50, 4, 10) == S::window_exceeded);

  // Published at 10, 20, 30, 40 (oldest first), oldest kept serial 3.
  const std::vector<std::int64_t> at = {10, 20, 30, 40};
  auto p = server::pick_rewind(at, 2, INT64_MIN, 3);
  CHECK(p.first == 2);
  CHECK(p.truncated_by_limit);
  CHECK_FALSE(p.truncated_by_retention);
  p = server::pick_rewind(at, 10, INT64_MIN, 3);
  CHECK(p.first == 0);
  CHECK_FALSE(p.truncated_by_limit);
  CHECK(p.truncated_by_retention);  // serials 1, 2 were published and are gone
  CHECK_FALSE(server::pick_rewind(at, 10, INT64_MIN, 1).truncated_by_retention);
  p = server::pick_rewind(at, 10, 25, 3);  // only the last seconds
  CHECK(p.first == 2);
  CHECK_FALSE(p.truncated_by_limit);
  CHECK_FALSE(p.truncated_by_retention);
  CHECK(server::pick_rewind({}, 5, INT64_MIN, 1).first == 0);
}
