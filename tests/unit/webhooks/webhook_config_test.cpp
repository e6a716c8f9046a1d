// Webhook config parsing (server/config_webhooks.cpp): keys, defaults, aliases, errors, warnings.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "server/config.hpp"

using server::Config;
using server::ConfigError;
using namespace std::chrono_literals;

namespace {

Config parse(const std::string& json, std::vector<std::string>* warnings_out = nullptr) {
  std::vector<std::string> warnings;
  Config c = server::parse_config(json, nullptr, warnings);
  if (warnings_out != nullptr) {
    *warnings_out = warnings;
  }
  return c;
}

std::string error_of(const std::string& json) {
  try {
    parse(json);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// One app with the given extra members.
std::string app(const std::string& extra) {
  return R"({"app_manager":{"array":{"apps":[{"id":"1","key":"k","secret":"s",)" + extra + "}]}}}";
}

std::string hook(const std::string& fields) {
  return app(R"("policy":{"webhooks":[{)" + fields + "}]}");
}

bool has_warning(const std::vector<std::string>& warnings, const std::string& prefix,
                 const std::string& text) {
  for (const std::string& w : warnings) {
    if (w.starts_with(prefix) && w.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("webhook config: defaults") {
  const Config c = parse("{}");
  CHECK(c.webhooks.batching_enabled);
  CHECK(c.webhooks.batching_duration == 50ms);
  CHECK(c.webhooks.max_batch_size == 100);
  CHECK(c.webhooks.max_queue_size == 10000);
  CHECK(c.webhooks.max_queue_bytes == 64u << 20);
  CHECK(c.webhooks.max_concurrent_requests == 20);
  CHECK(c.webhooks.request_timeout == 10000ms);
  CHECK(c.webhooks.vacate_delay == 3000ms);
  CHECK(c.webhooks.retry.enabled);
  CHECK(c.webhooks.retry.max_attempts == 0);
  CHECK(c.webhooks.retry.initial_interval == 1000ms);
  CHECK(c.webhooks.retry.max_interval == 60000ms);
  CHECK(c.webhooks.retry.max_elapsed_time == 300000ms);
  CHECK(c.apps.at(0).webhooks.empty());
}

TEST_CASE("webhook config: every global key") {
  std::vector<std::string> warnings;
  const Config c = parse(R"({"webhooks":{
    "batching":{"enabled":false,"duration":"75","max_batch_size":10},
    "max_queue_size":50,"max_queue_bytes":4096,"max_concurrent_requests":3,
    "request_timeout_ms":250,"vacate_delay_ms":0,
    "retry":{"enabled":true,"max_attempts":4,"initial_interval_ms":10,"max_interval_ms":40,
             "max_elapsed_time_ms":500}}})",
                         &warnings);
  CHECK(warnings.empty());
  CHECK_FALSE(c.webhooks.batching_enabled);
  CHECK(c.webhooks.batching_duration == 75ms);
  CHECK(c.webhooks.max_batch_size == 10);
  CHECK(c.webhooks.max_queue_size == 50);
  CHECK(c.webhooks.max_queue_bytes == 4096);
  CHECK(c.webhooks.max_concurrent_requests == 3);
  CHECK(c.webhooks.request_timeout == 250ms);
  CHECK(c.webhooks.vacate_delay == 0ms);
  CHECK(c.webhooks.retry.max_attempts == 4);
  CHECK(c.webhooks.retry.initial_interval == 10ms);
  CHECK(c.webhooks.retry.max_interval == 40ms);
  CHECK(c.webhooks.retry.max_elapsed_time == 500ms);
}

TEST_CASE("webhook config: one webhook with everything") {
  std::vector<std::string> warnings;
  const Config c = parse(hook(R"(
    "url":"https://Example.com:8443/hooks/pusher?token=abc#frag",
    "event_types":["channel_occupied","client_event"],
    "headers":{"Authorization":"Bearer x","X-Num":5},
    "filter":{"channel_prefix":"private-","channel_suffix":"-x","channel_pattern":"^p",
              "channel_namespace":"chat","channel_namespaces":["game"]},
    "request_timeout_ms":1234,
    "retry":{"max_attempts":2})"),
                         &warnings);
  CHECK(warnings.empty());
  REQUIRE(c.apps.at(0).webhooks.size() == 1);
  const server::WebhookTarget& w = c.apps[0].webhooks[0];
  CHECK(w.tls);
  CHECK(w.host == "Example.com");
  CHECK(w.port == 8443);
  CHECK(w.target == "/hooks/pusher?token=abc");
  CHECK(w.event_types == std::vector<std::string>{"channel_occupied", "client_event"});
  REQUIRE(w.headers.size() == 2);
  CHECK(w.headers[0] == std::pair<std::string, std::string>{"Authorization", "Bearer x"});
  CHECK(w.headers[1] == std::pair<std::string, std::string>{"X-Num", "5"});
  CHECK(w.filter.channel_prefix == "private-");
  CHECK(w.filter.channel_suffix == "-x");
  CHECK(w.filter.channel_pattern == "^p");
  CHECK(w.filter.pattern_valid);
  CHECK(w.filter.channel_namespaces == std::vector<std::string>{"chat", "game"});
  CHECK(w.request_timeout == 1234ms);
  REQUIRE(w.retry.has_value());
  CHECK(w.retry->max_attempts == 2);
  CHECK(w.retry->initial_interval == 1000ms);  // the rest inherits the global retry
}

TEST_CASE("webhook config: per-webhook retry inherits the global one whatever the key order") {
  const Config c = parse(R"({"app_manager":{"array":{"apps":[{"id":"1","key":"k","secret":"s",
      "webhooks":[{"url":"http://h/","event_types":["client_event"],"retry":{"max_attempts":9}}]}]}},
    "webhooks":{"retry":{"initial_interval_ms":7}}})");
  REQUIRE(c.apps[0].webhooks.size() == 1);
  CHECK(c.apps[0].webhooks[0].retry->initial_interval == 7ms);
  CHECK(c.apps[0].webhooks[0].retry->max_attempts == 9);
  CHECK(c.webhooks.retry.initial_interval == 7ms);
}

