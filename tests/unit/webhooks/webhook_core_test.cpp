#include "server/webhook_core.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "auth/signature.hpp"

using server::Config;
using server::WebhookBatch;
using server::WebhookEvent;
using server::WebhookRouting;
using server::WebhookScheduler;
using namespace std::chrono_literals;

namespace {

Config parse(const std::string& json) {
  std::vector<std::string> warnings;
  return server::parse_config(json, nullptr, warnings);
}

// A config with one app (id "1", key "k", secret "s") whose `webhooks` array is `webhooks`, and
// the given top-level `webhooks` settings.
Config config_with(const std::string& webhooks, const std::string& settings = "{}") {
  return parse(R"({"webhooks":)" + settings +
               R"(,"app_manager":{"array":{"apps":[{"id":"1","key":"k","secret":"s",)"
               R"("webhooks":)" +
               webhooks + "}]}}}");
}

WebhookEvent ev(std::string name, std::string channel, std::int64_t time_ms = 1000) {
  WebhookEvent e;
  e.name = std::move(name);
  e.channel = std::move(channel);
  e.time_ms = time_ms;
  return e;
}

WebhookEvent member(std::string name, std::string channel, std::string user,
                    std::int64_t time_ms = 1000) {
  WebhookEvent e = ev(std::move(name), std::move(channel), time_ms);
  e.user_id = std::move(user);
  return e;
}

// A member event whose user id was signed as a JSON number (protocol §5.1).
WebhookEvent numeric_member(std::string name, std::string channel, std::string user,
                            std::int64_t time_ms = 1000) {
  WebhookEvent e = member(std::move(name), std::move(channel), std::move(user), time_ms);
  e.user_id_numeric = true;
  return e;
}

std::string json_of(const WebhookEvent& e) {
  std::string out;
  server::append_webhook_event_json(out, e);
  return out;
}

// Drives a scheduler with a fake clock.
struct Harness {
  explicit Harness(const std::string& webhooks, const std::string& settings = "{}")
      : config(config_with(webhooks, settings)),
        routing(config),
        scheduler(routing, config.webhooks) {}

  void add(WebhookEvent e) { scheduler.add(0, std::move(e), now); }
  std::vector<WebhookBatch> advance(std::chrono::milliseconds by) {
    now += by;
    std::vector<WebhookBatch> out;
    scheduler.poll(now, out);
    return out;
  }

  Config config;
  WebhookRouting routing;
  WebhookScheduler scheduler;
  WebhookScheduler::TimePoint now{std::chrono::seconds(100)};
};

const std::string all_types =
    R"(["channel_occupied","channel_vacated","member_added","member_removed",)"
    R"("client_event","cache_miss","subscription_count"])";
const std::string one_hook = R"([{"url":"http://127.0.0.1:9/h","event_types":)" + all_types + "}]";

}  // namespace

// ================================================================================================
// Serialisation and signature
// ================================================================================================

TEST_CASE("webhooks: body and signature match test-vectors.md §5b") {
  const WebhookEvent e = ev("channel_occupied", "test_channel", 1327078148132);
  const std::string object = json_of(e);
  const std::string body = server::webhook_body(e.time_ms, {object});
  CHECK(
      body ==
      R"({"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]})");
  CHECK(auth::webhook_signature("7ad3773142a6692b25b8", body) ==
        "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa");
}

TEST_CASE("webhooks: signature of the SDK vector §5a (raw body bytes)") {
  const std::string body =
      R"({"time_ms":1403175510755,"events":[{"channel":"test_channel","name":"channel_vacated"}]})";
  CHECK(auth::webhook_signature("tofu", body) ==
        "c17257e92037cd7de407ebc1ed174ceb7b2e518db127f44411b9ffc4f5b28cc5");
}

