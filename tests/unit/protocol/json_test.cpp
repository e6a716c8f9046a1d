#include "protocol/json.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace std::string_view_literals;

TEST_CASE("protocol: json_string escapes quotes, backslashes and control characters") {
  struct Row {
    std::string_view input;
    std::string_view expected;
  };
  const Row rows[] = {
      {"", R"("")"},
      {"plain", R"("plain")"},
      {R"(a"b)", R"("a\"b")"},
      {R"(a\b)", R"("a\\b")"},
      {"a/b", R"("a/b")"},  // '/' is not escaped
      {"\b\f\n\r\t", R"("\b\f\n\r\t")"},
      {"\x01\x1f", R"("\u0001\u001f")"},
      {"\0x"sv, R"("\u0000x")"},
      {"\x7f", "\"\x7f\""},                                          // DEL is copied
      {"caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\""},  // raw UTF-8
      {R"({"a":"b"})", R"("{\"a\":\"b\"}")"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.input);
    CHECK(protocol::json_string(row.input) == row.expected);
  }
}

TEST_CASE("protocol: append_json_string appends to existing text") {
  std::string out = "x=";
  protocol::append_json_string(out, "q\"");
  CHECK(out == R"(x="q\"")");
}
