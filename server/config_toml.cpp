// The TOML side of the config loader: a TOML document (after ${VAR} interpolation) is parsed with
// toml++ and written out as the equivalent JSON text, which then goes through the JSON pipeline,
// so that both formats share one reader, one set of keys and one set of messages.

#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <system_error>

#include "protocol/json.hpp"
#include "server/config_detail.hpp"

namespace server::config_detail {
namespace {

// A TOML float as a JSON number that stays a float (`5.0`, not `5`). TOML's nan and inf have no
// JSON form: refused, naming the key.
void append_json_float(std::string& out, double value, const std::string& path) {
  if (!std::isfinite(value)) {
    fail(path.empty() ? "config" : path, "nan and inf are not valid values");
  }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (result.ec != std::errc()) {
    fail(path, "number cannot be written");  // unreachable: 64 bytes hold any double
  }
  const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  out += text;
  if (text.find_first_of(".eE") == std::string_view::npos) {
    out += ".0";
  }
}

// A TOML date, time or date-time: written as a JSON string of its TOML text (no pushcore option
// takes one; the reader then reports the key with the expected type).
template <typename T>
void append_json_datetime(std::string& out, const T& value) {
  std::ostringstream text;
  text << value;
  protocol::append_json_string(out, text.str());
}

void append_json(std::string& out, const toml::node& node, const std::string& path) {
  switch (node.type()) {
    case toml::node_type::table: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : *node.as_table()) {
        if (!first) out += ',';
        first = false;
        protocol::append_json_string(out, key.str());
        out += ':';
        append_json(out, value, join_path(path, key.str()));
      }
      out += '}';
      break;
    }
    case toml::node_type::array: {
      out += '[';
      std::size_t index = 0;
      for (const toml::node& item : *node.as_array()) {
        if (index > 0) out += ',';
        append_json(out, item, index_path(path, index));
        ++index;
      }
      out += ']';
      break;
    }
    case toml::node_type::string:
      protocol::append_json_string(out, node.as_string()->get());
      break;
    case toml::node_type::integer:
      out += std::to_string(node.as_integer()->get());
      break;
    case toml::node_type::floating_point:
      append_json_float(out, node.as_floating_point()->get(), path);
      break;
    case toml::node_type::boolean:
      out += node.as_boolean()->get() ? "true" : "false";
      break;
    case toml::node_type::date:
      append_json_datetime(out, node.as_date()->get());
      break;
    case toml::node_type::time:
      append_json_datetime(out, node.as_time()->get());
      break;
    case toml::node_type::date_time:
      append_json_datetime(out, node.as_date_time()->get());
      break;
    case toml::node_type::none:
      out += "null";
      break;
  }
}

}  // namespace

std::string toml_to_json(std::string_view toml_text) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    const toml::source_region& where = e.source();
    throw ConfigError("config: invalid TOML (after ${VAR} interpolation) at line " +
                      std::to_string(where.begin.line) + ", column " +
                      std::to_string(where.begin.column) + ": " + std::string(e.description()));
  }
  std::string json;
  json.reserve(toml_text.size() + toml_text.size() / 2);
  append_json(json, root, "");
  return json;
}

}  // namespace server::config_detail
