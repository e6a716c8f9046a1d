// libFuzzer target: the config loader (server/config_*.cpp parse_config: ${VAR} interpolation,
// JSON, every section, validation, env overrides). Any input must either give a Config or throw
// ConfigError (a clear start-up message); any other exception or a crash is a bug. A fixed fake
// environment makes ${VAR}, ${VAR:-default} and the overrides reachable.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.hpp"

namespace {

std::optional<std::string> fake_env(std::string_view name) {
  if (name == "PORT") return std::string("7001");
  if (name == "APP_SECRET") return std::string("s3cret");
  if (name == "EMPTY") return std::string();
  if (name == "QUOTE") return std::string("\"");
  return std::nullopt;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  try {
    const server::Config c = server::parse_config(text, fake_env, warnings);
    // What the server relies on after a successful load.
    check(!c.apps.empty());
    for (const auto& app : c.apps)
      check(!app.id.empty() && !app.key.empty() && !app.secret.empty());
    check(c.handshake_timeout.count() >= 1 && c.websocket_max_payload_kb >= 1);
    check(c.send_queue_max_bytes >= 1 && c.send_queue_max_messages >= 1);
  } catch (const server::ConfigError&) {
    // Invalid configuration: reported at start-up.
  }
  try {
    (void)server::interpolate_env(text, fake_env);
  } catch (const server::ConfigError&) {
  }
  return 0;
}
