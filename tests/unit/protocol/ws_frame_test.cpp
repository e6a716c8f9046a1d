#include "protocol/ws_frame.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

using protocol::FrameError;
using protocol::FrameHeader;
using protocol::Opcode;

namespace {

constexpr std::array<std::uint8_t, 4> test_mask{0x37, 0xfa, 0x21, 0x3d};

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<std::uint8_t> to_vec(std::string_view s) {
  return {s.begin(), s.end()};
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

}  // namespace

TEST_CASE("protocol: parse_frame_header reads 7-bit, 16-bit and 64-bit lengths") {
  struct Row {
    std::size_t length;
    std::size_t header_length;
  };
  const Row rows[] = {{0, 6},   {1, 6},     {125, 6},    {126, 8},
                      {127, 8}, {65535, 8}, {65536, 14}, {100000, 14}};
  for (const auto& row : rows) {
    CAPTURE(row.length);
    const std::string frame =
        protocol::make_masked_frame(Opcode::binary, pattern(row.length), test_mask);
    FrameHeader h;
    REQUIRE(protocol::parse_frame_header(bytes(frame), 1 << 20, h) == FrameError::none);
    CHECK(h.fin);
    CHECK_FALSE(h.rsv);
    CHECK(h.opcode == Opcode::binary);
    CHECK(h.masked);
    CHECK(h.mask == test_mask);
    CHECK(h.payload_length == row.length);
    CHECK(h.header_length == row.header_length);
    CHECK(frame.size() == row.header_length + row.length);
  }
}

TEST_CASE("protocol: parse_frame_header known bytes (RFC 6455 5.7 masked \"Hello\")") {
  const std::vector<std::uint8_t> frame{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                        0x7f, 0x9f, 0x4d, 0x51, 0x58};
  FrameHeader h;
  REQUIRE(protocol::parse_frame_header(frame, 125, h) == FrameError::none);
  CHECK(h.opcode == Opcode::text);
  CHECK(h.payload_length == 5);
  CHECK(h.header_length == 6);
  std::vector<std::uint8_t> payload(frame.begin() + 6, frame.end());
  protocol::unmask(payload, h.mask);
  CHECK(std::string(payload.begin(), payload.end()) == "Hello");
  CHECK(protocol::make_masked_frame(Opcode::text, "Hello", test_mask) ==
        std::string(frame.begin(), frame.end()));
}

TEST_CASE("protocol: parse_frame_header needs more input at every truncated prefix") {
  for (std::size_t length : {5u, 300u, 70000u}) {
    const std::string frame = protocol::make_masked_frame(Opcode::text, pattern(length), test_mask);
    FrameHeader full;
    REQUIRE(protocol::parse_frame_header(bytes(frame), 1 << 20, full) == FrameError::none);
    for (std::size_t n = 0; n < full.header_length; ++n) {
      CAPTURE(length);
      CAPTURE(n);
      FrameHeader h;
      CHECK(protocol::parse_frame_header(bytes(frame).first(n), 1 << 20, h) ==
            FrameError::need_more);
    }
    FrameHeader h;
    CHECK(protocol::parse_frame_header(bytes(frame).first(full.header_length), 1 << 20, h) ==
          FrameError::none);
  }
}

TEST_CASE("protocol: parse_frame_header rejects protocol violations") {
  struct Row {
    const char* what;
    std::vector<std::uint8_t> bytes;
    FrameError expected;
  };
  const Row rows[] = {
      {"unmasked text", {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, FrameError::unmasked},
      {"unmasked, 2 bytes only", {0x81, 0x05}, FrameError::unmasked},
      {"RSV1", {0xc1, 0x80, 0, 0, 0, 0}, FrameError::reserved_bits},
      {"RSV2", {0xa1, 0x80, 0, 0, 0, 0}, FrameError::reserved_bits},
      {"RSV3", {0x91, 0x80, 0, 0, 0, 0}, FrameError::reserved_bits},
      {"opcode 3", {0x83, 0x80, 0, 0, 0, 0}, FrameError::unknown_opcode},
      {"opcode 7", {0x87, 0x80, 0, 0, 0, 0}, FrameError::unknown_opcode},
      {"opcode 11", {0x8b, 0x80, 0, 0, 0, 0}, FrameError::unknown_opcode},
      {"opcode 15", {0x8f, 0x80, 0, 0, 0, 0}, FrameError::unknown_opcode},
      {"fragmented ping", {0x09, 0x80, 0, 0, 0, 0}, FrameError::control_fragmented},
      {"fragmented close", {0x08, 0x80, 0, 0, 0, 0}, FrameError::control_fragmented},
      {"ping 126 bytes", {0x89, 0xfe, 0x00, 0x7e}, FrameError::control_too_long},
      {"pong 64-bit length", {0x8a, 0xff}, FrameError::control_too_long},
      {"16-bit length < 126", {0x82, 0xfe, 0x00, 0x7d, 0, 0, 0, 0}, FrameError::non_minimal_length},
      {"64-bit length <= 65535",
       {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0},
       FrameError::non_minimal_length},
      {"64-bit length with MSB set",
       {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
       FrameError::invalid_length},
  };
  for (const auto& row : rows) {
    CAPTURE(row.what);
    FrameHeader h;
    CHECK(protocol::parse_frame_header(row.bytes, 1 << 20, h) == row.expected);
  }
}

TEST_CASE("protocol: parse_frame_header enforces max_payload") {
  FrameHeader h;
  const std::string at_limit = protocol::make_masked_frame(Opcode::text, pattern(1024), test_mask);
  CHECK(protocol::parse_frame_header(bytes(at_limit), 1024, h) == FrameError::none);
  const std::string over = protocol::make_masked_frame(Opcode::text, pattern(1025), test_mask);
  CHECK(protocol::parse_frame_header(bytes(over), 1024, h) == FrameError::too_big);
  // Reported as soon as the length is known, before the masking key arrives.
  CHECK(protocol::parse_frame_header(bytes(over).first(4), 1024, h) == FrameError::too_big);
  const std::string small = protocol::make_masked_frame(Opcode::text, pattern(10), test_mask);
  CHECK(protocol::parse_frame_header(bytes(small), 9, h) == FrameError::too_big);
  // Control frames: the 125-byte rule, then the caller's limit.
  const std::string ping = protocol::make_masked_frame(Opcode::ping, pattern(125), test_mask);
  CHECK(protocol::parse_frame_header(bytes(ping), 1024, h) == FrameError::none);
}

TEST_CASE("protocol: parse_frame_header reports opcodes and FIN") {
  const Opcode ops[] = {Opcode::continuation, Opcode::text, Opcode::binary,
                        Opcode::close,        Opcode::ping, Opcode::pong};
  for (Opcode op : ops) {
    for (bool fin : {true, false}) {
      if (protocol::is_control(op) && !fin) continue;
      const std::string frame = protocol::make_masked_frame(op, "ab", test_mask, fin);
      FrameHeader h;
      REQUIRE(protocol::parse_frame_header(bytes(frame), 125, h) == FrameError::none);
      CHECK(h.opcode == op);
      CHECK(h.fin == fin);
    }
  }
}

TEST_CASE("protocol: close_code_for maps frame errors") {
  CHECK(protocol::close_code_for(FrameError::too_big) == protocol::CloseCode::message_too_big);
  CHECK(protocol::close_code_for(FrameError::unmasked) == protocol::CloseCode::protocol_error);
  CHECK(protocol::close_code_for(FrameError::reserved_bits) == protocol::CloseCode::protocol_error);
}

TEST_CASE("protocol: unmask round-trips make_masked_frame, whole and in pieces") {
  for (std::size_t length : {0u, 1u, 3u, 7u, 8u, 9u, 31u, 32u, 33u, 100u, 1000u}) {
    const std::string payload = pattern(length);
    const std::string frame = protocol::make_masked_frame(Opcode::text, payload, test_mask);
    FrameHeader h;
    REQUIRE(protocol::parse_frame_header(bytes(frame), 1 << 20, h) == FrameError::none);
    const std::vector<std::uint8_t> masked =
        to_vec(std::string_view(frame).substr(h.header_length));
    if (length >= 4) CHECK(masked != to_vec(payload));

    // Whole payload.
    std::vector<std::uint8_t> whole = masked;
    protocol::unmask(whole, h.mask);
    CHECK(whole == to_vec(payload));

    // Split at every point into two pieces, and in 1..9-byte pieces (unaligned offsets).
    for (std::size_t split = 0; split <= length; split += (length > 40 ? 13 : 1)) {
      CAPTURE(length);
      CAPTURE(split);
      std::vector<std::uint8_t> pieces = masked;
      std::span<std::uint8_t> all(pieces);
      protocol::unmask(all.first(split), h.mask, 0);
      protocol::unmask(all.subspan(split), h.mask, split);
      CHECK(pieces == to_vec(payload));
    }
    for (std::size_t step = 1; step <= 9; ++step) {
      std::vector<std::uint8_t> pieces = masked;
      std::span<std::uint8_t> all(pieces);
      for (std::size_t pos = 0; pos < length; pos += step) {
        const std::size_t n = std::min(step, length - pos);
        protocol::unmask(all.subspan(pos, n), h.mask, pos);
      }
      CHECK(pieces == to_vec(payload));
    }
  }
  // Unaligned start address.
  std::vector<std::uint8_t> buffer(1 + 50);
  const std::string payload = pattern(50);
  const std::string frame = protocol::make_masked_frame(Opcode::text, payload, test_mask);
  std::copy(frame.begin() + 2 + 4, frame.end(), buffer.begin() + 1);
  protocol::unmask(std::span<std::uint8_t>(buffer).subspan(1), test_mask);
  CHECK(std::string(buffer.begin() + 1, buffer.end()) == payload);
}

TEST_CASE("protocol: write_frame_header writes unmasked server headers") {
  struct Row {
    Opcode op;
    std::uint64_t length;
    bool fin;
    std::vector<std::uint8_t> expected;
  };
  const Row rows[] = {
      {Opcode::text, 0, true, {0x81, 0x00}},
      {Opcode::text, 5, true, {0x81, 0x05}},
      {Opcode::text, 125, true, {0x81, 0x7d}},
      {Opcode::binary, 126, true, {0x82, 0x7e, 0x00, 0x7e}},
      {Opcode::text, 65535, true, {0x81, 0x7e, 0xff, 0xff}},
      {Opcode::text, 65536, true, {0x81, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}},
      {Opcode::text, 0x0102030405060708ull, true, {0x81, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8}},
      {Opcode::text, 3, false, {0x01, 0x03}},
      {Opcode::continuation, 3, true, {0x80, 0x03}},
      {Opcode::close, 2, true, {0x88, 0x02}},
      {Opcode::ping, 0, true, {0x89, 0x00}},
      {Opcode::pong, 4, true, {0x8a, 0x04}},
  };
  for (const auto& row : rows) {
    CAPTURE(row.length);
    std::array<std::uint8_t, protocol::max_frame_header> out{};
    const std::size_t n = protocol::write_frame_header(out.data(), row.op, row.length, row.fin);
    CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<long>(n)) ==
          row.expected);
  }
}

TEST_CASE("protocol: make_frame is header plus payload") {
  CHECK(protocol::make_frame(Opcode::text, "Hello") == std::string("\x81\x05Hello"));
  const std::string big = pattern(300);
  const std::string frame = protocol::make_frame(Opcode::text, big);
  CHECK(frame.size() == 4 + 300);
  CHECK(frame.substr(0, 4) == std::string("\x81\x7e\x01\x2c", 4));
  CHECK(frame.substr(4) == big);
}

TEST_CASE("protocol: close_payload encodes code and truncates the reason safely") {
  CHECK(protocol::close_payload(4009, "Origin not allowed") ==
        std::string("\x0f\xa9Origin not allowed"));
  CHECK(protocol::close_payload(protocol::CloseCode::normal, "") == std::string("\x03\xe8", 2));

  const std::string ascii(200, 'x');
  CHECK(protocol::close_payload(1000, ascii).size() == 125);

  // 122 ASCII bytes + a 2-byte sequence would end at byte 124 (fits); + a 3-byte one would not.
  const std::string fits = std::string(121, 'x') + "\xc3\xa9";  // 123 bytes: exactly fits
  CHECK(protocol::close_payload(1000, fits).size() == 125);
  const std::string split3 = std::string(122, 'x') + "\xe2\x82\xac" + "tail";
  const std::string p3 = protocol::close_payload(1000, split3);
  CHECK(p3.size() == 2 + 122);
  CHECK(protocol::is_valid_utf8(std::string_view(p3).substr(2)));
  const std::string split4 = std::string(120, 'x') + "\xf0\x9f\x98\x80";  // 124 bytes
  const std::string p4 = protocol::close_payload(1000, split4);
  CHECK(p4.size() == 2 + 120);
}

TEST_CASE("protocol: parse_close_payload validates code, length and UTF-8") {
  const auto empty = protocol::parse_close_payload("");
  REQUIRE(empty.has_value());
  CHECK(empty->code == 1005);
  CHECK(empty->reason.empty());

  CHECK_FALSE(protocol::parse_close_payload(std::string("\x03", 1)).has_value());

  const auto normal = protocol::parse_close_payload(std::string("\x03\xe8", 2));
  REQUIRE(normal.has_value());
  CHECK(normal->code == 1000);
  CHECK(normal->reason.empty());

  const std::string bye = protocol::close_payload(4201, "bye");  // the result views into it
  const auto with_reason = protocol::parse_close_payload(bye);
  REQUIRE(with_reason.has_value());
  CHECK(with_reason->code == 4201);
  CHECK(with_reason->reason == "bye");

  CHECK_FALSE(protocol::parse_close_payload(std::string("\x03\xe8\xff", 3)).has_value());
  CHECK_FALSE(protocol::parse_close_payload(std::string("\x03\xe8\xc3", 3)).has_value());
  CHECK_FALSE(protocol::parse_close_payload("\x03\xe8" + std::string(124, 'x')).has_value());

  struct Row {
    std::uint16_t code;
    bool valid;
  };
  const Row rows[] = {{0, false},    {999, false},  {1000, true},  {1001, true},  {1002, true},
                      {1003, true},  {1004, false}, {1005, false}, {1006, false}, {1007, true},
                      {1008, true},  {1009, true},  {1010, true},  {1011, true},  {1012, true},
                      {1013, true},  {1014, true},  {1015, false}, {1016, false}, {1100, false},
                      {2000, false}, {2999, false}, {3000, true},  {3999, true},  {4000, true},
                      {4999, true},  {5000, false}, {65535, false}};
  for (const auto& row : rows) {
    CAPTURE(row.code);
    CHECK(protocol::is_valid_close_code(row.code) == row.valid);
    CHECK(protocol::parse_close_payload(protocol::close_payload(row.code, "r")).has_value() ==
          row.valid);
  }
}

TEST_CASE("protocol: is_valid_utf8") {
  CHECK(protocol::is_valid_utf8(""));
  CHECK(protocol::is_valid_utf8("plain ascii"));
  CHECK(protocol::is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  CHECK_FALSE(protocol::is_valid_utf8("\xff"));
  CHECK_FALSE(protocol::is_valid_utf8("\xc3"));              // truncated
  CHECK_FALSE(protocol::is_valid_utf8("\xc0\xaf"));          // overlong
  CHECK_FALSE(protocol::is_valid_utf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(protocol::is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
}
