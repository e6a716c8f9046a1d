#pragma once
// Structured logging: one `key=value` line per event on stderr, written with a single write(2)
// so lines from different workers never interleave. Never pass secrets, signatures or message
// bodies. Not for hot paths (it formats and allocates).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace server::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

/// Sets the minimum level that is written ("debug", "info", "warn", "error").
void set_level(std::string_view level);
[[nodiscard]] bool enabled(Level level);

using Field = std::pair<std::string_view, std::string>;

/// Writes `ts=... level=... msg=<msg> k=v ...`; values with spaces or quotes are quoted.
void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  write(Level::info, msg, fields);
}
inline void warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  write(Level::warn, msg, fields);
}
inline void error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  write(Level::error, msg, fields);
}
inline void debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::debug)) write(Level::debug, msg, fields);
}

}  // namespace server::log
