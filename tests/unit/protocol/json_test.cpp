#include "protocol/json.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "protocol/percent.hpp"

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

TEST_CASE("protocol: is_json_number accepts exactly one JSON number token") {
  for (const char* yes :
       {"0", "42", "-7", "1.5", "-0.25e-3", "4.20e1", "1E+9", "12345678901234567890"}) {
    CAPTURE(yes);
    CHECK(protocol::is_json_number(yes));
  }
  for (const char* no : {"", "-", "01", "+1", "1.", ".5", "1e", "1e+", " 1", "1 ", "0x10", "abc",
                         "42a", "NaN", "--1"}) {
    CAPTURE(no);
    CHECK_FALSE(protocol::is_json_number(no));
  }
}

TEST_CASE("protocol: append_user_id writes a numeric id as its token, others as strings") {
  std::string out;
  protocol::append_user_id(out, "42", true);
  out += ',';
  protocol::append_user_id(out, "42", false);
  out += ',';
  protocol::append_user_id(out, "a\"b", false);
  out += ',';
  protocol::append_user_id(out, "", true);  // never produced by the parser: stays valid JSON
  CHECK(out == R"(42,"42","a\"b","")");
}

TEST_CASE("protocol: percent_decode decodes %XX of either case and keeps anything else") {
  CHECK(protocol::percent_decode("presence-a%2Fb") == "presence-a/b");
  CHECK(protocol::percent_decode("%e2%82%ac%E2%82%AC") == "\xe2\x82\xac\xe2\x82\xac");
  CHECK(protocol::percent_decode("a+b") == "a+b");  // not the query-string convention
  CHECK(protocol::percent_decode("100%") == "100%");
  CHECK(protocol::percent_decode("%4") == "%4");
  CHECK(protocol::percent_decode("%zz%41") == "%zzA");
  CHECK(protocol::percent_decode("") == "");
}