TEST_CASE("webhooks: event objects keep the key order and write data raw") {
  struct Case {
    const char* what;
    WebhookEvent event;
    const char* json;
  };
  WebhookEvent client = ev("client_event", "presence-room");
  client.user_id = "u1";
  client.event = "client-typing";
  client.data = R"({"a":[1,2],"b":"x"})";
  client.socket_id = "123.456";
  WebhookEvent client_string = ev("client_event", "private-c");
  client_string.event = "client-x";
  client_string.data = R"("just a \"string\"")";
  client_string.socket_id = "1.2";
  WebhookEvent numeric_client = ev("client_event", "presence-room");
  numeric_client.user_id = "42";
  numeric_client.user_id_numeric = true;
  numeric_client.event = "client-typing";
  numeric_client.data = R"({"a":1})";
  numeric_client.socket_id = "1.2";
  WebhookEvent count = ev("subscription_count", "ch");
  count.subscription_count = 42;
  WebhookEvent empty_data = ev("client_event", "c");
  empty_data.data = "";
  WebhookEvent cache_miss_given = ev("cache_miss", "cache-x");
  cache_miss_given.data = R"("{}")";
  const std::vector<Case> cases = {
      {"occupied", ev("channel_occupied", "a"), R"({"name":"channel_occupied","channel":"a"})"},
      {"member", member("member_added", "presence-a", "7"),
       R"({"name":"member_added","channel":"presence-a","user_id":"7"})"},
      {"numeric member", numeric_member("member_added", "presence-a", "42"),
       R"({"name":"member_added","channel":"presence-a","user_id":42})"},
      {"numeric member removed", numeric_member("member_removed", "presence-a", "42"),
       R"({"name":"member_removed","channel":"presence-a","user_id":42})"},
      {"numeric presence client event", numeric_client,
       R"({"name":"client_event","channel":"presence-room","user_id":42,"event":"client-typing",)"
       R"("data":{"a":1},"socket_id":"1.2"})"},
      {"presence client event", client,
       R"({"name":"client_event","channel":"presence-room","user_id":"u1","event":"client-typing",)"
       R"("data":{"a":[1,2],"b":"x"},"socket_id":"123.456"})"},
      {"string data", client_string,
       R"({"name":"client_event","channel":"private-c","event":"client-x",)"
       R"("data":"just a \"string\"","socket_id":"1.2"})"},
      {"subscription_count", count,
       R"({"name":"subscription_count","channel":"ch","subscription_count":42})"},
      {"cache_miss default data", ev("cache_miss", "cache-x"),
       R"({"name":"cache_miss","channel":"cache-x","data":"{}"})"},
      {"cache_miss given data", cache_miss_given,
       R"({"name":"cache_miss","channel":"cache-x","data":"{}"})"},
      {"empty data is null", empty_data, R"({"name":"client_event","channel":"c","data":null})"},
      {"escaping", ev("channel_occupied", "a\"b\\c\n"),
       R"({"name":"channel_occupied","channel":"a\"b\\c\n"})"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CHECK(json_of(c.event) == c.json);
  }
}

TEST_CASE("webhooks: body with several events") {
  CHECK(server::webhook_body(5, {"{\"a\":1}", "{\"b\":2}"}) ==
        R"({"time_ms":5,"events":[{"a":1},{"b":2}]})");
  CHECK(server::webhook_body(-1, {}) == R"({"time_ms":-1,"events":[]})");
}

TEST_CASE("webhooks: event type names") {
  CHECK(server::webhook_event_type("channel_occupied") ==
        server::WebhookEventType::channel_occupied);
  CHECK(server::webhook_event_type("subscription_count") ==
        server::WebhookEventType::subscription_count);
  CHECK_FALSE(server::webhook_event_type("member_updated").has_value());
  CHECK_FALSE(server::webhook_event_type("").has_value());
}

// ================================================================================================
// Filters
// ================================================================================================

TEST_CASE("webhooks: channel namespace") {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"chat:room", "chat"},
      {"private-chat:room", "chat"},
      {"presence-chat:room:1", "chat"},
      {"private-encrypted-chat:x", "chat"},
      {"private-encrypted-cache-ns:x", "ns"},
      {"presence-cache-ns:x", "ns"},
      {"cache-ns:x", "ns"},
      {"private-cache-ns:x", "ns"},
      {"room", ""},
      {"private-room", ""},
      {":x", ""},
  };
  for (const auto& [channel, ns] : cases) {
    CAPTURE(channel);
    CHECK(server::channel_namespace(channel) == ns);
  }
}

