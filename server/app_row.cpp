// A database row as the JSON of one app (Sockudo's app shape), so that apps from a database go
// through the same reader, precedence rules and checks as apps from the config file.

#include <algorithm>

#include "protocol/json.hpp"
#include "server/app_source.hpp"

namespace server {
namespace {

bool is_integer_text(std::string_view s) {
  return !s.empty() && s.size() <= 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// PostgreSQL writes booleans as t/f, MySQL (TINYINT) as 1/0.
std::optional<bool> bool_of(std::string_view s) {
  if (s == "t" || s == "1" || s == "true" || s == "TRUE") return true;
  if (s == "f" || s == "0" || s == "false" || s == "FALSE") return false;
  return std::nullopt;
}

}  // namespace

std::string app_row_to_json(const AppRow& row, std::string& error) {
  if (row.size() != app_column_count) {
    error = "expected " + std::to_string(app_column_count) + " columns, got " +
            std::to_string(row.size());
    return {};
  }
  std::string out = "{";
  bool first = true;
  for (std::size_t i = 0; i < app_column_count; ++i) {
    const AppColumn& col = app_columns[i];
    if (!row[i]) continue;  // NULL: unset, the server default applies
    const std::string& cell = *row[i];
    std::string value;
    switch (col.kind) {
      case ColumnKind::text:
        protocol::append_json_string(value, cell);
        break;
      case ColumnKind::integer:
        // A negative limit (signed INTEGER in PostgreSQL) has no meaning: refused like in a file.
        if (!is_integer_text(cell)) {
          error = "column " + std::string(col.name) + ": expected a non-negative integer";
          return {};
        }
        value = cell;
        break;
      case ColumnKind::boolean: {
        const auto b = bool_of(cell);
        if (!b) {
          error = "column " + std::string(col.name) + ": expected a boolean";
          return {};
        }
        value = *b ? "true" : "false";
        break;
      }
      case ColumnKind::json:
        // Stored JSON goes in as it is; the reader checks it (and names the column's key).
        if (cell.find_first_not_of(" \t\r\n") == std::string::npos) continue;
        value = cell;
        break;
    }
    if (!first) out += ',';
    first = false;
    protocol::append_json_string(out, col.name);
    out += ':';
    out += value;
  }
  out += '}';
  return out;
}

}  // namespace server
