// Tests for auth/api_request.hpp: test-vectors.md §4 (4a-4f) and protocol.md §9.1 rules.
#include "auth/api_request.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/crypto.hpp"

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view p_key = "278d425bdf160c739803";
constexpr std::string_view p_secret = "7ad3773142a6692b25b8";
constexpr std::int64_t p_timestamp = 1353088179;
constexpr std::string_view events_body =
    R"({"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"})";

struct ApiCase {
  const char* name;
  std::string_view app_key;
  std::string_view secret;
  std::string_view method;
  std::string_view path;
  std::string_view body;
  std::int64_t timestamp;
  Params extra;
  std::string_view string_to_sign;
  std::string_view signature;
  std::string_view query;  // what build_signed_query produces (an SDK's query string)
};

const std::vector<ApiCase>& api_cases() {
  static const std::vector<ApiCase> cases = {
      {"4a POST /events (Pusher docs)",
       p_key,
       p_secret,
       "POST",
       "/apps/3/events",
       events_body,
       p_timestamp,
       {},
       "POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_"
       "version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f",
       "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
       "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5="
       "ec365a775a4cd0599faeb73354201b6f&auth_signature="
       "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"},
      {"4b GET /channels with extra params",
       p_key,
       p_secret,
       "GET",
       "/apps/3/channels",
       "",
       p_timestamp,
       {{"filter_by_prefix", "presence-"}, {"info", "user_count"}},
       "GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_"
       "version=1.0&filter_by_prefix=presence-&info=user_count",
       "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291",
       "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_"
       "prefix=presence-&info=user_count&auth_signature="
       "16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"},
      {"4c GET /channels/{name} with a comma",
       p_key,
       p_secret,
       "GET",
       "/apps/3/channels/presence-foobar",
       "",
       p_timestamp,
       {{"info", "user_count,subscription_count"}},
       "GET\n/apps/3/channels/presence-foobar\nauth_key=278d425bdf160c739803&auth_timestamp="
       "1353088179&auth_version=1.0&info=user_count,subscription_count",
       "377ee9260ea002a70c0d40cd887d55cb36db9f7f821297f5efacbcce66be356d",
       "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&info=user_"
       "count%2Csubscription_count&auth_signature="
       "377ee9260ea002a70c0d40cd887d55cb36db9f7f821297f5efacbcce66be356d"},
      {"4d GET /channels/{name}/users",
       p_key,
       p_secret,
       "GET",
       "/apps/3/channels/presence-foobar/users",
       "",
       p_timestamp,
       {},
       "GET\n/apps/3/channels/presence-foobar/users\nauth_key=278d425bdf160c739803&auth_"
       "timestamp=1353088179&auth_version=1.0",
       "5567dd30e7f8575e66be615d2aac3f608a0c311c31ddab8513a278b022e9597e",
       "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&auth_signature="
       "5567dd30e7f8575e66be615d2aac3f608a0c311c31ddab8513a278b022e9597e"},
      {"4e POST terminate_connections with {}",
       p_key,
       p_secret,
       "POST",
       "/apps/3/users/12345/terminate_connections",
       "{}",
       p_timestamp,
       {},
       "POST\n/apps/3/users/12345/terminate_connections\nauth_key=278d425bdf160c739803&auth_"
       "timestamp=1353088179&auth_version=1.0&body_md5=99914b932bd37a50b983c5e7c90ae93b",
       "01fa634edeb0cae84115307cad5c23f65a46cd286461b1c89637a3b5871a8f0e",
       "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5="
       "99914b932bd37a50b983c5e7c90ae93b&auth_signature="
       "01fa634edeb0cae84115307cad5c23f65a46cd286461b1c89637a3b5871a8f0e"},
      {"4f SDK key sorting with a numeric value",
       "f00d",
       "tofu",
       "GET",
       "/event",
       "",
       1234567890,
       {{"foo", "bar"}, {"baz", "123454321"}},
       "GET\n/event\nauth_key=f00d&auth_timestamp=1234567890&auth_version=1.0&baz=123454321&foo="
       "bar",
       "d8bdbd31911fb7400a14fbd36fd7de053494725b64400ae5856deafe304b34a9",
       "auth_key=f00d&auth_timestamp=1234567890&auth_version=1.0&baz=123454321&foo=bar&auth_"
       "signature=d8bdbd31911fb7400a14fbd36fd7de053494725b64400ae5856deafe304b34a9"},
  };
  return cases;
}

