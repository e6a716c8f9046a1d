// libFuzzer target: the Pusher client message parser (protocol/client_message.*) and every
// payload helper a WebSocket session applies to what it returns, in the session's order:
// event/channel/data, subscribe data, presence channel_data, unsubscribe, sign-in data and
// user_data, channel name rules, and protocol V2's resume data and rewind values. Both the copying
// and the in-place (padded) entry points.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/channel.hpp"
#include "protocol/client_message.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void use_payload(const protocol::ClientMessage& msg) {
  using namespace protocol;
  if (msg.channel) {
    (void)validate_channel_name(*msg.channel, 200);
    (void)classify_channel(*msg.channel);
  }
  if (auto sd = parse_subscribe_data(msg.data_raw)) {
    (void)validate_channel_name(sd->channel, 200);
    if (sd->channel_data) {
      if (auto pd = parse_channel_data(*sd->channel_data)) check(!pd->user_id.empty());
    }
  } else {
    check(sd.code != 0 && !sd.message.empty());
  }
  (void)parse_unsubscribe_channel(msg.data_raw);
  if (auto rp = parse_resume_data(msg.data_raw, 100)) {
    check(rp->size() <= 100);
  } else {
    check(rp.code == 4000 && !rp.message.empty());
  }
  if (auto sd2 = parse_subscribe_data(msg.data_raw); sd2 && sd2->rewind_raw) {
    if (auto rw = parse_rewind(*sd2->rewind_raw)) check(rw->count > 0 || rw->seconds.has_value());
  }
  if (auto si = parse_signin_data(msg.data_raw)) {
    if (auto ud = parse_user_data(si->user_data)) check(!ud->id.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static protocol::ClientMessageParser parser;  // one per worker in the server, reused
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto copied = parser.parse(text);
  if (copied) {
    use_payload(*copied);
  } else {
    check(copied.code != 0 && !copied.message.empty());
  }
  // The in-place path over a buffer with padding must agree with the copying one.
  std::vector<char> padded(size + protocol::json_padding, '\0');
  if (size > 0) std::memcpy(padded.data(), data, size);
  auto in_place = parser.parse_padded(std::string_view(padded.data(), size), padded.size());
  check(in_place.ok() == copied.ok());
  if (in_place && copied) {
    check(in_place->event == copied->event);
    check(in_place->channel == copied->channel);
    check(in_place->data_raw == copied->data_raw);
  }
  // Payload helpers also get the raw bytes directly (data_raw can be any JSON text).
  (void)protocol::parse_subscribe_data(text);
  (void)protocol::parse_channel_data(text);
  (void)protocol::parse_user_data(text);
  return 0;
}