TEST_CASE("webhook config: URL forms") {
  struct Case {
    const char* url;
    bool tls;
    const char* host;
    unsigned port;
    const char* target;
  };
  const std::vector<Case> cases = {
      {"http://127.0.0.1:3000/webhook", false, "127.0.0.1", 3000, "/webhook"},
      {"http://example.com", false, "example.com", 80, "/"},
      {"HTTPS://example.com", true, "example.com", 443, "/"},
      {"http://example.com?x=1", false, "example.com", 80, "/?x=1"},
      {"http://[::1]:8080/a/b", false, "::1", 8080, "/a/b"},
      {"https://[fe80::1]/", true, "fe80::1", 443, "/"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.url);
    const Config config =
        parse(hook(std::string(R"("url":")") + c.url + R"(","event_types":["client_event"])"));
    const server::WebhookTarget& w = config.apps.at(0).webhooks.at(0);
    CHECK(w.tls == c.tls);
    CHECK(w.host == c.host);
    CHECK(w.port == c.port);
    CHECK(w.target == c.target);
    CHECK(w.url == c.url);
  }
}

TEST_CASE("webhook config: invalid values name the key") {
  const std::string path = "app_manager.array.apps[0].policy.webhooks[0]";
  struct Case {
    std::string json;
    std::string expected_prefix;
    std::string expected_text;
  };
  const std::vector<Case> cases = {
      {hook(R"("event_types":["client_event"])"), path + ".url: ", "required"},
      {hook(R"("url":"ftp://h/","event_types":[])"), path + ".url: ", "http:// or https://"},
      {hook(R"("url":"http:///x")"), path + ".url: ", "no host"},
      {hook(R"("url":"http://h:0/")"), path + ".url: ", "1..65535"},
      {hook(R"("url":"http://h:99999/")"), path + ".url: ", "1..65535"},
      {hook(R"("url":"http://h:/")"), path + ".url: ", "empty port"},
      {hook(R"("url":"http://u:p@h/")"), path + ".url: ", "user info"},
      {hook(R"("url":"http://h/a b")"), path + ".url: ", "whitespace"},
      {hook(R"("url":"http://[::1/")"), path + ".url: ", "IPv6"},
      {hook(R"("url":5)"), path + ".url: ", "a string"},
      {hook(R"("url":"http://h/","headers":{"Bad Name":"x"})"),
       path + ".headers.Bad Name: ", "header name"},
      {hook(R"("url":"http://h/","headers":{"X":"a\r\nInjected: 1"})"),
       path + ".headers.X: ", "CR"},
      {hook(R"("url":"http://h/","headers":{"X":true})"), path + ".headers.X: ", "a string"},
      {hook(R"("url":"http://h/","request_timeout_ms":0)"),
       path + ".request_timeout_ms: ", "integer"},
      {hook(R"("url":"http://h/","retry":{"initial_interval_ms":-1})"),
       path + ".retry.initial_interval_ms: ", "non-negative"},
      {app(R"("webhooks":{"url":"http://h/"})"),
       "app_manager.array.apps[0].webhooks: ", "an array"},
      {R"({"webhooks":{"batching":{"max_batch_size":0}}})",
       "webhooks.batching.max_batch_size: ", "integer"},
      {R"({"webhooks":{"max_concurrent_requests":0}})",
       "webhooks.max_concurrent_requests: ", "integer"},
      {R"({"webhooks":{"batching":{"enabled":"maybe"}}})",
       "webhooks.batching.enabled: ", "true or false"},
      // std::regex compiles recursively: a long pattern overflowed the stack (config fuzzer).
      {hook(R"("url":"http://h/","filter":{"channel_pattern":")" + std::string(257, 'a') + R"("})"),
       path + ".filter.channel_pattern: ", "at most 256 characters"},
      {hook(R"("url":"http://h/","filter":{"channel_pattern":")" + std::string(20000, '$') +
            R"("})"),
       path + ".filter.channel_pattern: ", "at most 256 characters"},
      // libstdc++ parses back-reference and {m,n} numbers into a long unchecked (fuzzer).
      {hook(R"("url":"http://h/","filter":{"channel_pattern":"a\\4444444444444444444444"})"),
       path + ".filter.channel_pattern: ", "at most 9 digits"},
      {hook(R"("url":"http://h/","filter":{"channel_pattern":"a{1,99999999999999999999}"})"),
       path + ".filter.channel_pattern: ", "at most 9 digits"},
      {hook(R"("url":"http://h/","filter":{"channel_pattern":"a{12345678901}"})"),
       path + ".filter.channel_pattern: ", "at most 9 digits"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.json);
    const std::string error = error_of(c.json);
    CAPTURE(error);
    CHECK(error.starts_with(c.expected_prefix));
    CHECK(error.find(c.expected_text) != std::string::npos);
  }
}

TEST_CASE("webhook config: warnings") {
  std::vector<std::string> warnings;
  const Config c = parse(app(R"("webhooks":[
      {"url":"http://h/1","event_types":["channel_occupied","nope"],"bogus":1,
       "headers":{"headers":{"Content-Type":"text/plain","X-Pusher-Signature":"x","X-Ok":"1"}},
       "filter":{"channel_pattern":"([","other":1}},
      {"lambda_function":"fn","event_types":["client_event"]},
      {"url":"http://h/3"}])"),
                         &warnings);
  const std::string p = "app_manager.array.apps[0].webhooks";
  CHECK(has_warning(warnings, p + "[0].event_types: ", "\"nope\""));
  CHECK(has_warning(warnings, p + "[0].bogus: ", "unknown key"));
  CHECK(has_warning(warnings, p + "[0].headers.headers.Content-Type: ", "ignored"));
  CHECK(has_warning(warnings, p + "[0].headers.headers.X-Pusher-Signature: ", "ignored"));
  CHECK(has_warning(warnings, p + "[0].filter.channel_pattern: ", "matches no channel"));
  CHECK(has_warning(warnings, p + "[0].filter.other: ", "unknown key"));
  CHECK(has_warning(warnings, "Sockudo options not supported by this server, ignored: ",
                    p + "[1].lambda_function"));
  CHECK(has_warning(warnings, p + "[1]: ", "skipped"));
  CHECK(has_warning(warnings, p + "[2].event_types: ", "receives nothing"));
  REQUIRE(c.apps[0].webhooks.size() == 2);  // the Lambda-only one is skipped
  const server::WebhookTarget& w = c.apps[0].webhooks[0];
  REQUIRE(w.headers.size() == 1);
  CHECK(w.headers[0].first == "X-Ok");
  CHECK_FALSE(w.filter.pattern_valid);
}

TEST_CASE("webhook config: Soketi filter aliases and the flat app key") {
  std::vector<std::string> warnings;
  const Config c = parse(app(R"("webhooks":[{"url":"http://h/","event_types":["client_event"],
      "filter":{"channel_name_starts_with":"beta-","channel_name_ends_with":"-app"}}])"),
                         &warnings);
  CHECK(warnings.empty());
  REQUIRE(c.apps[0].webhooks.size() == 1);
  CHECK(c.apps[0].webhooks[0].filter.channel_prefix == "beta-");
  CHECK(c.apps[0].webhooks[0].filter.channel_suffix == "-app");
  CHECK_FALSE(c.apps[0].webhooks[0].retry.has_value());
  CHECK_FALSE(c.apps[0].webhooks[0].request_timeout.has_value());
}

TEST_CASE("webhook config: policy.webhooks wins over the flat key") {
  const Config c = parse(app(R"("webhooks":[{"url":"http://flat/","event_types":["client_event"]}],
      "policy":{"webhooks":[{"url":"http://policy/","event_types":["client_event"]},
                            {"url":"http://policy2/","event_types":["cache_miss"]}]})"));
  REQUIRE(c.apps[0].webhooks.size() == 2);
  CHECK(c.apps[0].webhooks[0].host == "policy");
  CHECK(c.apps[0].webhooks[1].host == "policy2");
}

TEST_CASE("webhook config: event_types may be a comma-separated string") {
  const Config c =
      parse(hook(R"("url":"http://h/","event_types":"channel_occupied, channel_vacated")"));
  CHECK(c.apps[0].webhooks.at(0).event_types ==
        std::vector<std::string>{"channel_occupied", "channel_vacated"});
}

TEST_CASE("webhook config: regex numbers are bounded, literal digits are not") {
  using server::WebhookFilter;
  CHECK(WebhookFilter::pattern_numbers_bounded("^private-user-12345678901234567890$"));
  CHECK(WebhookFilter::pattern_numbers_bounded("^(a|b)\\1{2,5}[0-9]{123456789}$"));
  CHECK(WebhookFilter::pattern_numbers_bounded("x,12345678901234"));  // a comma outside braces
  CHECK_FALSE(WebhookFilter::pattern_numbers_bounded("\\1234567890"));
  CHECK_FALSE(WebhookFilter::pattern_numbers_bounded("a{1234567890}"));
  CHECK_FALSE(WebhookFilter::pattern_numbers_bounded("a{1,1234567890}"));
  CHECK_FALSE(WebhookFilter::pattern_numbers_bounded("[\\99999999999]"));
}