TEST_CASE("webhooks: channel filters") {
  struct Case {
    server::WebhookFilter filter;
    const char* channel;
    bool expected;
  };
  server::WebhookFilter prefix;
  prefix.channel_prefix = "beta-";
  server::WebhookFilter suffix;
  suffix.channel_suffix = "-app";
  server::WebhookFilter both = prefix;
  both.channel_suffix = "-app";
  server::WebhookFilter pattern;
  pattern.channel_pattern = "^presence-.*[0-9]$";
  server::WebhookFilter unanchored;
  unanchored.channel_pattern = "room";
  server::WebhookFilter invalid;
  invalid.channel_pattern = "([";
  invalid.pattern_valid = false;
  server::WebhookFilter invalid_unflagged;  // compiled again by the filter: still matches nothing
  invalid_unflagged.channel_pattern = "([";
  server::WebhookFilter too_long;  // over max_pattern_length: never compiled, matches nothing
  too_long.channel_pattern = std::string(server::WebhookFilter::max_pattern_length + 1, 'x');
  const std::string long_name = too_long.channel_pattern;
  server::WebhookFilter ns;
  ns.channel_namespaces = {"chat", "game"};
  const std::vector<Case> cases = {
      {{}, "anything", true},
      {prefix, "beta-chat-room", true},
      {prefix, "chat-room", false},
      {suffix, "chat-room-app", true},
      {suffix, "chat-room", false},
      {both, "beta-room-app", true},
      {both, "beta-room", false},
      {both, "room-app", false},
      {pattern, "presence-room-7", true},
      {pattern, "presence-room", false},
      {pattern, "private-room-7", false},
      {unanchored, "my-room-1", true},
      {invalid, "([", false},
      {invalid, "x", false},
      {invalid_unflagged, "x", false},
      {too_long, long_name.c_str(), false},
      {ns, "private-chat:1", true},
      {ns, "game:2", true},
      {ns, "other:1", false},
      {ns, "chat", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.channel);
    CAPTURE(c.filter.channel_pattern);
    CHECK(server::WebhookChannelFilter(c.filter).matches(c.channel) == c.expected);
  }
}

// ================================================================================================
// Retry policy
// ================================================================================================

TEST_CASE("webhooks: status classification") {
  using server::WebhookOutcome;
  const std::vector<std::pair<unsigned, WebhookOutcome>> cases = {
      {200, WebhookOutcome::delivered}, {204, WebhookOutcome::delivered},
      {299, WebhookOutcome::delivered}, {0, WebhookOutcome::retryable},
      {500, WebhookOutcome::retryable}, {503, WebhookOutcome::retryable},
      {599, WebhookOutcome::retryable}, {408, WebhookOutcome::retryable},
      {409, WebhookOutcome::retryable}, {425, WebhookOutcome::retryable},
      {429, WebhookOutcome::retryable}, {301, WebhookOutcome::rejected},
      {400, WebhookOutcome::rejected},  {401, WebhookOutcome::rejected},
      {404, WebhookOutcome::rejected},  {410, WebhookOutcome::rejected},
      {100, WebhookOutcome::rejected},
  };
  for (const auto& [status, outcome] : cases) {
    CAPTURE(status);
    CHECK(server::classify_webhook_status(status) == outcome);
  }
}

TEST_CASE("webhooks: retry backoff doubles from 1 s, caps at 60 s, stops after 300 s") {
  const server::WebhookRetry policy;  // the defaults
  using ms = std::chrono::milliseconds;
  // (attempts made, elapsed since the first attempt) -> delay or none
  struct Case {
    std::uint64_t attempts;
    ms elapsed;
    std::optional<ms> delay;
  };
  const std::vector<Case> cases = {
      {1, 0ms, 1000ms},       {2, 1000ms, 2000ms},         {3, 3000ms, 4000ms},
      {6, 31000ms, 32000ms},  {7, 63000ms, 60000ms},       {50, 100000ms, 60000ms},
      {9, 240000ms, 60000ms}, {9, 240001ms, std::nullopt}, {3, 299000ms, std::nullopt},
      {0, 0ms, std::nullopt},
  };
  for (const Case& c : cases) {
    CAPTURE(c.attempts);
    CAPTURE(c.elapsed.count());
    CHECK(server::next_webhook_retry_delay(policy, c.attempts, c.elapsed) == c.delay);
  }

  server::WebhookRetry limited;
  limited.max_attempts = 3;
  CHECK(server::next_webhook_retry_delay(limited, 2, 0ms) == 2000ms);
  CHECK_FALSE(server::next_webhook_retry_delay(limited, 3, 0ms).has_value());

  server::WebhookRetry off;
  off.enabled = false;
  CHECK_FALSE(server::next_webhook_retry_delay(off, 1, 0ms).has_value());

  server::WebhookRetry fast;
  fast.initial_interval = 10ms;
  fast.max_interval = 25ms;
  fast.max_elapsed_time = 1000ms;
  CHECK(server::next_webhook_retry_delay(fast, 1, 0ms) == 10ms);
  CHECK(server::next_webhook_retry_delay(fast, 2, 10ms) == 20ms);
  CHECK(server::next_webhook_retry_delay(fast, 3, 30ms) == 25ms);
}

