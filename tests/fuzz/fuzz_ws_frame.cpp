// libFuzzer target: the WebSocket frame reader (protocol/ws_frame.*), driven the way
// WsSession::process_bytes drives it: parse a header, unmask the payload in place, handle close
// payloads, UTF-8 check text, track fragmentation with the message size cap. Checks invariants
// (header bounds, piecewise unmasking == whole unmasking, encode/parse round trip) and aborts
// when one breaks, so a logic error is a crash too.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/ws_frame.hpp"

namespace {
constexpr std::uint64_t max_payload = 64 * 1024;

void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace protocol;
  std::vector<std::uint8_t> buf(data, data + size);
  std::size_t off = 0;
  bool in_fragmented = false;
  std::uint64_t fragmented_total = 0;
  while (off < buf.size()) {
    FrameHeader h{};
    const FrameError err = parse_frame_header(
        std::span<const std::uint8_t>(buf.data() + off, buf.size() - off), max_payload, h);
    if (err == FrameError::need_more) break;
    if (err != FrameError::none) {
      const CloseCode code = close_code_for(err);
      check(code == CloseCode::protocol_error || code == CloseCode::message_too_big);
      break;
    }
    check(h.masked && !h.rsv);
    check(h.header_length >= 6 && h.header_length <= max_client_frame_header);
    check(h.payload_length <= max_payload);
    if (is_control(h.opcode)) check(h.fin && h.payload_length <= max_control_payload);
    if (buf.size() - off < h.header_length + h.payload_length) break;
    std::uint8_t* payload = buf.data() + off + h.header_length;
    const auto n = static_cast<std::size_t>(h.payload_length);

    // Unmasking in two pieces (as bytes arrive) equals unmasking at once.
    std::vector<std::uint8_t> whole(payload, payload + n);
    unmask(std::span<std::uint8_t>(whole), h.mask, 0);
    const std::size_t half = n / 2;
    unmask(std::span<std::uint8_t>(payload, half), h.mask, 0);
    unmask(std::span<std::uint8_t>(payload + half, n - half), h.mask, half);
    check(n == 0 || std::memcmp(whole.data(), payload, n) == 0);
    const std::string_view body(reinterpret_cast<const char*>(payload), n);

    // Re-encoding the frame with the same key parses back to the same header and bytes.
    const std::string again = make_masked_frame(h.opcode, body, h.mask, h.fin);
    FrameHeader h2{};
    check(parse_frame_header(std::span<const std::uint8_t>(
                                 reinterpret_cast<const std::uint8_t*>(again.data()), again.size()),
                             max_payload, h2) == FrameError::none);
    check(h2.opcode == h.opcode && h2.fin == h.fin && h2.payload_length == h.payload_length);
    check(h2.header_length + n == again.size());

    switch (h.opcode) {
      case Opcode::close: {
        const auto cp = parse_close_payload(body);
        if (cp) {
          check(cp->code == 1005 || is_valid_close_code(cp->code));
          check(is_valid_utf8(cp->reason));
          const std::string reply = close_payload(cp->code, cp->reason);
          check(reply.size() <= max_control_payload);
        }
        return 0;  // the reader stops at a close
      }
      case Opcode::ping:
      case Opcode::pong:
        (void)make_frame(Opcode::pong, body);
        break;
      case Opcode::text:
      case Opcode::binary:
        if (in_fragmented) return 0;  // 1002
        if (!h.fin) {
          in_fragmented = true;
          fragmented_total = n;
        } else if (h.opcode == Opcode::text) {
          (void)is_valid_utf8(body);
        }
        break;
      case Opcode::continuation:
        if (!in_fragmented) return 0;  // 1002
        fragmented_total += n;
        if (fragmented_total > max_payload) return 0;  // 1009
        if (h.fin) in_fragmented = false;
        break;
    }
    off += h.header_length + n;
  }
  return 0;
}
