// server::SendQueue (server/send_queue.hpp): byte/count accounting, budgets, partial writes,
// dropping unstarted frames and clearing.
#include "server/send_queue.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>

using server::SendQueue;
using server::SharedFrame;

namespace {

SharedFrame frame(std::size_t size, char fill = 'x') {
  return std::make_shared<const std::string>(size, fill);
}

}  // namespace

TEST_CASE("an empty queue") {
  SendQueue q(100, 10);
  CHECK(q.empty());
  CHECK(q.size() == 0);
  CHECK(q.bytes() == 0);
  CHECK(q.front_offset() == 0);
  CHECK_FALSE(q.over_budget(1));
  CHECK(q.consume(5) == 0);
  CHECK(q.drop_unstarted() == 0);
}

TEST_CASE("push appends in order and counts bytes and frames") {
  SendQueue q(100, 10);
  const auto r1 = q.push(frame(10, 'a'));
  CHECK_FALSE(r1.over_budget);
  const auto r2 = q.push(frame(20, 'b'));
  CHECK_FALSE(r2.over_budget);
  CHECK_FALSE(q.empty());
  CHECK(q.size() == 2);
  CHECK(q.bytes() == 30);
  CHECK(q.at(0) == std::string(10, 'a'));
  CHECK(q.at(1) == std::string(20, 'b'));
}

TEST_CASE("the same shared frame can sit in several queues") {
  SendQueue a(100, 10);
  SendQueue b(100, 10);
  const SharedFrame f = frame(7);
  (void)a.push(f);
  (void)b.push(f);
  CHECK(f.use_count() == 3);
  CHECK(&a.at(0) == &b.at(0));
  a.clear();
  CHECK(f.use_count() == 2);
}

TEST_CASE("over the byte budget: still queued, flagged") {
  SendQueue q(25, 100);
  CHECK_FALSE(q.push(frame(25)).over_budget);  // exactly the budget is not over it
  const auto r = q.push(frame(1));
  CHECK(r.over_budget);
  CHECK(q.size() == 2);
  CHECK(q.bytes() == 26);
  CHECK(q.over_budget(1));
  CHECK_FALSE(q.over_budget(2));  // factor scales both budgets
}

TEST_CASE("over the message budget: still queued, flagged") {
  SendQueue q(1000, 2);
  CHECK_FALSE(q.push(frame(1)).over_budget);
  CHECK_FALSE(q.push(frame(1)).over_budget);
  const auto r = q.push(frame(1));
  CHECK(r.over_budget);
  CHECK(q.size() == 3);
  CHECK(q.over_budget(1));
  CHECK_FALSE(q.over_budget(2));
}

TEST_CASE("exempt frames (close frames) are never flagged, but still count") {
  SendQueue q(10, 1);
  CHECK_FALSE(q.push(frame(10)).over_budget);
  const auto r = q.push(frame(4), /*exempt=*/true);
  CHECK_FALSE(r.over_budget);
  CHECK(q.size() == 2);
  CHECK(q.bytes() == 14);
  CHECK(q.over_budget(1));  // the queue itself is over; only the push result is exempt
  // A non-exempt push after it is flagged.
  CHECK(q.push(frame(1)).over_budget);
}

TEST_CASE("consume: partial writes move front_offset, full writes pop") {
  SendQueue q(100, 10);
  (void)q.push(frame(10, 'a'));
  (void)q.push(frame(20, 'b'));
  (void)q.push(frame(5, 'c'));

  CHECK(q.consume(4) == 0);  // inside the first frame
  CHECK(q.front_offset() == 4);
  CHECK(q.size() == 3);
  CHECK(q.bytes() == 31);  // bytes() excludes the written part of the front frame

  CHECK(q.consume(6) == 1);  // exactly the rest of the first frame
  CHECK(q.front_offset() == 0);
  CHECK(q.size() == 2);
  CHECK(q.bytes() == 25);
  CHECK(q.at(0) == std::string(20, 'b'));

  CHECK(q.consume(22) == 1);  // the second frame and 2 bytes of the third
  CHECK(q.front_offset() == 2);
  CHECK(q.size() == 1);
  CHECK(q.bytes() == 3);
  CHECK(q.at(0) == std::string(5, 'c'));

  CHECK(q.consume(0) == 0);
  CHECK(q.front_offset() == 2);

  CHECK(q.consume(100) == 1);  // more than queued: pops the rest, ignores the excess
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
  CHECK(q.front_offset() == 0);
}

TEST_CASE("consume across many frames keeps order (compaction)") {
  SendQueue q(1'000'000, 1'000'000);
  for (int i = 0; i < 200; ++i) (void)q.push(frame(3, static_cast<char>('A' + i % 26)));
  for (int i = 0; i < 150; ++i) {
    REQUIRE(q.at(0) == std::string(3, static_cast<char>('A' + i % 26)));
    CHECK(q.consume(3) == 1);
  }
  CHECK(q.size() == 50);
  CHECK(q.bytes() == 150);
  for (std::size_t i = 0; i < q.size(); ++i) {
    CHECK(q.at(i) == std::string(3, static_cast<char>('A' + (150 + i) % 26)));
  }
  (void)q.push(frame(3, '!'));
  CHECK(q.size() == 51);
  CHECK(q.at(50) == "!!!");
}

TEST_CASE("drop_unstarted keeps a partially written front frame") {
  SendQueue q(100, 10);
  (void)q.push(frame(10, 'a'));
  (void)q.push(frame(20, 'b'));
  (void)q.push(frame(5, 'c'));
  CHECK(q.consume(3) == 0);
  CHECK(q.drop_unstarted() == 2);
  CHECK(q.size() == 1);
  CHECK(q.front_offset() == 3);
  CHECK(q.bytes() == 7);
  CHECK(q.at(0) == std::string(10, 'a'));
  CHECK(q.consume(7) == 1);
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
}

TEST_CASE("drop_unstarted with nothing started drops everything") {
  SendQueue q(100, 10);
  (void)q.push(frame(10));
  (void)q.push(frame(20));
  CHECK(q.drop_unstarted() == 2);
  CHECK(q.empty());
  CHECK(q.size() == 0);
  CHECK(q.bytes() == 0);
  CHECK(q.front_offset() == 0);
  CHECK_FALSE(q.over_budget(1));
  // Still usable afterwards.
  CHECK_FALSE(q.push(frame(4)).over_budget);
  CHECK(q.size() == 1);
  CHECK(q.bytes() == 4);
}

TEST_CASE("drop_unstarted after a whole frame was written drops the rest") {
  SendQueue q(100, 10);
  (void)q.push(frame(10));
  (void)q.push(frame(20));
  CHECK(q.consume(10) == 1);  // front_offset back to 0: the next frame is unstarted
  CHECK(q.drop_unstarted() == 1);
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
}

TEST_CASE("clear drops everything, including a partial front frame") {
  SendQueue q(10, 1);
  (void)q.push(frame(10));
  (void)q.push(frame(20));
  CHECK(q.consume(5) == 0);
  CHECK(q.over_budget(1));
  q.clear();
  CHECK(q.empty());
  CHECK(q.size() == 0);
  CHECK(q.bytes() == 0);
  CHECK(q.front_offset() == 0);
  CHECK_FALSE(q.over_budget(1));
  CHECK_FALSE(q.push(frame(10)).over_budget);
  CHECK(q.bytes() == 10);
}
