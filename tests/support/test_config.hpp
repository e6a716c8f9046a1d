#pragma once
// Server configuration for e2e tests, in the Sockudo JSON shape that `pushcore --config FILE`
// reads. Start from `default_config()` (one app: app-id / app-key / app-secret, port 0) and
// tweak fields; `to_json()` renders the file content.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace test_support {

/// One entry of `app_manager.array.apps`.
struct AppConfig {
  std::string id = "app-id";
  std::string key = "app-key";
  std::string secret = "app-secret";
  bool enabled = true;
  // policy.limits
  std::uint64_t max_connections = 0;
  std::uint64_t max_client_events_per_second = 0;
  std::uint64_t max_presence_members_per_channel = 100;
  double max_presence_member_size_in_kb = 2;
  std::uint64_t max_channel_name_length = 200;
  std::uint64_t max_event_name_length = 200;
  double max_event_payload_in_kb = 100;
  /// Extra `policy.limits` members rendered verbatim: {key, raw JSON value}.
  std::vector<std::pair<std::string, std::string>> extra_limits;
  // policy.features
  bool enable_client_messages = true;
  bool enable_user_authentication = false;
  // policy.channels
  std::vector<std::string> allowed_origins;

  /// Renders this app as a JSON object.
  [[nodiscard]] std::string to_json() const;
};

/// The whole config file. Durations are whole seconds in the file.
struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0 = the server picks a free port and logs it
  std::chrono::seconds activity_timeout{120};
  std::chrono::seconds pong_timeout{30};
  std::chrono::seconds user_authentication_timeout{3600};
  std::chrono::seconds shutdown_grace_period{5};
  std::chrono::seconds handshake_timeout{10};
  std::uint64_t websocket_max_payload_kb = 64;
  std::uint64_t send_queue_max_bytes = 1 << 20;
  std::uint64_t send_queue_max_messages = 1000;
  std::uint64_t max_connections = 0;  ///< node-wide, 0 = unlimited
  /// Off by default so concurrently running test servers never fight over the metrics port.
  bool metrics_enabled = false;
  std::uint16_t metrics_port = 0;
  std::vector<AppConfig> apps{AppConfig{}};
  /// Extra top-level members rendered verbatim: {key, raw JSON value}, e.g. {"workers", "2"}.
  std::vector<std::pair<std::string, std::string>> extra;

  /// Returns the first app (the default one). Precondition: `apps` is not empty.
  AppConfig& app() { return apps.front(); }

  /// Renders the config file content.
  [[nodiscard]] std::string to_json() const;
};

/// The default test config: 127.0.0.1, port 0, Sockudo defaults, one enabled app
/// (app-id / app-key / app-secret) with client messages enabled.
[[nodiscard]] ServerConfig default_config();

}  // namespace test_support
