// Known-answer tests for auth/signature.hpp (test-vectors.md §1, §2, §3, §5, §7).
#include "auth/signature.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace {

// Credential sets from test-vectors.md.
constexpr std::string_view p_key = "278d425bdf160c739803";
constexpr std::string_view p_secret = "7ad3773142a6692b25b8";
constexpr std::string_view s_secret = "tofu";

struct ChannelCase {
  const char* name;
  std::string_view app_key;
  std::string_view secret;
  std::string_view socket_id;
  std::string_view channel;
  std::string_view channel_data;
  std::string_view string_to_sign;
  std::string_view auth;
};

// §1 and §2: every channel vector, signed the way the server verifies it.
const ChannelCase channel_cases[] = {
    {"1a private, Pusher docs", p_key, p_secret, "1234.1234", "private-foobar", "",
     "1234.1234:private-foobar",
     "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
    {"1b private, SDK 123.456", "aaaa", s_secret, "123.456", "test", "", "123.456:test",
     "aaaa:efa6cf7644a0b35cba36aa0f776f3cbf7bb60e95ea2696bde1dbe8403b61bd7c"},
    {"1b private, SDK 321.654", "aaaa", s_secret, "321.654", "test", "", "321.654:test",
     "aaaa:f6ecb0a17d3e4f68aca28f1673197a7608587c09deb0208faa4b5519aee0a777"},
    {"1c encrypted, signed like private", "f00d", s_secret, "123.456", "private-encrypted-bla", "",
     "123.456:private-encrypted-bla",
     "f00d:43d808e37d261f4e02402a739649ba29a6854cb978efdbc92892cd744c567030"},
    {"2a presence, string user_id", p_key, p_secret, "1234.1234", "presence-foobar",
     R"({"user_id":"10","user_info":{"name":"Mr. Channels"}})",
     R"(1234.1234:presence-foobar:{"user_id":"10","user_info":{"name":"Mr. Channels"}})",
     "278d425bdf160c739803:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800"},
    {"2b presence, numeric user_id", p_key, p_secret, "1234.1234", "presence-foobar",
     R"({"user_id":10,"user_info":{"name":"Mr. Channels"}})",
     R"(1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Channels"}})",
     "278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"},
    {"2c signing primitive with channel_data on a non-presence name", "aaaa", s_secret, "123.456",
     "test", R"({"foo":"bar"})", R"(123.456:test:{"foo":"bar"})",
     "aaaa:f41faf9ead2ea76772cc6b1168363057459f02499ae4d92e88229dc7f4efa2d4"},
};

}  // namespace

TEST_CASE("auth: channel_string_to_sign appends channel_data only when non-empty") {
  CHECK(auth::channel_string_to_sign("1.2", "private-a", "") == "1.2:private-a");
  CHECK(auth::channel_string_to_sign("1.2", "presence-a", "{}") == "1.2:presence-a:{}");
  CHECK(auth::channel_string_to_sign("1.2", "presence-a", ":") == "1.2:presence-a::");
  for (const auto& c : channel_cases) {
    CAPTURE(c.name);
    CHECK(auth::channel_string_to_sign(c.socket_id, c.channel, c.channel_data) == c.string_to_sign);
  }
}

TEST_CASE("auth: sign_channel and verify_channel_auth match test-vectors §1 and §2") {
  for (const auto& c : channel_cases) {
    CAPTURE(c.name);
    CHECK(auth::sign_channel(c.app_key, c.secret, c.socket_id, c.channel, c.channel_data) ==
          c.auth);
    CHECK(auth::verify_channel_auth(c.app_key, c.secret, c.socket_id, c.channel, c.channel_data,
                                    c.auth));
  }
  // The default channel_data is empty.
  CHECK(auth::sign_channel(p_key, p_secret, "1234.1234", "private-foobar") ==
        channel_cases[0].auth);
}

