// libFuzzer target: a database app manager's row (server/app_row.cpp app_row_to_json, then the
// config loader's app reader, parse_app_json). Rows come from a database the operator runs,
// but any content — a hand-edited JSON column, a negative limit, bytes that are not UTF-8 — must
// give an app or a ConfigError (the row is logged and not served), never a crash or another
// exception. Input: the row's cells separated by 0x1e; a cell that is exactly 0x1f is NULL.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/app_source.hpp"
#include "server/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  server::AppRow row;
  std::size_t start = 0;
  while (row.size() < server::app_column_count) {
    const std::size_t end = text.find('\x1e', start);
    const std::string_view cell =
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (cell == "\x1f") {
      row.emplace_back(std::nullopt);
    } else {
      row.emplace_back(std::string(cell));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  // Short inputs fill the other columns with NULL; a row of the wrong size must be refused.
  const bool full = text.size() % 2 == 0;
  if (full) row.resize(server::app_column_count);
  std::string error;
  const std::string json = server::app_row_to_json(row, error);
  if (row.size() != server::app_column_count && (!json.empty() || error.empty())) std::abort();
  if (json.empty()) return 0;
  static const server::Config base;
  std::vector<std::string> warnings;
  try {
    const server::App app = server::parse_app_json(json, base, "app_manager: app", warnings);
    if (app.id.empty() || app.key.empty() || app.secret.empty()) std::abort();
  } catch (const server::ConfigError&) {
    // Not a valid app: logged and not served.
  }
  return 0;
}
