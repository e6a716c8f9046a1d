#include "tests/support/test_config.hpp"

#include <cstdlib>
#include <sstream>

#include "tests/support/json_helpers.hpp"

namespace test_support {
namespace {

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

const char* boolean(bool v) {
  return v ? "true" : "false";
}

}  // namespace

std::string AppConfig::to_json() const {
  std::string origins = "[";
  for (std::size_t i = 0; i < allowed_origins.size(); ++i) {
    if (i > 0) origins += ',';
    origins += json_quote(allowed_origins[i]);
  }
  origins += ']';
  std::string out;
  out += "{\"id\":" + json_quote(id) + ",\"key\":" + json_quote(key) +
         ",\"secret\":" + json_quote(secret) + ",\"enabled\":" + boolean(enabled) +
         ",\"policy\":{\"limits\":{";
  out += "\"max_connections\":" + std::to_string(max_connections);
  out += ",\"max_client_events_per_second\":" + std::to_string(max_client_events_per_second);
  out +=
      ",\"max_presence_members_per_channel\":" + std::to_string(max_presence_members_per_channel);
  out += ",\"max_presence_member_size_in_kb\":" + num(max_presence_member_size_in_kb);
  out += ",\"max_channel_name_length\":" + std::to_string(max_channel_name_length);
  out += ",\"max_event_name_length\":" + std::to_string(max_event_name_length);
  out += ",\"max_event_payload_in_kb\":" + num(max_event_payload_in_kb);
  for (const auto& [name, value] : extra_limits) out += "," + json_quote(name) + ":" + value;
  out += "},\"features\":{\"enable_client_messages\":";
  out += boolean(enable_client_messages);
  out += ",\"enable_user_authentication\":";
  out += boolean(enable_user_authentication);
  out += "},\"channels\":{\"allowed_origins\":" + origins + "}}}";
  return out;
}

std::string ServerConfig::to_json() const {
  std::string out = "{";
  out += "\"host\":" + json_quote(host);
  out += ",\"port\":" + std::to_string(port);
  out += ",\"activity_timeout\":" + std::to_string(activity_timeout.count());
  out += ",\"pong_timeout\":" + std::to_string(pong_timeout.count());
  out += ",\"websocket_max_payload_kb\":" + std::to_string(websocket_max_payload_kb);
  out += ",\"send_queue\":{\"max_bytes\":" + std::to_string(send_queue_max_bytes) +
         ",\"max_messages\":" + std::to_string(send_queue_max_messages) + "}";
  out += ",\"max_connections\":" + std::to_string(max_connections);
  out += ",\"user_authentication_timeout\":" + std::to_string(user_authentication_timeout.count());
  out += ",\"shutdown_grace_period\":" + std::to_string(shutdown_grace_period.count());
  out += ",\"handshake_timeout\":" + std::to_string(handshake_timeout.count());
  out += ",\"metrics\":{\"enabled\":" + std::string(boolean(metrics_enabled)) +
         ",\"port\":" + std::to_string(metrics_port) + "}";
  out += ",\"app_manager\":{\"array\":{\"apps\":[";
  for (std::size_t i = 0; i < apps.size(); ++i) {
    if (i > 0) out += ',';
    out += apps[i].to_json();
  }
  out += "]}}";
  bool has_workers = false;
  for (const auto& [key, value] : extra) {
    out += "," + json_quote(key) + ":" + value;
    has_workers = has_workers || key == "workers";
  }
  // $PUSHCORE_TEST_WORKERS (the TSan pass sets 2) fixes the worker count of every test server.
  if (const char* w = std::getenv("PUSHCORE_TEST_WORKERS"); w != nullptr && !has_workers) {
    out += ",\"workers\":" + std::to_string(std::atoi(w));
  }
  out += "}";
  return out;
}

ServerConfig default_config() {
  return ServerConfig{};
}

}  // namespace test_support
