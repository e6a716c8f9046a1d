#include "protocol/messages.hpp"

#include "protocol/json.hpp"

namespace protocol {

namespace {

// `{"event":"<event>"` followed by `,"channel":"<ch>"` when a channel is given.
void open_frame(std::string& out, std::string_view event, std::string_view channel) {
  out += R"({"event":)";
  append_json_string(out, event);
  if (!channel.empty()) {
    out += R"(,"channel":)";
    append_json_string(out, channel);
  }
}

// {"event":E,"channel":C,"data":"<data as a JSON string>"}: the shape of every server event whose
// data is a stringified JSON payload.
std::string frame_with_string_data(std::string_view event, std::string_view channel,
                                   std::string_view data) {
  std::string out;
  out.reserve(48 + event.size() + channel.size() + data.size() + data.size() / 4);
  open_frame(out, event, channel);
  out += R"(,"data":)";
  append_json_string(out, data);
  out.push_back('}');
  return out;
}

std::string_view raw_or_empty_object(std::string_view raw) {
  return raw.empty() ? "{}" : raw;
}

// `[ "a", "b" ]` from any range of string-like values.
template <class Strings>
void append_string_array(std::string& out, const Strings& values) {
  out.push_back('[');
  bool first = true;
  for (const auto& v : values) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, v);
  }
  out.push_back(']');
}

template <class Strings>
std::string watchlist_events_impl(const Strings& online_ids, const Strings& offline_ids) {
  std::string out;
  out.reserve(96 + 16 * (online_ids.size() + offline_ids.size()));
  out += R"({"event":"pusher_internal:watchlist_events","data":{"events":[)";
  bool first = true;
  if (!online_ids.empty()) {
    out += R"({"name":"online","user_ids":)";
    append_string_array(out, online_ids);
    out.push_back('}');
    first = false;
  }
  if (!offline_ids.empty()) {
    if (!first) out.push_back(',');
    out += R"({"name":"offline","user_ids":)";
    append_string_array(out, offline_ids);
    out.push_back('}');
  }
  out += "]}}";
  return out;
}

constexpr std::string_view frame_head = R"({"event":")";
constexpr std::string_view v1_event = "pusher:";
constexpr std::string_view v1_internal = "pusher_internal:";

}  // namespace

bool has_protocol_prefix(std::string_view frame_json) noexcept {
  if (!frame_json.starts_with(frame_head)) return false;
  const std::string_view name = frame_json.substr(frame_head.size());
  return name.starts_with(v1_event) || name.starts_with(v1_internal);
}

std::string with_identity(std::string_view frame_json, std::string_view message_id,
                          std::string_view stream_id, std::uint64_t serial) {
  std::string out;
  out.reserve(frame_json.size() + 112);
  out.append(frame_json.substr(0, frame_json.empty() ? 0 : frame_json.size() - 1));
  out += R"(,"message_id":)";
  append_json_string(out, message_id);
  if (!stream_id.empty()) {
    out += R"(,"stream_id":)";
    append_json_string(out, stream_id);
    out += R"(,"serial":)";
    out += std::to_string(serial);
  }
  out.push_back('}');
  return out;
}

std::string to_v2(std::string_view frame_json) {
  if (!has_protocol_prefix(frame_json)) return std::string(frame_json);
  const std::string_view name = frame_json.substr(frame_head.size());
  const bool internal = name.starts_with(v1_internal);
  const std::string_view from = internal ? v1_internal : v1_event;
  const std::string_view to = internal ? "sockudo_internal:" : "sockudo:";
  std::string out;
  out.reserve(frame_json.size() + 2);
  out += frame_head;
  out += to;
  out += name.substr(from.size());
  return out;
}

std::string connection_established(std::string_view socket_id,
                                   std::uint64_t activity_timeout_seconds) {
  std::string inner = R"({"socket_id":)";
  append_json_string(inner, socket_id);
  inner += R"(,"activity_timeout":)";
  inner += std::to_string(activity_timeout_seconds);
  inner.push_back('}');

  std::string out;
  out.reserve(64 + inner.size());
  out += R"({"event":"pusher:connection_established","data":)";
  append_json_string(out, inner);
  out.push_back('}');
  return out;
}

std::string connection_established(std::string_view socket_id,
                                   std::chrono::seconds activity_timeout) {
  const auto count = activity_timeout.count();
  return connection_established(socket_id, static_cast<std::uint64_t>(count < 0 ? 0 : count));
}

std::string error(int code, std::string_view message) {
  std::string out;
  out.reserve(64 + message.size());
  out += R"({"event":"pusher:error","data":{"code":)";
  out += std::to_string(code);
  out += R"(,"message":)";
  append_json_string(out, message);
  out += "}}";
  return out;
}

