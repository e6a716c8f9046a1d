#include "protocol/client_message.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using protocol::ClientMessageParser;

namespace {

constexpr std::string_view decode_failed_prefix = "Invalid message format: Decode failed: ";

}  // namespace

TEST_CASE("protocol: parse reads event, channel and raw data") {
  ClientMessageParser parser;
  // test-vectors.md 2a, verbatim.
  const std::string frame =
      R"({"event":"pusher:subscribe","data":{"auth":"278d425bdf160c739803:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800","channel_data":"{\"user_id\":\"10\",\"user_info\":{\"name\":\"Mr. Channels\"}}","channel":"presence-foobar"}})";
  const auto r = parser.parse(frame);
  REQUIRE(r);
  CHECK(r->event == "pusher:subscribe");
  CHECK_FALSE(r->channel.has_value());
  CHECK(
      r->data_raw ==
      R"({"auth":"278d425bdf160c739803:4c6d8fc42a207ba96a0779844171b0bb819d96ffceef9609f5cce596ab17a800","channel_data":"{\"user_id\":\"10\",\"user_info\":{\"name\":\"Mr. Channels\"}}","channel":"presence-foobar"})");
}

TEST_CASE("protocol: parse keeps client-event data byte for byte") {
  ClientMessageParser parser;
  struct Row {
    std::string_view frame;
    std::string_view data_raw;
  };
  const Row rows[] = {
      {R"({"event":"client-x","channel":"private-x","data":{"b":1.50,"a":[1, 2]}})",
       R"({"b":1.50,"a":[1, 2]})"},
      {R"({"event":"client-x","data" :  {"b":1.50,"a":[1, 2]}  ,"channel":"private-x"})",
       R"({"b":1.50,"a":[1, 2]})"},
      {"{ \"data\"\t:\n[ 1e5 , -0.0, \"\\u00e9\" ]\r\n, \"event\":\"client-x\" }",
       "[ 1e5 , -0.0, \"\\u00e9\" ]"},
      {R"({"event":"client-x","data":"a \"quoted\" string"})", R"("a \"quoted\" string")"},
      {R"({"event":"client-x","data":12345678901234567890123})", "12345678901234567890123"},
      {R"({"event":"client-x","data":true})", "true"},
      {R"({"event":"client-x","data":null})", "null"},
      {R"({"event":"client-x","data":{}})", "{}"},
      {"{\"event\":\"client-x\",\"data\":\"caf\xc3\xa9\"}", "\"caf\xc3\xa9\""},
      {R"({"event":"client-x"})", ""},
  };
  for (const auto& row : rows) {
    CAPTURE(row.frame);
    const auto r = parser.parse(row.frame);
    REQUIRE(r);
    CHECK(r->event == "client-x");
    CHECK(r->data_raw == row.data_raw);
  }
}

TEST_CASE("protocol: parse handles channel and escaped keys") {
  ClientMessageParser parser;
  auto r = parser.parse(R"({"event":"client-a","channel":"private-chat","data":{}})");
  REQUIRE(r);
  REQUIRE(r->channel.has_value());
  CHECK(*r->channel == "private-chat");

  r = parser.parse(R"({"event":"client-a","channel":null})");
  REQUIRE(r);
  CHECK_FALSE(r->channel.has_value());

  r = parser.parse(R"({"\u0065vent":"pusher:ping","data":{},"extra":[1,{"x":null}]})");
  REQUIRE(r);
  CHECK(r->event == "pusher:ping");

  r = parser.parse(R"({"event":"client-\u00e9"})");
  REQUIRE(r);
  CHECK(r->event == "client-\xc3\xa9");
}