// ================================================================================================
// Routing
// ================================================================================================

TEST_CASE("webhooks: wants() per app, with the vacate pairs linked") {
  const Config config = parse(R"({"app_manager":{"array":{"apps":[
    {"id":"1","key":"k1","secret":"s","webhooks":[
      {"url":"http://h/1","event_types":["channel_occupied"]},
      {"url":"http://h/2","event_types":["member_removed","client_event"]}]},
    {"id":"2","key":"k2","secret":"s"},
    {"id":"3","key":"k3","secret":"s","webhooks":[{"url":"http://h/3","event_types":[]}]}
  ]}}})");
  const WebhookRouting routing(config);
  using T = server::WebhookEventType;
  CHECK(routing.wants(0, T::channel_occupied));
  CHECK(routing.wants(0, T::channel_vacated));  // linked
  CHECK(routing.wants(0, T::member_removed));
  CHECK(routing.wants(0, T::member_added));  // linked
  CHECK(routing.wants(0, T::client_event));
  CHECK_FALSE(routing.wants(0, T::cache_miss));
  CHECK_FALSE(routing.wants(0, T::subscription_count));
  CHECK_FALSE(routing.wants(1, T::channel_occupied));
  CHECK_FALSE(routing.wants(2, T::channel_occupied));
  CHECK_FALSE(routing.wants(99, T::channel_occupied));
  CHECK(routing.targets().size() == 2);  // the empty one receives nothing and is skipped
  CHECK(routing.targets_of(0).size() == 2);
  CHECK(routing.targets_of(1).empty());
  CHECK(routing.targets_of(99).empty());
}

// ================================================================================================
// Scheduler: batching
// ================================================================================================

TEST_CASE("webhooks: events are batched for the window, time_ms is the earliest") {
  Harness h(one_hook);  // batching on, 50 ms, max 100
  h.add(ev("channel_occupied", "a", 2000));
  CHECK(h.scheduler.held_events() == 1);
  CHECK(h.scheduler.next_deadline() == h.now + 50ms);
  CHECK(h.advance(10ms).empty());
  h.add(ev("channel_occupied", "b", 1500));
  CHECK(h.advance(39ms).empty());
  const auto out = h.advance(1ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].events == 2);
  CHECK(out[0].time_ms == 1500);
  CHECK(out[0].body == R"({"time_ms":1500,"events":[{"name":"channel_occupied","channel":"a"},)"
                       R"({"name":"channel_occupied","channel":"b"}]})");
  CHECK(h.scheduler.held_events() == 0);
  CHECK(h.scheduler.held_bytes() == 0);
  CHECK_FALSE(h.scheduler.next_deadline().has_value());
}

TEST_CASE("webhooks: a full batch is sent at once") {
  Harness h(one_hook, R"({"batching":{"max_batch_size":3}})");
  for (int i = 0; i < 7; ++i) {
    h.add(ev("client_event", "c" + std::to_string(i)));
  }
  auto out = h.advance(0ms);
  REQUIRE(out.size() == 2);
  CHECK(out[0].events == 3);
  CHECK(out[1].events == 3);
  CHECK(h.scheduler.held_events() == 1);
  out = h.advance(50ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].events == 1);
}