const ApiCase& api_case(std::size_t index) {
  return api_cases().at(index);
}

// The 4a request as the server receives it.
constexpr std::string_view query_4a =
    "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5="
    "ec365a775a4cd0599faeb73354201b6f&auth_signature="
    "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c";

auth::ApiAuthError verify_4a(std::string_view query, std::string_view body, std::int64_t now) {
  return auth::verify_api_request("POST", "/apps/3/events", auth::parse_query(query), body,
                                  p_secret, now);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// parse_query
// ---------------------------------------------------------------------------------------------

TEST_CASE("auth: parse_query decodes, lowercases and keeps the last duplicate") {
  struct Case {
    const char* name;
    std::string_view raw;
    std::vector<std::pair<std::string, std::string>> expected;  // sorted by key
  };
  const Case cases[] = {
      {"empty query", "", {}},
      {"only separators", "&&&", {}},
      {"simple pairs, sorted", "b=2&a=1", {{"a", "1"}, {"b", "2"}}},
      {"empty pieces tolerated", "&a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
      {"keys lowercased", "Auth_Key=K&INFO=x", {{"auth_key", "K"}, {"info", "x"}}},
      {"encoded key lowercased after decoding", "%41UTH_key=v", {{"auth_key", "v"}}},
      {"%2C decoded",
       "info=user_count%2Csubscription_count",
       {{"info", "user_count,subscription_count"}}},
      {"lowercase %2c decoded", "info=a%2cb", {{"info", "a,b"}}},
      {"plus is a space", "q=a+b", {{"q", "a b"}}},
      {"%2B is a plus", "q=a%2Bb", {{"q", "a+b"}}},
      {"encoded = and & in a value", "q=a%3Db%26c", {{"q", "a=b&c"}}},
      {"only the first = splits", "q=a=b", {{"q", "a=b"}}},
      {"key without =", "flag&a=1", {{"a", "1"}, {"flag", ""}}},
      {"empty value", "a=", {{"a", ""}}},
      {"empty key", "=v", {{"", "v"}}},
      {"last duplicate wins", "a=1&a=2&a=3", {{"a", "3"}}},
      {"duplicates across case", "A=1&a=2", {{"a", "2"}}},
      {"invalid escape kept literally", "q=%zz", {{"q", "%zz"}}},
      {"truncated escape kept literally", "q=%4", {{"q", "%4"}}},
      {"lone percent kept literally", "q=%", {{"q", "%"}}},
      {"half-valid escape kept literally", "q=%4g1", {{"q", "%4g1"}}},
      {"UTF-8 escapes become bytes", "q=%C4%85", {{"q", "\xc4\x85"}}},
      {"value case preserved", "q=AbC", {{"q", "AbC"}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auth::QueryParams params = auth::parse_query(c.raw);
    const std::vector<std::pair<std::string, std::string>> actual(params.values.begin(),
                                                                  params.values.end());
    CHECK(actual == c.expected);
  }
}

TEST_CASE("auth: QueryParams::get returns the value or nullptr") {
  const auth::QueryParams params = auth::parse_query("Auth_Key=abc&empty=");
  const std::string* key = params.get("auth_key");
  REQUIRE(key != nullptr);
  CHECK(*key == "abc");
  const std::string* empty = params.get("empty");
  REQUIRE(empty != nullptr);
  CHECK(empty->empty());
  CHECK(params.get("missing") == nullptr);
  CHECK(params.get("Auth_Key") == nullptr);  // lookups are exact; stored keys are lowercase
}

// ---------------------------------------------------------------------------------------------
// Known answers (test-vectors §4)
// ---------------------------------------------------------------------------------------------

TEST_CASE("auth: api_string_to_sign and sign_api_request match test-vectors 4a-4f") {
  for (const auto& c : api_cases()) {
    CAPTURE(c.name);
    // Parse what the SDK sends; the signature itself is excluded from the string to sign.
    const auth::QueryParams params = auth::parse_query(c.query);
    CHECK(auth::api_string_to_sign(c.method, c.path, params) == c.string_to_sign);
    CHECK(auth::sign_api_request(c.secret, c.method, c.path, params) == c.signature);
    const std::string* sent = params.get("auth_signature");
    REQUIRE(sent != nullptr);
    CHECK(*sent == c.signature);
  }
}

TEST_CASE("auth: build_signed_query produces the SDK query for test-vectors 4a-4f") {
  for (const auto& c : api_cases()) {
    CAPTURE(c.name);
    CHECK(auth::build_signed_query(c.app_key, c.secret, c.method, c.path, c.body, c.timestamp,
                                   c.extra) == c.query);
  }
}

TEST_CASE("auth: verify_api_request accepts test-vectors 4a-4f at their timestamp") {
  for (const auto& c : api_cases()) {
    CAPTURE(c.name);
    CHECK(auth::verify_api_request(c.method, c.path, auth::parse_query(c.query), c.body, c.secret,
                                   c.timestamp) == auth::ApiAuthError::none);
  }
}

TEST_CASE("auth: 4c signs the decoded value whether the comma is sent as %2C or literally") {
  const ApiCase& c = api_case(2);
  const std::string_view encoded =
      "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&info=user_"
      "count%2Csubscription_count&auth_signature="
      "377ee9260ea002a70c0d40cd887d55cb36db9f7f821297f5efacbcce66be356d";
  const std::string_view literal =
      "info=user_count,subscription_count&auth_key=278d425bdf160c739803&auth_timestamp="
      "1353088179&auth_version=1.0&auth_signature="
      "377ee9260ea002a70c0d40cd887d55cb36db9f7f821297f5efacbcce66be356d";
  for (const std::string_view raw : {encoded, literal}) {
    CAPTURE(raw);
    const auth::QueryParams params = auth::parse_query(raw);
    CHECK(auth::api_string_to_sign("GET", c.path, params) == c.string_to_sign);
    CHECK(auth::verify_api_request("GET", c.path, params, "", p_secret, p_timestamp) ==
          auth::ApiAuthError::none);
  }
}

TEST_CASE("auth: api_string_to_sign uppercases the method and keeps the path as received") {
  const auth::QueryParams params = auth::parse_query("b=2&a=x%20y&auth_signature=zzz");
  CHECK(auth::api_string_to_sign("post", "/apps/3/channels/a%20b", params) ==
        "POST\n/apps/3/channels/a%20b\na=x y&b=2");
  CHECK(auth::api_string_to_sign("GET", "/p", auth::QueryParams{}) == "GET\n/p\n");
}

// ---------------------------------------------------------------------------------------------
// verify_api_request: timestamp window
// ---------------------------------------------------------------------------------------------

TEST_CASE("auth: verify_api_request accepts 4a within +/-600 s and rejects at +/-601 s") {
  struct Case {
    std::int64_t now_offset;
    auth::ApiAuthError expected;
  };
  const Case cases[] = {
      {0, auth::ApiAuthError::none},
      {600, auth::ApiAuthError::none},
      {-600, auth::ApiAuthError::none},
      {601, auth::ApiAuthError::timestamp_expired},
      {-601, auth::ApiAuthError::timestamp_expired},
      {86400, auth::ApiAuthError::timestamp_expired},
  };
  for (const auto& c : cases) {
    CAPTURE(c.now_offset);
    CHECK(verify_4a(query_4a, events_body, p_timestamp + c.now_offset) == c.expected);
  }
}

TEST_CASE("auth: verify_api_request honours a custom window") {
  const auth::QueryParams params = auth::parse_query(query_4a);
  CHECK(auth::verify_api_request("POST", "/apps/3/events", params, events_body, p_secret,
                                 p_timestamp + 30, 30) == auth::ApiAuthError::none);
  CHECK(auth::verify_api_request("POST", "/apps/3/events", params, events_body, p_secret,
                                 p_timestamp + 31, 30) == auth::ApiAuthError::timestamp_expired);
  CHECK(auth::verify_api_request("POST", "/apps/3/events", params, events_body, p_secret,
                                 p_timestamp, 0) == auth::ApiAuthError::none);
  CHECK(auth::verify_api_request("POST", "/apps/3/events", params, events_body, p_secret,
                                 p_timestamp, -1) == auth::ApiAuthError::timestamp_expired);
}

TEST_CASE("auth: verify_api_request checks the timestamp's presence and format first") {
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
  struct Case {
    const char* name;
    std::string_view query;
    std::int64_t now;
    auth::ApiAuthError expected;
  };
  const Case cases[] = {
      {"missing (and everything else missing too)", "", p_timestamp,
       auth::ApiAuthError::timestamp_missing},
      {"missing, other params present", "auth_key=k&auth_signature=x", p_timestamp,
       auth::ApiAuthError::timestamp_missing},
      {"empty", "auth_timestamp=", p_timestamp, auth::ApiAuthError::timestamp_invalid},
      {"letters", "auth_timestamp=abc", p_timestamp, auth::ApiAuthError::timestamp_invalid},
      {"decimal", "auth_timestamp=1353088179.5", p_timestamp,
       auth::ApiAuthError::timestamp_invalid},
      {"exponent", "auth_timestamp=1e9", p_timestamp, auth::ApiAuthError::timestamp_invalid},
      {"leading space", "auth_timestamp=+1353088179", p_timestamp,
       auth::ApiAuthError::timestamp_invalid},  // '+' decodes to a space
      {"explicit plus sign", "auth_timestamp=%2B1353088179", p_timestamp,
       auth::ApiAuthError::timestamp_invalid},
      {"trailing garbage", "auth_timestamp=1353088179x", p_timestamp,
       auth::ApiAuthError::timestamp_invalid},
      {"overflows int64", "auth_timestamp=99999999999999999999", p_timestamp,
       auth::ApiAuthError::timestamp_invalid},
      {"int64 min, now int64 max (no overflow)", "auth_timestamp=-9223372036854775808", max,
       auth::ApiAuthError::timestamp_expired},
      {"int64 max, now int64 min (no overflow)", "auth_timestamp=9223372036854775807", min,
       auth::ApiAuthError::timestamp_expired},
      {"negative", "auth_timestamp=-5", p_timestamp, auth::ApiAuthError::timestamp_expired},
      {"milliseconds instead of seconds", "auth_timestamp=1353088179000", p_timestamp,
       auth::ApiAuthError::timestamp_expired},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(auth::verify_api_request("POST", "/apps/3/events", auth::parse_query(c.query),
                                   events_body, p_secret, c.now) == c.expected);
  }
}

// ---------------------------------------------------------------------------------------------
// verify_api_request: body_md5 and signature
// ---------------------------------------------------------------------------------------------

TEST_CASE("auth: verify_api_request enforces the body_md5 rules") {
  SUBCASE("POST without body_md5 is rejected, even with an empty body") {
    const std::string query =
        "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_"
        "version=1.0&auth_signature=whatever";
    CHECK(auth::verify_api_request("POST", "/apps/3/events", auth::parse_query(query), events_body,
                                   p_secret, p_timestamp) == auth::ApiAuthError::body_md5_missing);
    CHECK(auth::verify_api_request("POST", "/apps/3/events", auth::parse_query(query), "", p_secret,
                                   p_timestamp) == auth::ApiAuthError::body_md5_missing);
  }
  SUBCASE("POST with an empty body and its MD5 is accepted") {
    const std::string query =
        auth::build_signed_query(p_key, p_secret, "POST", "/apps/3/events", "", p_timestamp);
    CHECK(query.find("body_md5=d41d8cd98f00b204e9800998ecf8427e") != std::string::npos);
    CHECK(auth::verify_api_request("POST", "/apps/3/events", auth::parse_query(query), "", p_secret,
                                   p_timestamp) == auth::ApiAuthError::none);
  }
  SUBCASE("GET with body_md5 is rejected even when correctly signed") {
    const std::string query =
        auth::build_signed_query(p_key, p_secret, "GET", "/apps/3/channels", "", p_timestamp,
                                 {{"body_md5", "d41d8cd98f00b204e9800998ecf8427e"}});
    CHECK(auth::verify_api_request("GET", "/apps/3/channels", auth::parse_query(query), "",
                                   p_secret, p_timestamp) == auth::ApiAuthError::body_md5_on_get);
  }
  SUBCASE("4a with a different body is a body_md5 mismatch") {
    CHECK(verify_4a(query_4a, R"({"name":"foo","channels":["project-4"],"data":"{}"})",
                    p_timestamp) == auth::ApiAuthError::body_md5_mismatch);
    CHECK(verify_4a(query_4a, "", p_timestamp) == auth::ApiAuthError::body_md5_mismatch);
  }
  SUBCASE("uppercase body_md5 hex does not match") {
    std::string query(query_4a);
    const std::size_t at = query.find("ec365a775a4cd0599faeb73354201b6f");
    REQUIRE(at != std::string::npos);
    query.replace(at, 32, "EC365A775A4CD0599FAEB73354201B6F");
    CHECK(verify_4a(query, events_body, p_timestamp) == auth::ApiAuthError::body_md5_mismatch);
  }
  SUBCASE("other methods: body_md5 optional, checked when present") {
    const std::string without = auth::build_signed_query(p_key, p_secret, "DELETE", "/p", "",
                                                         p_timestamp, {{"body_md5", ""}});
    // An explicit empty body_md5 is present and wrong.
    CHECK(auth::verify_api_request("DELETE", "/p", auth::parse_query(without), "", p_secret,
                                   p_timestamp) == auth::ApiAuthError::body_md5_mismatch);
    auth::QueryParams no_md5 = auth::parse_query(
        auth::build_signed_query(p_key, p_secret, "DELETE", "/p", "", p_timestamp));
    no_md5.values.erase("body_md5");
    no_md5.values.erase("auth_signature");
    no_md5.values.insert_or_assign("auth_signature",
                                   auth::sign_api_request(p_secret, "DELETE", "/p", no_md5));
    CHECK(auth::verify_api_request("DELETE", "/p", no_md5, "", p_secret, p_timestamp) ==
          auth::ApiAuthError::none);
  }
}

TEST_CASE("auth: verify_api_request rejects missing and tampered signatures") {
  const std::string signature = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c";
  std::string last_changed = signature;
  last_changed.back() = 'd';
  std::string first_changed = signature;
  first_changed.front() = 'e';
  std::string upper = signature;
  for (char& ch : upper) {
    if (ch >= 'a' && ch <= 'f') ch = static_cast<char>(ch - 'a' + 'A');
  }
  const std::string base =
      "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5="
      "ec365a775a4cd0599faeb73354201b6f";
  struct Case {
    const char* name;
    std::string query;
    auth::ApiAuthError expected;
  };
  const Case cases[] = {
      {"missing", base, auth::ApiAuthError::signature_missing},
      {"empty", base + "&auth_signature=", auth::ApiAuthError::signature_invalid},
      {"last hex digit changed", base + "&auth_signature=" + last_changed,
       auth::ApiAuthError::signature_invalid},
      {"first hex digit changed", base + "&auth_signature=" + first_changed,
       auth::ApiAuthError::signature_invalid},
      {"uppercase hex", base + "&auth_signature=" + upper, auth::ApiAuthError::signature_invalid},
      {"truncated", base + "&auth_signature=" + signature.substr(0, 63),
       auth::ApiAuthError::signature_invalid},
      {"extra character", base + "&auth_signature=" + signature + "0",
       auth::ApiAuthError::signature_invalid},
      {"extra unsigned param", base + "&info=x&auth_signature=" + signature,
       auth::ApiAuthError::signature_invalid},
      {"auth_version changed",
       "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_"
       "version=1.1&body_md5=ec365a775a4cd0599faeb73354201b6f&auth_"
       "signature=" +
           signature,
       auth::ApiAuthError::signature_invalid},
      {"auth_key changed",
       "auth_key=278d425bdf160c739804&auth_timestamp=1353088179&auth_"
       "version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f&auth_"
       "signature=" +
           signature,
       auth::ApiAuthError::signature_invalid},
      {"signature first, then the params", "auth_signature=" + signature + "&" + base,
       auth::ApiAuthError::none},
      {"duplicate signature, good one last",
       base + "&auth_signature=" + upper + "&auth_signature=" + signature,
       auth::ApiAuthError::none},
      {"duplicate signature, bad one last",
       base + "&auth_signature=" + signature + "&auth_signature=" + upper,
       auth::ApiAuthError::signature_invalid},
      {"uppercase parameter names sign like lowercase",
       "AUTH_KEY=278d425bdf160c739803&Auth_Timestamp=1353088179&AUTH_VERSION=1.0&BODY_MD5="
       "ec365a775a4cd0599faeb73354201b6f&AUTH_SIGNATURE=" +
           signature,
       auth::ApiAuthError::none},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(verify_4a(c.query, events_body, p_timestamp) == c.expected);
  }
  // Wrong secret, wrong path, wrong method.
  const auth::QueryParams params = auth::parse_query(query_4a);
  CHECK(auth::verify_api_request("POST", "/apps/3/events", params, events_body,
                                 "7ad3773142a6692b25b9",
                                 p_timestamp) == auth::ApiAuthError::signature_invalid);
  CHECK(auth::verify_api_request("POST", "/apps/4/events", params, events_body, p_secret,
                                 p_timestamp) == auth::ApiAuthError::signature_invalid);
  CHECK(auth::verify_api_request("PUT", "/apps/3/events", params, events_body, p_secret,
                                 p_timestamp) == auth::ApiAuthError::signature_invalid);
  // The method is case-insensitive.
  CHECK(auth::verify_api_request("post", "/apps/3/events", params, events_body, p_secret,
                                 p_timestamp) == auth::ApiAuthError::none);
}

TEST_CASE("auth: verify_api_request reports the first failing check in Sockudo's order") {
  // Expired timestamp beats a bad body_md5 and a bad signature.
  CHECK(verify_4a("auth_timestamp=1&body_md5=x&auth_signature=y", "", p_timestamp) ==
        auth::ApiAuthError::timestamp_expired);
  // A body_md5 problem beats a missing signature.
  CHECK(verify_4a("auth_timestamp=1353088179&body_md5=x", "", p_timestamp) ==
        auth::ApiAuthError::body_md5_mismatch);
  CHECK(verify_4a("auth_timestamp=1353088179", "", p_timestamp) ==
        auth::ApiAuthError::body_md5_missing);
  CHECK(auth::verify_api_request("GET", "/",
                                 auth::parse_query("auth_timestamp=1353088179&body_md5=x"), "",
                                 p_secret, p_timestamp) == auth::ApiAuthError::body_md5_on_get);
  // Everything else fine, no signature.
  CHECK(verify_4a("auth_timestamp=1353088179&body_md5=ec365a775a4cd0599faeb73354201b6f",
                  events_body, p_timestamp) == auth::ApiAuthError::signature_missing);
}

TEST_CASE("auth: ApiAuthError messages use Sockudo's texts") {
  struct Case {
    auth::ApiAuthError error;
    std::string_view text;
  };
  const Case cases[] = {
      {auth::ApiAuthError::none, "OK"},
      {auth::ApiAuthError::timestamp_missing, "auth_timestamp is missing"},
      {auth::ApiAuthError::timestamp_invalid, "Invalid auth_timestamp format"},
      {auth::ApiAuthError::timestamp_expired, "Timestamp expired or too far in the future"},
      {auth::ApiAuthError::body_md5_missing, "body_md5 is required for POST requests"},
      {auth::ApiAuthError::body_md5_on_get, "body_md5 must not be present for GET requests"},
      {auth::ApiAuthError::body_md5_mismatch, "body_md5 does not match the request body"},
      {auth::ApiAuthError::signature_missing, "auth_signature is missing"},
      {auth::ApiAuthError::signature_invalid, "Invalid API signature"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(auth::message(c.error) == c.text);
  }
  // Codes are stable.
  CHECK(static_cast<int>(auth::ApiAuthError::none) == 0);
  CHECK(static_cast<int>(auth::ApiAuthError::signature_invalid) == 8);
}

// ---------------------------------------------------------------------------------------------
// build_signed_query round trips
// ---------------------------------------------------------------------------------------------

TEST_CASE("auth: build_signed_query round-trips through parse_query and verify_api_request") {
  const std::string body = R"({"name":"ev","channels":["a","b"],"data":"{\"x\":\"ą €\"}"})";
  const std::string query =
      auth::build_signed_query(p_key, p_secret, "POST", "/apps/3/events", body, p_timestamp);
  CHECK(auth::verify_api_request("POST", "/apps/3/events", auth::parse_query(query), body, p_secret,
                                 p_timestamp) == auth::ApiAuthError::none);

  std::string changed = body;
  changed[changed.size() / 2] = changed[changed.size() / 2] == 'x' ? 'y' : 'x';
  CHECK(auth::verify_api_request("POST", "/apps/3/events", auth::parse_query(query), changed,
                                 p_secret, p_timestamp) == auth::ApiAuthError::body_md5_mismatch);
}

TEST_CASE("auth: build_signed_query percent-encodes keys and values") {
  const Params extra = {
      {"info", "user_count,subscription_count"},
      {"filter_by_prefix", "presence-a b+c&d=e/f~g_h.i"},
      {"utf8", "\xc4\x85"},
      {"Mixed_Case", "V"},
      {"auth_signature", "ignored"},
  };
  const std::string query =
      auth::build_signed_query(p_key, p_secret, "GET", "/apps/3/channels", "", p_timestamp, extra);
  CHECK(query.find("info=user_count%2Csubscription_count&") != std::string::npos);
  CHECK(query.find("filter_by_prefix=presence-a%20b%2Bc%26d%3De%2Ff~g_h.i&") != std::string::npos);
  CHECK(query.find("utf8=%C4%85&") != std::string::npos);
  CHECK(query.find("mixed_case=V&") != std::string::npos);
  CHECK(query.find("ignored") == std::string::npos);
  CHECK(query.find("body_md5") == std::string::npos);  // never on GET

  const auth::QueryParams params = auth::parse_query(query);
  REQUIRE(params.get("filter_by_prefix") != nullptr);
  CHECK(*params.get("filter_by_prefix") == "presence-a b+c&d=e/f~g_h.i");
  REQUIRE(params.get("utf8") != nullptr);
  CHECK(*params.get("utf8") == "\xc4\x85");
  CHECK(auth::verify_api_request("GET", "/apps/3/channels", params, "", p_secret, p_timestamp) ==
        auth::ApiAuthError::none);
}

TEST_CASE("auth: build_signed_query lets extra params replace standard ones") {
  const std::string query =
      auth::build_signed_query(p_key, p_secret, "POST", "/apps/3/events", events_body, p_timestamp,
                               {{"auth_version", "2.0"}});
  CHECK(query.find("auth_version=2.0&") != std::string::npos);
  CHECK(query.find("auth_version=1.0") == std::string::npos);
  CHECK(auth::verify_api_request("POST", "/apps/3/events", auth::parse_query(query), events_body,
                                 p_secret, p_timestamp) == auth::ApiAuthError::none);
}