TEST_CASE("protocol: parse rejects malformed JSON with 4000 Decode failed") {
  ClientMessageParser parser;
  const std::string_view bad[] = {
      "",
      "   ",
      "{",
      "{\"event\":\"x\"",
      "{\"event\" \"x\"}",
      "{\"event\":\"x\",}",
      "{\"event\":\"x\"}}",
      "{\"event\":\"x\"} {}",
      "{\"event\":\"x\"} x",
      "{event:\"x\"}",
      "{'event':'x'}",
      "{\"event\":\"x\\q\"}",
      "{\"event\":\"x\ny\"}",     // raw control character inside a string
      "{\"event\":\"\xff\"}",     // invalid UTF-8
      "{\"event\":\"\\ud800\"}",  // lone surrogate
      "not json",
      // Invalid JSON inside parts that are not otherwise read must be rejected too.
      R"({"event":"client-x","channel":"private-x","data":{"a" 1}})",
      R"({"event":"client-x","channel":"private-x","data":{"a":1,}})",
      R"({"event":"client-x","channel":"private-x","data":[1 2]})",
      R"({"event":"client-x","channel":"private-x","data":[1,]})",
      R"({"event":"client-x","channel":"private-x","data":{"a":tru}})",
      R"({"event":"client-x","channel":"private-x","data":{"a":nul}})",
      R"({"event":"client-x","channel":"private-x","data":{"a":01}})",
      R"({"event":"client-x","channel":"private-x","data":{"a":1.}})",
      R"({"event":"client-x","channel":"private-x","data":{"a":-}})",
      R"({"event":"client-x","channel":"private-x","data":{"a":"\x"}})",
      R"({"event":"client-x","channel":"private-x","data":{"a\q":1}})",
      R"({"event":"client-x","channel":"private-x","data":{"a":[1,2}})",
      R"({"event":"client-x","channel":"private-x","data":{"a":{"b":[]}]}})",
      R"({"event":"client-x","data":1,"other":{"x" 1}})",
      R"({"other":[1 2],"event":"client-x"})",
      "{\"event\":\"client-x\",\"data\":{\"a\":\"\xc3\"}}",
  };
  for (std::string_view text : bad) {
    CAPTURE(text);
    const auto r = parser.parse(text);
    CHECK_FALSE(r);
    CHECK(r.code == 4000);
    CHECK(std::string_view(r.message).starts_with(decode_failed_prefix));
  }
}

TEST_CASE("protocol: parse rejects non-objects, bad channel types and duplicates") {
  ClientMessageParser parser;
  const std::string_view bad[] = {
      "[]",
      "[{\"event\":\"x\"}]",
      "\"pusher:ping\"",
      "5",
      "null",
      "true",
      R"({"event":"client-x","channel":5})",
      R"({"event":"client-x","channel":{"name":"x"}})",
      R"({"event":"a","event":"b"})",
      R"({"event":"a","data":1,"data":2})",
      R"({"event":"a","channel":"x","channel":"y"})",
  };
  for (std::string_view text : bad) {
    CAPTURE(text);
    const auto r = parser.parse(text);
    CHECK_FALSE(r);
    CHECK(r.code == 4000);
    CHECK(std::string_view(r.message).starts_with(decode_failed_prefix));
  }
}

TEST_CASE("protocol: parse requires a string event") {
  ClientMessageParser parser;
  const std::string_view bad[] = {
      "{}",
      R"({"data":{"channel":"x"}})",
      R"({"event":null})",
      R"({"event":5})",
      R"({"event":{"name":"x"}})",
      R"({"Event":"x"})",
  };
  for (std::string_view text : bad) {
    CAPTURE(text);
    const auto r = parser.parse(text);
    CHECK_FALSE(r);
    CHECK(r.code == 4000);
    CHECK(r.message == "Invalid event name: Event name is required");
  }
  // A syntax error wins over a missing event.
  const auto r = parser.parse(R"({"data":{"a" 1}})");
  CHECK(std::string_view(r.message).starts_with(decode_failed_prefix));
}

TEST_CASE("protocol: parse limits nesting depth") {
  ClientMessageParser parser;
  const auto nested = [](int depth) {
    return R"({"event":"client-x","data":)" + std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']') + "}";
  };
  CHECK(parser.parse(nested(protocol::max_json_depth - 1)));
  const auto deep = parser.parse(nested(protocol::max_json_depth + 10));
  CHECK_FALSE(deep);
  CHECK(deep.code == 4000);
}

TEST_CASE("protocol: parser is reusable across messages") {
  ClientMessageParser parser;
  for (int i = 0; i < 3; ++i) {
    const auto bad = parser.parse("{\"event\":");
    CHECK_FALSE(bad);
    const auto good = parser.parse(R"({"event":"pusher:ping","data":{}})");
    REQUIRE(good);
    CHECK(good->event == "pusher:ping");
    CHECK(good->data_raw == "{}");
  }
}

TEST_CASE("protocol: parse_padded parses in place and checks the capacity") {
  ClientMessageParser parser;
  const std::string_view text = R"({"event":"pusher:ping","data":{}})";
  std::string buffer(text);
  buffer.resize(text.size() + protocol::json_padding, '\0');
  const auto r = parser.parse_padded(std::string_view(buffer.data(), text.size()), buffer.size());
  REQUIRE(r);
  CHECK(r->event == "pusher:ping");

  const auto too_small =
      parser.parse_padded(std::string_view(buffer.data(), text.size()), text.size() + 1);
  CHECK_FALSE(too_small);
  CHECK(too_small.code == 4000);
}