TEST_CASE("webhooks: batching off sends one event per body") {
  Harness h(one_hook, R"({"batching":{"enabled":false}})");
  h.add(ev("channel_occupied", "a"));
  h.add(ev("channel_occupied", "b"));
  const auto out = h.advance(0ms);
  REQUIRE(out.size() == 2);
  CHECK(out[0].events == 1);
  CHECK(out[1].body.find("\"b\"") != std::string::npos);
}

TEST_CASE("webhooks: each URL gets only its events, filtered, in its own body") {
  Harness h(R"([
    {"url":"http://127.0.0.1:9/all","event_types":["channel_occupied","client_event"]},
    {"url":"http://127.0.0.1:9/beta","event_types":["channel_occupied"],
     "filter":{"channel_name_starts_with":"beta-"}},
    {"url":"http://127.0.0.1:9/none","event_types":["cache_miss"]}])");
  h.add(ev("channel_occupied", "beta-1"));
  h.add(ev("channel_occupied", "other"));
  h.add(ev("client_event", "beta-2"));
  h.add(ev("subscription_count", "beta-3"));  // nobody wants it
  CHECK(h.scheduler.held_events() == 4);      // 3 for /all, 1 for /beta
  const auto out = h.advance(50ms);
  REQUIRE(out.size() == 2);
  CHECK(out[0].target == 0);
  CHECK(out[0].events == 3);
  CHECK(out[1].target == 1);
  CHECK(out[1].events == 1);
  CHECK(out[1].body ==
        R"({"time_ms":1000,"events":[{"name":"channel_occupied","channel":"beta-1"}]})");
}

// ================================================================================================
// Scheduler: the vacate delay and its cancel rule
// ================================================================================================

TEST_CASE("webhooks: channel_vacated is held for 3 s, then batched") {
  Harness h(one_hook);
  h.add(ev("channel_vacated", "a", 777));
  CHECK(h.scheduler.held_events() == 1);
  CHECK(h.scheduler.next_deadline() == h.now + 3000ms);
  CHECK(h.advance(2999ms).empty());
  CHECK(h.advance(1ms).empty());  // fired into the 50 ms batch
  const auto out = h.advance(50ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].body == R"({"time_ms":777,"events":[{"name":"channel_vacated","channel":"a"}]})");
}

TEST_CASE("webhooks: a re-occupy within the delay cancels vacated and is suppressed") {
  Harness h(one_hook);
  h.add(ev("channel_occupied", "a"));
  CHECK(h.advance(50ms).size() == 1);
  h.add(ev("channel_vacated", "a"));
  CHECK(h.advance(1000ms).empty());
  h.add(ev("channel_occupied", "a"));  // back within 3 s: the channel never emptied
  CHECK(h.scheduler.suppressed() == 2);
  CHECK(h.scheduler.held_events() == 0);
  CHECK(h.advance(5000ms).empty());
  CHECK_FALSE(h.scheduler.next_deadline().has_value());

  SUBCASE("a later vacate is reported normally") {
    h.add(ev("channel_vacated", "a"));
    CHECK(h.advance(3000ms).empty());
    const auto out = h.advance(50ms);
    REQUIRE(out.size() == 1);
    CHECK(out[0].body.find("channel_vacated") != std::string::npos);
  }
  SUBCASE("an occupy after the vacated fired is reported") {
    h.add(ev("channel_vacated", "a"));
    CHECK(h.advance(3000ms).empty());
    h.add(ev("channel_occupied", "a"));
    const auto out = h.advance(50ms);
    REQUIRE(out.size() == 1);
    CHECK(out[0].events == 2);
  }
}

TEST_CASE("webhooks: the cancel rule is per (app, channel) and per (app, channel, user)") {
  Harness h(one_hook);
  h.add(ev("channel_vacated", "a"));
  h.add(ev("channel_occupied", "b"));  // another channel: not a cancel
  h.add(member("member_removed", "presence-x", "1"));
  h.add(member("member_added", "presence-x", "2"));    // another user
  h.add(member("member_added", "presence-y", "1"));    // another channel
  h.add(member("member_removed", "presence-x", "1"));  // duplicate of the pending one: dropped
  CHECK(h.scheduler.suppressed() == 0);
  auto out = h.advance(50ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].events == 3);
  h.add(member("member_added", "presence-x", "1"));  // user 1 back: cancels its removal
  CHECK(h.scheduler.suppressed() == 2);
  out = h.advance(3000ms);
  CHECK(out.empty());
  out = h.advance(50ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].body == R"({"time_ms":1000,"events":[{"name":"channel_vacated","channel":"a"}]})");
}