TEST_CASE("auth: verify_channel_auth rejects altered auth strings") {
  const std::string good(channel_cases[0].auth);
  const std::string hex = good.substr(p_key.size() + 1);
  std::string flipped_hex = good;
  flipped_hex.back() = flipped_hex.back() == '4' ? '5' : '4';
  std::string upper = good;
  for (char& ch : upper) {
    if (ch >= 'a' && ch <= 'f') ch = static_cast<char>(ch - 'a' + 'A');
  }
  struct Case {
    const char* name;
    std::string auth;
  };
  const Case cases[] = {
      {"empty", ""},
      {"hex only, no key", hex},
      {"colon and hex only", ":" + hex},
      {"wrong key prefix", "278d425bdf160c739804:" + hex},
      {"key only", std::string(p_key) + ":"},
      {"last hex digit changed", flipped_hex},
      {"uppercase hex", upper},
      {"truncated", good.substr(0, good.size() - 1)},
      {"trailing character", good + "0"},
      {"leading space", " " + good},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK_FALSE(
        auth::verify_channel_auth(p_key, p_secret, "1234.1234", "private-foobar", "", c.auth));
  }
  // The right auth for other inputs does not carry over.
  CHECK_FALSE(auth::verify_channel_auth(p_key, p_secret, "1234.1235", "private-foobar", "", good));
  CHECK_FALSE(auth::verify_channel_auth(p_key, p_secret, "1234.1234", "private-foobaz", "", good));
  CHECK_FALSE(auth::verify_channel_auth(p_key, "7ad3773142a6692b25b9", "1234.1234",
                                        "private-foobar", "", good));
}

TEST_CASE("auth: presence auth depends on the exact channel_data bytes") {
  const ChannelCase& c = channel_cases[4];  // 2a
  CHECK_FALSE(auth::verify_channel_auth(c.app_key, c.secret, c.socket_id, c.channel, "", c.auth));
  CHECK_FALSE(auth::verify_channel_auth(c.app_key, c.secret, c.socket_id, c.channel,
                                        R"({"user_id":"10","user_info":{"name":"Mr. Channels"}} )",
                                        c.auth));
  CHECK_FALSE(auth::verify_channel_auth(c.app_key, c.secret, c.socket_id, c.channel,
                                        channel_cases[5].channel_data, c.auth));
}

TEST_CASE("auth: channel_data is not signed on non-presence channels (Sockudo)") {
  SUBCASE("2c: an auth that signed channel_data fails when the server passes none") {
    const ChannelCase& c = channel_cases[6];
    CHECK_FALSE(auth::verify_channel_auth(c.app_key, c.secret, c.socket_id, c.channel, "", c.auth));
  }
  SUBCASE("1c: the SDK test's channel_data \"foo\" signature is not accepted") {
    const std::string sdk_auth =
        auth::sign_channel("f00d", s_secret, "123.456", "private-encrypted-bla", R"("foo")");
    // test-vectors §1c quotes the prefix 962c48b7...; the rest was computed with Python hmac.
    CHECK(sdk_auth.rfind("f00d:962c48b7", 0) == 0);
    CHECK(sdk_auth == "f00d:962c48b78bf93d98ff4c92ee7dff04865821455b7b401e9d60a9e0a90af2c105");
    CHECK_FALSE(auth::verify_channel_auth("f00d", s_secret, "123.456", "private-encrypted-bla", "",
                                          sdk_auth));
  }
}