// ---- Payload helpers --------------------------------------------------------------------------

TEST_CASE("protocol: parse_subscribe_data accepts object and JSON-string forms") {
  struct Row {
    std::string_view data_raw;
    std::string_view channel;
    std::optional<std::string_view> auth;
    std::optional<std::string_view> channel_data;
  };
  const Row rows[] = {
      {R"({"channel":"my-channel"})", "my-channel", std::nullopt, std::nullopt},
      {R"({"auth":"k:s","channel":"private-orders"})", "private-orders", "k:s", std::nullopt},
      {R"({"auth":"k:s","channel_data":"{\"user_id\":\"10\",\"user_info\":{\"name\":\"Mr. Channels\"}}","channel":"presence-foobar"})",
       "presence-foobar", "k:s", R"({"user_id":"10","user_info":{"name":"Mr. Channels"}})"},
      {R"("{\"channel\":\"my-channel\",\"auth\":\"k:s\"}")", "my-channel", "k:s", std::nullopt},
      {R"({"channel":"x","auth":null,"channel_data":5,"filter":{"a":[1]}})", "x", std::nullopt,
       std::nullopt},
      {R"({"channel":""})", "", std::nullopt, std::nullopt},
  };
  for (const auto& row : rows) {
    CAPTURE(row.data_raw);
    const auto r = protocol::parse_subscribe_data(row.data_raw);
    REQUIRE(r);
    CHECK(r->channel == row.channel);
    CHECK(r->auth == row.auth);
    CHECK(r->channel_data == row.channel_data);
  }
}

TEST_CASE("protocol: parse_subscribe_data errors") {
  struct Row {
    std::string_view data_raw;
    std::string_view message;
  };
  constexpr std::string_view bad_format =
      "Invalid message format: Invalid subscription data format";
  constexpr std::string_view missing = "Invalid message format: Missing channel field";
  const Row rows[] = {
      {"", bad_format},
      {"null", bad_format},
      {"5", bad_format},
      {"[\"x\"]", bad_format},
      {R"("my-channel")", bad_format},  // a string that is not a JSON object
      {R"("{\"channel\":")", bad_format},
      {R"({"channel":"x")", bad_format},
      {R"({"channel":"x","auth":{"a" 1}})", bad_format},
      {"{}", missing},
      {R"({"auth":"k:s"})", missing},
      {R"({"channel":5})", missing},
      {R"({"channel":null})", missing},
      {R"("{}")", missing},
  };
  for (const auto& row : rows) {
    CAPTURE(row.data_raw);
    const auto r = protocol::parse_subscribe_data(row.data_raw);
    CHECK_FALSE(r);
    CHECK(r.code == 4000);
    CHECK(r.message == row.message);
  }
}

TEST_CASE("protocol: parse_unsubscribe_channel") {
  auto r = protocol::parse_unsubscribe_channel(R"({"channel":"my-channel"})");
  REQUIRE(r);
  CHECK(*r == "my-channel");
  r = protocol::parse_unsubscribe_channel(R"("my-channel")");
  REQUIRE(r);
  CHECK(*r == "my-channel");
  r = protocol::parse_unsubscribe_channel(R"("a\"b")");
  REQUIRE(r);
  CHECK(*r == "a\"b");

  const std::string_view bad[] = {"",     "{}", R"({"channel":5})",   "5",
                                  "null", "[]", "{\"channel\":\"x\"", R"("x" 1)"};
  for (std::string_view data : bad) {
    CAPTURE(data);
    const auto e = protocol::parse_unsubscribe_channel(data);
    CHECK_FALSE(e);
    CHECK(e.code == 4000);
    CHECK(e.message == "Invalid message format: Missing channel in unsubscribe message");
  }
}

TEST_CASE("protocol: parse_channel_data reads user_id (string or number) and raw user_info") {
  struct Row {
    std::string_view channel_data;
    std::string_view user_id;
    std::string_view user_info;
    bool numeric;
  };
  const Row rows[] = {
      {R"({"user_id":"10","user_info":{"name":"Mr. Channels"}})", "10",
       R"({"name":"Mr. Channels"})", false},
      {R"({"user_id":10,"user_info":{"name":"Mr. Channels"}})", "10", R"({"name":"Mr. Channels"})",
       true},
      {R"({"user_id":"42"})", "42", "{}", false},
      {R"({"user_info": { "b" : 1.50 } ,"user_id": 7 })", "7", R"({ "b" : 1.50 })", true},
      {R"({"user_id":-3})", "-3", "{}", true},
      {R"({"user_id":12345678901234567890})", "12345678901234567890", "{}", true},
      // A number keeps its exact token (no normalisation), as the backend signed it.
      {R"({"user_id": 4.20e1 })", "4.20e1", "{}", true},
      {R"({"user_id":"a\"b","user_info":"text"})", "a\"b", R"("text")", false},
      {R"({"user_id":"1","user_info":null})", "1", "null", false},
      // The last user_id wins, type included.
      {R"({"user_id":5,"user_id":"5"})", "5", "{}", false},
      {R"({"user_id":"5","user_id":5})", "5", "{}", true},
  };
  for (const auto& row : rows) {
    CAPTURE(row.channel_data);
    const auto r = protocol::parse_channel_data(row.channel_data);
    REQUIRE(r);
    CHECK(r->user_id == row.user_id);
    CHECK(r->user_info == row.user_info);
    CHECK(r->user_id_numeric == row.numeric);
  }
}

