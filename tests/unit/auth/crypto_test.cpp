// Known-answer tests for auth/crypto.hpp (test-vectors.md §4 MD5s, §6, §7; RFC 4231, RFC 4648,
// RFC 6455).
#include "auth/crypto.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <string_view>

namespace {

struct HexCase {
  const char* name;
  std::string key;
  std::string message;
  std::string_view expected;
};

struct DigestCase {
  const char* name;
  std::string_view input;
  std::string_view expected;
};

}  // namespace

TEST_CASE("auth: hmac_sha256_hex matches known answers") {
  const HexCase cases[] = {
      {"empty key and message", "", "",
       "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
      {"RFC 4231 test case 2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"RFC 4231 test case 6 (key longer than block)", std::string(131, '\xaa'),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"test-vectors 1a string", "7ad3773142a6692b25b8", "1234.1234:private-foobar",
       "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string hex = auth::hmac_sha256_hex(c.key, c.message);
    CHECK(hex == c.expected);
    const std::optional<std::string> tried = auth::try_hmac_sha256_hex(c.key, c.message);
    REQUIRE(tried.has_value());
    CHECK(*tried == c.expected);
  }
}

TEST_CASE("auth: hmac_sha256_hex uses every key byte, including NUL") {
  CHECK(auth::hmac_sha256_hex(std::string_view("a\0b", 3), "x") != auth::hmac_sha256_hex("a", "x"));
}

TEST_CASE("auth: hmac_sha256_hex is 64 lowercase hex characters") {
  const std::string hex = auth::hmac_sha256_hex("secret", "message");
  REQUIRE(hex.size() == 64);
  for (const char c : hex) {
    CAPTURE(c);
    CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
  }
}

TEST_CASE("auth: md5_hex matches known answers") {
  const DigestCase cases[] = {
      {"empty body (test-vectors 4e note)", "", "d41d8cd98f00b204e9800998ecf8427e"},
      {"{} body (test-vectors 4e)", "{}", "99914b932bd37a50b983c5e7c90ae93b"},
      {"events body (test-vectors 4a)",
       R"({"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"})",
       "ec365a775a4cd0599faeb73354201b6f"},
      {"abc (RFC 1321)", "abc", "900150983cd24fb0d6963f7d28e17f72"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(auth::md5_hex(c.input) == c.expected);
    const std::optional<std::string> tried = auth::try_md5_hex(c.input);
    REQUIRE(tried.has_value());
    CHECK(*tried == c.expected);
  }
  CHECK(std::string_view(R"({"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"})")
            .size() == 68);
}

TEST_CASE("auth: sha256_base64 matches known answers") {
  const DigestCase cases[] = {
      {"empty", "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
      {"abc", "abc", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
      {"quick brown fox", "The quick brown fox jumps over the lazy dog",
       "16j7swfXgJRpypq8sAguT41WUeRtPNt2LQLQvzfJ5ZI="},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(auth::sha256_base64(c.input) == c.expected);
  }
}

TEST_CASE("auth: base64_encode and base64_decode follow RFC 4648") {
  const DigestCase cases[] = {
      {"empty", "", ""},
      {"f", "f", "Zg=="},
      {"fo", "fo", "Zm8="},
      {"foo", "foo", "Zm9v"},
      {"foob", "foob", "Zm9vYg=="},
      {"fooba", "fooba", "Zm9vYmE="},
      {"foobar", "foobar", "Zm9vYmFy"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(auth::base64_encode(c.input) == c.expected);
    const std::optional<std::string> decoded = auth::base64_decode(c.expected);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == c.input);
  }
}

TEST_CASE("auth: base64 round-trips every byte value") {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t length = 0; length <= bytes.size(); length += 37) {
    CAPTURE(length);
    const std::string_view input(bytes.data(), length);
    const std::optional<std::string> decoded = auth::base64_decode(auth::base64_encode(input));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == input);
  }
  const std::optional<std::string> all = auth::base64_decode(auth::base64_encode(bytes));
  REQUIRE(all.has_value());
  CHECK(*all == bytes);
  CHECK(auth::base64_encode("\xfb\xff") == "+/8=");
}

TEST_CASE("auth: base64_decode accepts unpadded input and rejects malformed input") {
  struct Case {
    std::string_view text;
    std::optional<std::string_view> expected;
  };
  const Case cases[] = {
      {"Zg", "f"},
      {"Zm8", "fo"},
      {"Zm9vYg", "foob"},
      {"+/8=", "\xfb\xff"},
      {"Z", std::nullopt},                           // 4n+1 characters
      {"Zm9vY", std::nullopt},                       // 4n+1 characters
      {"Zg=", std::nullopt},                         // padded but not a whole quad
      {"Zg===", std::nullopt},                       // too much padding
      {"====", std::nullopt},                        // padding only
      {"Zm9=v", std::nullopt},                       // '=' in the middle
      {"Zm=9", std::nullopt},                        // '=' in the middle
      {"Zm9v!", std::nullopt},                       // invalid character
      {" Zg==", std::nullopt},                       // whitespace
      {"Zm9vYg==\n", std::nullopt},                  // trailing newline
      {"-_8=", std::nullopt},                        // URL-safe alphabet
      {std::string_view("Zg\0=", 4), std::nullopt},  // NUL byte
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const std::optional<std::string> decoded = auth::base64_decode(c.text);
    REQUIRE(decoded.has_value() == c.expected.has_value());
    if (c.expected) CHECK(*decoded == *c.expected);
  }
}

TEST_CASE("auth: websocket_accept_key follows RFC 6455") {
  CHECK(auth::websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("auth: constant_time_equal compares whole strings") {
  struct Case {
    std::string_view a;
    std::string_view b;
    bool equal;
  };
  const Case cases[] = {
      // test-vectors §7
      {"k:abc", "k:abc", true},
      {"k:abc", "k:abd", false},
      {"k:abc", "k:ab", false},
      // extra edges
      {"", "", true},
      {"", "k", false},
      {"k:ab", "k:abc", false},
      {"K:abc", "k:abc", false},
      {std::string_view("a\0b", 3), std::string_view("a\0c", 3), false},
      {std::string_view("a\0b", 3), "a", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.a);
    CAPTURE(c.b);
    CHECK(auth::constant_time_equal(c.a, c.b) == c.equal);
    CHECK(auth::constant_time_equal(c.b, c.a) == c.equal);
  }
}

TEST_CASE("auth: encrypted_channel_shared_secret matches test-vectors §6") {
  const std::optional<std::string> master_key =
      auth::base64_decode("zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=");
  REQUIRE(master_key.has_value());
  CHECK(master_key->size() == 32);
  CHECK(auth::encrypted_channel_shared_secret("private-encrypted-bla", *master_key) ==
        "nlr49ISQHz91yS3cy/yWmW8wFMNeTnNL5tNHnbPJcLQ=");
  // Equal to SHA256 over the concatenation.
  CHECK(auth::encrypted_channel_shared_secret("private-encrypted-bla", *master_key) ==
        auth::sha256_base64("private-encrypted-bla" + *master_key));
}
