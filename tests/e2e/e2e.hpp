#pragma once
// Shared setup for the e2e tests: each test starts its own server (ServerProcess) with the
// config it needs and talks to it over loopback with the support clients. No sleeps: every wait
// is for an expected frame, close or log line, with a deadline.

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "auth/signature.hpp"
#include "tests/support/deadline.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/json_helpers.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_config.hpp"
#include "tests/support/ws_client.hpp"

#ifndef PUSHCORE_BIN
#define PUSHCORE_BIN ""
#endif

namespace e2e {

using namespace test_support;
using namespace std::chrono_literals;

/// The default app's credentials (see default_config()).
inline const AppCreds app{};

/// The usual deadline for one expected frame.
inline Deadline soon() {
  return within(5s);
}

/// A server started from `cfg` ($PUSHCORE_BIN overrides the built binary).
struct Server : ServerProcess {
  explicit Server(const ServerConfig& cfg = default_config())
      : ServerProcess(server_binary(PUSHCORE_BIN), cfg) {}
};

/// Auth for a private/encrypted channel, as the app's auth endpoint would return it.
inline std::string private_auth(std::string_view socket_id, std::string_view channel,
                                const AppCreds& creds = app) {
  return auth::sign_channel(creds.key, creds.secret, socket_id, channel);
}

/// Auth for a presence channel over the exact channel_data bytes.
inline std::string presence_auth(std::string_view socket_id, std::string_view channel,
                                 std::string_view channel_data, const AppCreds& creds = app) {
  return auth::sign_channel(creds.key, creds.secret, socket_id, channel, channel_data);
}

/// Subscribes to a private channel with a valid signature and expects success.
inline void join_private(WsClient& c, std::string_view channel) {
  CHECK(c.subscribe_ok(channel, private_auth(c.socket_id(), channel)) == "{}");
}

/// Subscribes to a presence channel with a valid signature over `channel_data` and expects
/// success. Returns the subscription_succeeded data string.
inline std::string join_presence(WsClient& c, std::string_view channel,
                                 std::string_view channel_data) {
  return c.subscribe_ok(channel, presence_auth(c.socket_id(), channel, channel_data), channel_data);
}

/// Sends a signed subscribe for a presence channel (no expectation on the reply).
inline void subscribe_presence(WsClient& c, std::string_view channel,
                               std::string_view channel_data) {
  c.subscribe(channel, presence_auth(c.socket_id(), channel, channel_data), channel_data);
}

/// Milliseconds since `start`.
inline long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

}  // namespace e2e