TEST_CASE("protocol: parse_channel_data errors") {
  struct Row {
    std::string_view channel_data;
    int code;
  };
  const Row rows[] = {
      {"", 4000},
      {"not json", 4000},
      {R"({"user_id":"1")", 4000},
      {R"({"user_id":"1","user_info":{"a" 1}})", 4000},
      {R"("{\"user_id\":\"1\"}")", 4300},  // a JSON string, not an object
      {"[1]", 4300},
      {"5", 4300},
      {"{}", 4300},
      {R"({"user_id":null})", 4300},
      {R"({"user_id":true})", 4300},
      {R"({"user_id":""})", 4300},
      {R"({"user_id":{"id":1}})", 4300},
      {R"({"user_id":["1"]})", 4300},
      {R"({"user_info":{}})", 4300},
      // A numeric user_id must be a valid JSON number token: it is echoed unchanged.
      {R"({"user_id":01})", 4000},
      {R"({"user_id":-})", 4000},
      {R"({"user_id":1.})", 4000},
      {R"({"user_id":+1})", 4000},
      {R"({"user_id":1e999})", 4000},
  };
  for (const auto& row : rows) {
    CAPTURE(row.channel_data);
    const auto r = protocol::parse_channel_data(row.channel_data);
    CHECK_FALSE(r);
    CHECK(r.code == row.code);
    if (row.code == 4000) {
      CHECK(r.message == "Invalid message format: Invalid channel_data JSON for presence");
    } else {
      CHECK(r.message == "Channel error: Missing user_id in channel_data");
    }
  }
}

TEST_CASE("protocol: parse_signin_data") {
  // test-vectors.md 3a
  auto r = protocol::parse_signin_data(
      R"({"auth":"278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba","user_data":"{\"id\":\"12345\"}"})");
  REQUIRE(r);
  CHECK(r->auth ==
        "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba");
  CHECK(r->user_data == R"({"id":"12345"})");

  r = protocol::parse_signin_data(R"("{\"auth\":\"k:s\",\"user_data\":\"{}\"}")");
  REQUIRE(r);
  CHECK(r->auth == "k:s");
  CHECK(r->user_data == "{}");

  struct Row {
    std::string_view data_raw;
    int code;
    std::string_view message;
  };
  constexpr std::string_view bad_format = "Invalid message format: Invalid signin data format";
  constexpr std::string_view no_user_data =
      "Authentication error: Missing 'user_data' field in signin data";
  constexpr std::string_view no_auth = "Authentication error: Missing 'auth' field in signin data";
  const Row rows[] = {
      {"", 4000, bad_format},
      {"5", 4000, bad_format},
      {R"("text")", 4000, bad_format},
      {R"({"auth":"k:s","user_data":"{}")", 4000, bad_format},
      {R"({"auth":"k:s"})", 4009, no_user_data},
      {R"({"auth":"k:s","user_data":{"id":"1"}})", 4009, no_user_data},
      {R"({"user_data":"{}"})", 4009, no_auth},
      {R"({"user_data":"{}","auth":5})", 4009, no_auth},
      {"{}", 4009, no_user_data},
  };
  for (const auto& row : rows) {
    CAPTURE(row.data_raw);
    const auto e = protocol::parse_signin_data(row.data_raw);
    CHECK_FALSE(e);
    CHECK(e.code == row.code);
    CHECK(e.message == row.message);
  }
}

TEST_CASE("protocol: parse_user_data") {
  auto r =
      protocol::parse_user_data(R"({"id":"42","user_info":{"name":"A"},"watchlist":["7","9"]})");
  REQUIRE(r);
  CHECK(r->id == "42");
  CHECK(r->user_info == R"({"name":"A"})");
  CHECK(r->watchlist == std::vector<std::string>{"7", "9"});

  r = protocol::parse_user_data(R"({"id":"12345"})");
  REQUIRE(r);
  CHECK(r->id == "12345");
  CHECK(r->user_info == "{}");
  CHECK(r->watchlist.empty());

  // test-vectors.md 3b: non-ASCII ids are kept as UTF-8.
  r = protocol::parse_user_data("{\"id\":\"\xc4\x85\xc2\xa7\xc2\xb6\xe2\x84\xa2\"}");
  REQUIRE(r);
  CHECK(r->id == "\xc4\x85\xc2\xa7\xc2\xb6\xe2\x84\xa2");

  // Non-string watchlist entries are ignored; a non-array watchlist is ignored.
  r = protocol::parse_user_data(R"({"watchlist":["1",2,null,"3",{"x":"4"}],"id":"a"})");
  REQUIRE(r);
  CHECK(r->watchlist == std::vector<std::string>{"1", "3"});
  r = protocol::parse_user_data(R"({"id":"a","watchlist":"1"})");
  REQUIRE(r);
  CHECK(r->watchlist.empty());

  constexpr std::string_view missing_id = "Authentication error: Missing 'id' field in user_data";
  const std::string_view no_id[] = {"{}",        R"({"id":5})", R"({"id":""})", R"({"id":null})",
                                    R"(["id"])", R"("id")"};
  for (std::string_view text : no_id) {
    CAPTURE(text);
    const auto e = protocol::parse_user_data(text);
    CHECK_FALSE(e);
    CHECK(e.code == 4009);
    CHECK(e.message == missing_id);
  }
  const std::string_view invalid[] = {"", "{", R"({"id":"1",})", R"({"id":"1","watchlist":[1 2]})"};
  for (std::string_view text : invalid) {
    CAPTURE(text);
    const auto e = protocol::parse_user_data(text);
    CHECK_FALSE(e);
    CHECK(e.code == 4009);
    CHECK(
        std::string_view(e.message).starts_with("Authentication error: Invalid user_data JSON: "));
  }
}

TEST_CASE("protocol V2: resume data, as the client sends it and Sockudo's legacy form") {
  auto r = protocol::parse_resume_data(
      R"("{\"channel_positions\":{\"a\":{\"stream_id\":\"s1\",\"serial\":7,\"last_message_id\":\"m\"},\"b\":{\"serial\":\"12\"}}}")",
      100);
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].channel == "a");
  CHECK((*r)[0].stream_id == "s1");
  CHECK((*r)[0].serial == 7);
  CHECK((*r)[1].stream_id == std::nullopt);
  CHECK((*r)[1].serial == 12);
  r = protocol::parse_resume_data(R"({"channel_serials":{"c":3}})", 100);
  REQUIRE(r);
  CHECK((*r)[0].serial == 3);
  r = protocol::parse_resume_data(R"({"channel_positions":{}})", 100);
  REQUIRE(r);
  CHECK(r->empty());
  for (const char* bad :
       {"", "nope", "[]", R"({"x":1})", R"({"channel_positions":{"a":{}}})",
        R"({"channel_positions":{"a":{"serial":-1}}})",
        R"({"channel_positions":{"a":{"serial":"1x"}}})", R"({"channel_serials":{"a":1.5}})"}) {
    CAPTURE(bad);
    const auto e = protocol::parse_resume_data(bad, 100);
    CHECK_FALSE(e);
    CHECK(e.code == 4000);
    CHECK(e.message.starts_with("Invalid message format: "));
  }
  CHECK_FALSE(protocol::parse_resume_data(R"({"channel_serials":{"a":1,"b":2}})", 1));
}

TEST_CASE("protocol V2: rewind values") {
  CHECK(protocol::parse_rewind("10")->count == 10);
  CHECK(protocol::parse_rewind(R"("5")")->count == 5);
  CHECK(protocol::parse_rewind(R"({"count":3,"seconds":9})")->count == 3);
  const auto s = protocol::parse_rewind(R"({"seconds":30})");
  REQUIRE(s);
  CHECK(s->count == 0);
  CHECK(s->seconds == 30);
  CHECK(protocol::parse_rewind(R"({"duration_seconds":4})")->seconds == 4);
  for (const char* bad : {"0", "-1", "1.5", "true", "{}", R"({"count":0})", "[1]", "x"}) {
    CAPTURE(bad);
    CHECK_FALSE(protocol::parse_rewind(bad));
  }
}
