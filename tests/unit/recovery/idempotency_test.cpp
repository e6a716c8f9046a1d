#include "server/idempotency.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using server::IdempotencyCache;
using State = IdempotencyCache::Claim::State;

TEST_CASE("idempotency: the first claim publishes, retries get its answer") {
  IdempotencyCache c(std::chrono::seconds(60), 100);
  CHECK(c.claim("app", "k").state == State::fresh);
  CHECK(c.claim("app", "k").state == State::in_progress);
  c.complete("app", "k", R"({"ok":true})");
  const auto retry = c.claim("app", "k");
  CHECK(retry.state == State::answered);
  CHECK(retry.body == R"({"ok":true})");
  CHECK(c.claim("other-app", "k").state == State::fresh);  // keys are per app
}

TEST_CASE("idempotency: a released (refused) claim may be retried") {
  IdempotencyCache c(std::chrono::seconds(60), 100);
  CHECK(c.claim("app", "k").state == State::fresh);
  c.release("app", "k");
  CHECK(c.claim("app", "k").state == State::fresh);
}

TEST_CASE("idempotency: keys expire after the TTL and are bounded in number") {
  IdempotencyCache c(std::chrono::seconds(1), 3);
  c.claim("app", "old");
  c.complete("app", "old", "{}");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(c.claim("app", "old").state == State::fresh);
  for (int i = 0; i < 10; ++i) c.claim("app", "k" + std::to_string(i));
  CHECK(c.size() <= 4);
}