std::string error(int code, std::string_view message, std::string_view channel) {
  std::string out;
  out.reserve(80 + message.size() + channel.size());
  open_frame(out, "pusher:error", channel);
  out += R"(,"data":{"code":)";
  out += std::to_string(code);
  out += R"(,"message":)";
  append_json_string(out, message);
  out += "}}";
  return out;
}

std::string subscription_error(std::string_view channel, std::string_view type,
                               std::string_view error, int status) {
  std::string out;
  out.reserve(96 + channel.size() + error.size());
  open_frame(out, "pusher:subscription_error", channel);
  out += R"(,"data":{"type":)";
  append_json_string(out, type);
  out += R"(,"error":)";
  append_json_string(out, error);
  out += R"(,"status":)";
  out += std::to_string(status);
  out += "}}";
  return out;
}

std::string ping() {
  return R"({"event":"pusher:ping"})";
}

std::string pong() {
  return R"({"event":"pusher:pong"})";
}

std::string subscription_succeeded(std::string_view channel) {
  std::string out;
  out.reserve(80 + channel.size());
  open_frame(out, "pusher_internal:subscription_succeeded", channel);
  out += R"(,"data":"{}"})";
  return out;
}

std::string presence_data(std::span<const PresenceMember> members) {
  std::size_t estimate = 48;
  for (const auto& m : members) estimate += 2 * m.user_id.size() + m.user_info.size() + 8;
  std::string out;
  out.reserve(estimate);
  out += R"({"presence":{"ids":[)";
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_user_id(out, members[i].user_id, members[i].user_id_numeric);
  }
  out += R"(],"hash":{)";
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, members[i].user_id);
    out.push_back(':');
    out += raw_or_empty_object(members[i].user_info);
  }
  out += R"(},"count":)";
  out += std::to_string(members.size());
  out += "}}";
  return out;
}

std::string subscription_succeeded_presence(std::string_view channel,
                                            std::span<const PresenceMember> members) {
  return frame_with_string_data("pusher_internal:subscription_succeeded", channel,
                                presence_data(members));
}

std::string member_added(std::string_view channel, std::string_view user_id,
                         std::string_view user_info_raw, bool user_id_numeric) {
  std::string inner = R"({"user_id":)";
  append_user_id(inner, user_id, user_id_numeric);
  inner += R"(,"user_info":)";
  inner += raw_or_empty_object(user_info_raw);
  inner.push_back('}');
  return frame_with_string_data("pusher_internal:member_added", channel, inner);
}

std::string member_removed(std::string_view channel, std::string_view user_id,
                           bool user_id_numeric) {
  std::string inner = R"({"user_id":)";
  append_user_id(inner, user_id, user_id_numeric);
  inner.push_back('}');
  return frame_with_string_data("pusher_internal:member_removed", channel, inner);
}

std::string cache_miss(std::string_view channel) {
  std::string out;
  out.reserve(48 + channel.size());
  open_frame(out, "pusher:cache_miss", channel);
  out += R"(,"data":"{}"})";
  return out;
}

std::string api_event(std::string_view name, std::string_view channel, std::string_view data) {
  return frame_with_string_data(name, channel, data);
}

std::string client_event(std::string_view name, std::string_view channel, std::string_view data_raw,
                         std::optional<std::string_view> user_id, bool user_id_numeric) {
  std::string out;
  out.reserve(48 + name.size() + channel.size() + data_raw.size() +
              (user_id ? user_id->size() + 16 : 0));
  open_frame(out, name, channel);
  out += R"(,"data":)";
  out += data_raw.empty() ? std::string_view("null") : data_raw;
  if (user_id) {
    out += R"(,"user_id":)";
    append_user_id(out, *user_id, user_id_numeric);
  }
  out.push_back('}');
  return out;
}

std::string signin_success(std::string_view user_data) {
  std::string out;
  out.reserve(64 + user_data.size() + user_data.size() / 4);
  out += R"({"event":"pusher:signin_success","data":{"user_data":)";
  append_json_string(out, user_data);
  out += "}}";
  return out;
}

std::string watchlist_events(std::span<const std::string_view> online_ids,
                             std::span<const std::string_view> offline_ids) {
  return watchlist_events_impl(online_ids, offline_ids);
}

std::string watchlist_events(std::span<const std::string> online_ids,
                             std::span<const std::string> offline_ids) {
  return watchlist_events_impl(online_ids, offline_ids);
}

std::string watchlist_event(std::string_view user_id, bool online) {
  const std::span<const std::string_view> one(&user_id, 1);
  const std::span<const std::string_view> none;
  return online ? watchlist_events_impl(one, none) : watchlist_events_impl(none, one);
}

}  // namespace protocol
