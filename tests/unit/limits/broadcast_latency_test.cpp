// server/broadcast_latency: Sockudo's buckets and labels, cumulative rendering, lazy per-app
// series, and the last-worker-records rule of BroadcastTrack.

#include "server/broadcast_latency.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace std::chrono_literals;

TEST_CASE("broadcast latency: recipient buckets and channel types use Sockudo's labels") {
  using server::recipient_bucket;
  CHECK(recipient_bucket(1) == 0);
  CHECK(recipient_bucket(10) == 0);
  CHECK(recipient_bucket(11) == 1);
  CHECK(recipient_bucket(100) == 1);
  CHECK(recipient_bucket(101) == 2);
  CHECK(recipient_bucket(1000) == 2);
  CHECK(recipient_bucket(10000) == 3);
  CHECK(recipient_bucket(10001) == 4);
  using server::broadcast_channel_type;
  CHECK(server::broadcast_channel_types[broadcast_channel_type("news")] == "public");
  CHECK(server::broadcast_channel_types[broadcast_channel_type("private-a")] == "private");
  CHECK(server::broadcast_channel_types[broadcast_channel_type("presence-a")] == "presence");
  CHECK(server::broadcast_channel_types[broadcast_channel_type("private-encrypted-a")] ==
        "private_encrypted");
  CHECK(server::broadcast_channel_types[broadcast_channel_type("cache-a")] == "cache");
}

TEST_CASE("broadcast latency: observations render as cumulative buckets, sum and count") {
  server::BroadcastLatency h(2);
  std::string empty;
  h.render(empty, "m", "port=\"1\"", [](std::size_t) { return std::string("a"); });
  CHECK(empty ==
        "# HELP m End-to-end latency for broadcast messages in milliseconds\n"
        "# TYPE m histogram\n");  // no series before an observation
  h.observe(1, 0, 3, 700us);      // 0.7 ms: le 1
  h.observe(1, 0, 5, 3ms);        // le 5
  h.observe(1, 0, 0, 1ms);        // no recipients: not recorded (as Sockudo)
  h.observe(1, 0, 7, 9000ms);     // over the last bucket: +Inf only
  std::string out;
  h.render(out, "m", "port=\"1\"", [](std::size_t a) { return "app" + std::to_string(a); });
  const std::string l =
      R"(app_id="app1",port="1",channel_type="public",recipient_count_bucket="xs")";
  CHECK(out.find("m_bucket{" + l + R"(,le="0.5"} 0)") != std::string::npos);
  CHECK(out.find("m_bucket{" + l + R"(,le="1"} 1)") != std::string::npos);
  CHECK(out.find("m_bucket{" + l + R"(,le="2.5"} 1)") != std::string::npos);
  CHECK(out.find("m_bucket{" + l + R"(,le="5"} 2)") != std::string::npos);
  CHECK(out.find("m_bucket{" + l + R"(,le="5000"} 2)") != std::string::npos);
  CHECK(out.find("m_bucket{" + l + R"(,le="+Inf"} 3)") != std::string::npos);
  CHECK(out.find("m_count{" + l + "} 3") != std::string::npos);
  CHECK(out.find("m_sum{" + l + "} 9003.7") != std::string::npos);
  CHECK(out.find("app0") == std::string::npos);  // app 0 never observed
}

TEST_CASE("broadcast latency: the last of the workers records once, with the total count") {
  server::BroadcastLatency h(1);
  server::BroadcastTrack t(h, 0, 1, 3);
  t.delivered(40);
  t.delivered(0);
  std::string before;
  h.render(before, "m", "p=\"1\"", [](std::size_t) { return std::string("a"); });
  CHECK(before.find("m_count") == std::string::npos);  // two of three workers done
  t.delivered(70);                                     // 110 recipients: "md"
  std::string out;
  h.render(out, "m", "p=\"1\"", [](std::size_t) { return std::string("a"); });
  CHECK(out.find(
            R"(m_count{app_id="a",p="1",channel_type="private",recipient_count_bucket="md"} 1)") !=
        std::string::npos);
}