TEST_CASE("auth: sign_user and verify_user_auth match test-vectors §3") {
  struct Case {
    const char* name;
    std::string_view app_key;
    std::string_view secret;
    std::string_view socket_id;
    std::string_view user_data;
    std::string_view string_to_sign;
    std::string_view auth;
  };
  const Case cases[] = {
      {"3a Pusher docs", p_key, p_secret, "1234.1234", R"({"id":"12345"})",
       R"(1234.1234::user::{"id":"12345"})",
       "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"},
      {"3b SDK 45678", "aaaa", s_secret, "123.456", R"({"id":"45678"})",
       R"(123.456::user::{"id":"45678"})",
       "aaaa:f4b1fdeea7c93e32648c7230e32b172057c5623cace6cfce791c6e7035e0babd"},
      {"3b SDK 55555", "aaaa", s_secret, "123.456", R"({"id":"55555","user_name":"test"})",
       R"(123.456::user::{"id":"55555","user_name":"test"})",
       "aaaa:b8a9f173455903792ae2b788add0c4c78ad7372b3ae7fb5769479276a1993743"},
      // {"id":"ą§¶™€łü€ß£"} as explicit UTF-8 bytes, signed as they are (not \u-escaped).
      {"3b SDK UTF-8", "aaaa", s_secret, "1.1",
       "{\"id\":\"\xc4\x85\xc2\xa7\xc2\xb6\xe2\x84\xa2\xe2\x82\xac\xc5\x82\xc3\xbc\xe2\x82\xac\xc3"
       "\x9f\xc2\xa3\"}",
       "1.1::user::{\"id\":\"\xc4\x85\xc2\xa7\xc2\xb6\xe2\x84\xa2\xe2\x82\xac\xc5\x82\xc3\xbc\xe2"
       "\x82\xac\xc3\x9f\xc2\xa3\"}",
       "aaaa:620494cee53d6c568b49598313194088afda37218f0d059af03c0c898ed61ff4"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(auth::user_string_to_sign(c.socket_id, c.user_data) == c.string_to_sign);
    CHECK(auth::sign_user(c.app_key, c.secret, c.socket_id, c.user_data) == c.auth);
    CHECK(auth::verify_user_auth(c.app_key, c.secret, c.socket_id, c.user_data, c.auth));
  }
  // The UTF-8 user data is 23 bytes of non-ASCII text plus the JSON around it.
  CHECK(std::string_view(cases[3].user_data).size() == 7 + 23 + 2);
}

TEST_CASE("auth: verify_user_auth rejects altered auth strings") {
  constexpr std::string_view good =
      "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba";
  constexpr std::string_view user_data = R"({"id":"12345"})";
  const std::string hex(good.substr(p_key.size() + 1));
  const std::string bad_auths[] = {
      "",
      hex,
      ":" + hex,
      "other:" + hex,  // stricter than Sockudo: the key part is checked too
      std::string(good.substr(0, good.size() - 1)),
      std::string(good) + "a",
  };
  for (const auto& bad : bad_auths) {
    CAPTURE(bad);
    CHECK_FALSE(auth::verify_user_auth(p_key, p_secret, "1234.1234", user_data, bad));
  }
  CHECK_FALSE(auth::verify_user_auth(p_key, p_secret, "1234.1234", R"({"id":"12346"})", good));
  CHECK_FALSE(auth::verify_user_auth(p_key, p_secret, "1234.1235", user_data, good));
  // A channel signature for the same socket is not a user signature.
  CHECK_FALSE(auth::verify_user_auth(p_key, p_secret, "1234.1234", user_data,
                                     auth::sign_channel(p_key, p_secret, "1234.1234", user_data)));
}

TEST_CASE("auth: webhook_signature matches test-vectors §5") {
  struct Case {
    const char* name;
    std::string_view secret;
    std::string_view body;
    std::string_view signature;
  };
  const Case cases[] = {
      {"5a SDK", s_secret,
       R"({"time_ms":1403175510755,"events":[{"channel":"test_channel","name":"channel_vacated"}]})",
       "c17257e92037cd7de407ebc1ed174ceb7b2e518db127f44411b9ffc4f5b28cc5"},
      {"5b Pusher sample body", p_secret,
       R"({"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]})",
       "709fdb84c03664445f7698120b0edf0acc1ab1c8c6e93a0368c61841d6b998aa"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(auth::webhook_signature(c.secret, c.body) == c.signature);
    // The raw bytes matter: a trailing newline changes the signature.
    CHECK(auth::webhook_signature(c.secret, std::string(c.body) + "\n") != c.signature);
  }
}

TEST_CASE("auth: is_valid_socket_id accepts only digits.digits within range (§7)") {
  struct Case {
    std::string_view socket_id;
    bool valid;
  };
  const Case cases[] = {
      // test-vectors §7
      {"1234.1234", true},
      {"0.0", true},
      {"10000000000.10000000000", true},
      {"1.1:", false},
      {":1.1", false},
      {"1234", false},
      {"a.b", false},
      // range limits and overflow
      {"10000000001.1", false},
      {"1.10000000001", false},
      {"4817263544.9034417723", true},
      {"99999999999999999999999999.1", false},
      {"18446744073709551617.1", false},
      {"00000000000000000000010000000000.0", true},  // leading zeros: the regex allows them
      // shape
      {"", false},
      {".", false},
      {"1.", false},
      {".1", false},
      {"1..1", false},
      {"1.1.1", false},
      {"+1.1", false},
      {"-1.1", false},
      {" 1.1", false},
      {"1.1 ", false},
      {"1.1\n", false},
      {"1,1", false},
      {std::string_view("1.1\0", 4), false},
      {"\xd9\xa1.\xd9\xa1", false},  // Arabic-Indic digits are not \d here
  };
  for (const auto& c : cases) {
    CAPTURE(c.socket_id);
    CHECK(auth::is_valid_socket_id(c.socket_id) == c.valid);
  }
}
