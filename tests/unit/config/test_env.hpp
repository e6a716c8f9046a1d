#pragma once
// The injected environment of the config tests: tests fill `g_env` (directly or through an
// EnvScope), and the loader reads it through `test_env` (an EnvLookup).

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace config_test {

inline std::map<std::string, std::string, std::less<>> g_env;

inline std::optional<std::string> test_env(std::string_view name) {
  const auto it = g_env.find(name);
  if (it == g_env.end()) return std::nullopt;
  return it->second;
}

/// Sets the injected environment for one scope.
struct EnvScope {
  EnvScope(std::initializer_list<std::pair<const std::string, std::string>> vars) { g_env = vars; }
  EnvScope(const EnvScope&) = delete;
  EnvScope& operator=(const EnvScope&) = delete;
  ~EnvScope() { g_env.clear(); }
};

}  // namespace config_test