TEST_CASE("webhooks: vacated is tracked even when only channel_occupied is configured") {
  Harness h(R"([{"url":"http://127.0.0.1:9/h","event_types":["channel_occupied"]}])");
  h.add(ev("channel_occupied", "a"));
  CHECK(h.advance(50ms).size() == 1);
  h.add(ev("channel_vacated", "a"));
  h.add(ev("channel_occupied", "a"));  // quick rejoin: not a new occupation
  CHECK(h.advance(3100ms).empty());
  h.add(ev("channel_vacated", "a"));
  CHECK(h.advance(3100ms).empty());  // fired, but this URL does not want vacated
  h.add(ev("channel_occupied", "a"));
  CHECK(h.advance(50ms).size() == 1);
}

TEST_CASE("webhooks: vacate_delay_ms 0 sends at once") {
  Harness h(one_hook, R"({"vacate_delay_ms":0,"batching":{"enabled":false}})");
  h.add(ev("channel_vacated", "a"));
  CHECK(h.advance(0ms).size() == 1);
}

TEST_CASE("webhooks: 42 and \"42\" are one user for the member_removed cancel rule") {
  Harness h(one_hook);
  h.add(numeric_member("member_added", "presence-x", "42"));
  auto out = h.advance(50ms);
  REQUIRE(out.size() == 1);
  CHECK(
      out[0].body ==
      R"({"time_ms":1000,"events":[{"name":"member_added","channel":"presence-x","user_id":42}]})");
  // Removal then a rejoin signed with the other type: still the same user, so both drop out.
  h.add(numeric_member("member_removed", "presence-x", "42"));
  h.add(member("member_added", "presence-x", "42"));
  CHECK(h.scheduler.suppressed() == 2);
  CHECK(h.advance(3100ms).empty());
  // A removal that fires carries the member's type.
  h.add(numeric_member("member_removed", "presence-x", "42"));
  out = h.advance(3000ms);  // the delay ends; then the batch window
  const auto later = h.advance(100ms);
  out.insert(out.end(), later.begin(), later.end());
  REQUIRE(out.size() == 1);
  CHECK(
      out[0].body ==
      R"({"time_ms":1000,"events":[{"name":"member_removed","channel":"presence-x","user_id":42}]})");
}

TEST_CASE("webhooks: flush_all fires delayed events and closes batches (shutdown)") {
  Harness h(one_hook);
  h.add(ev("channel_vacated", "a", 5));
  h.add(member("member_removed", "presence-a", "u", 6));
  h.add(ev("client_event", "b", 7));
  std::vector<WebhookBatch> out;
  h.scheduler.flush_all(out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].events == 3);
  CHECK(out[0].time_ms == 5);
  CHECK(out[0].body == R"({"time_ms":5,"events":[{"name":"client_event","channel":"b"},)"
                       R"({"name":"channel_vacated","channel":"a"},)"
                       R"({"name":"member_removed","channel":"presence-a","user_id":"u"}]})");
  CHECK(h.scheduler.held_events() == 0);
  CHECK_FALSE(h.scheduler.next_deadline().has_value());
}

TEST_CASE("webhooks: churn keeps the delay queue bounded") {
  Harness h(one_hook);
  for (int i = 0; i < 20000; ++i) {
    h.add(ev("channel_vacated", "a"));
    h.add(ev("channel_occupied", "a"));
  }
  CHECK(h.scheduler.suppressed() == 40000);
  CHECK(h.scheduler.held_events() == 0);
  CHECK(h.advance(3000ms).empty());
  CHECK_FALSE(h.scheduler.next_deadline().has_value());
}

TEST_CASE("webhooks: unknown names and other apps are ignored") {
  Harness h(one_hook);
  h.add(ev("member_updated", "a"));
  h.scheduler.add(5, ev("channel_occupied", "a"), h.now);
  CHECK(h.scheduler.held_events() == 0);
  CHECK(h.advance(100ms).empty());
}
