#pragma once

/// Server → client Pusher frames, encoded as JSON text (not WebSocket-framed; wrap with
/// `make_frame`). Shapes and key order (`event`, `channel`, `data`, `user_id`) follow Sockudo
/// byte for byte (protocol.md §0 and Appendix A). Strings are escaped with
/// `append_json_string`; arguments documented as "raw JSON" are copied unchanged and must be
/// valid JSON (they come from parsed client input).

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace protocol {

/// Which Pusher-protocol dialect a connection speaks: V1 is Pusher protocol 7 (`pusher:` /
/// `pusher_internal:` event prefixes); V2 is Sockudo's protocol 2 (`?protocol=2`), the same frames
/// with `sockudo:` / `sockudo_internal:` prefixes. User events (`client-*`, API events) are the
/// same bytes in both.
enum class Dialect : std::uint8_t { v1, v2 };

/// The V2 text of a frame built by this file: `{"event":"pusher:x"...` becomes
/// `{"event":"sockudo:x"...` and `pusher_internal:` becomes `sockudo_internal:`; any other frame
/// (user events) is returned unchanged. Every builder here starts with `{"event":"`, so only that
/// prefix is looked at.
[[nodiscard]] std::string to_v2(std::string_view frame_json);
/// A channel message with Sockudo's V2 identity fields appended (after `data` / `user_id`, in
/// Sockudo's order): `...,"message_id":"<id>","stream_id":"<stream>","serial":N}`. An empty
/// `stream_id` leaves stream_id and serial out (a direct frame's own message_id).
[[nodiscard]] std::string with_identity(std::string_view frame_json, std::string_view message_id,
                                        std::string_view stream_id = {}, std::uint64_t serial = 0);
/// True when `to_v2(frame_json)` differs from `frame_json` (the frame names a protocol event).
[[nodiscard]] bool has_protocol_prefix(std::string_view frame_json) noexcept;

/// `{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"}`
[[nodiscard]] std::string connection_established(std::string_view socket_id,
                                                 std::uint64_t activity_timeout_seconds);
/// Same as above, with the timeout as a duration (whole seconds are sent).
[[nodiscard]] std::string connection_established(std::string_view socket_id,
                                                 std::chrono::seconds activity_timeout);

/// `{"event":"pusher:error","data":{"code":4009,"message":"..."}}` (no `channel`, §8.1).
[[nodiscard]] std::string error(int code, std::string_view message);
/// The same error scoped to a channel (pusher-js also hands it to that channel's handlers):
/// `{"event":"pusher:error","channel":"<ch>","data":{"code":N,"message":"..."}}` (§3.4, §6).
[[nodiscard]] std::string error(int code, std::string_view message, std::string_view channel);
/// A refused subscription, channel-scoped (Soketi's shape, §3.4 revised):
/// `{"event":"pusher:subscription_error","channel":"<ch>","data":{"type":"<type>",
/// "error":"<error>","status":N}}`; `type` is AuthError, LimitReached or ServerError.
[[nodiscard]] std::string subscription_error(std::string_view channel, std::string_view type,
                                             std::string_view error, int status);

/// `{"event":"pusher:ping"}`: server-initiated ping, no `data` (§2.2).
[[nodiscard]] std::string ping();

/// `{"event":"pusher:pong"}`: reply to a client `pusher:ping`, no `data` (§2.1).
[[nodiscard]] std::string pong();

/// `{"event":"pusher_internal:subscription_succeeded","channel":"<ch>","data":"{}"}`.
[[nodiscard]] std::string subscription_succeeded(std::string_view channel);

/// One presence member for `presence_data`. Views; the caller owns the bytes.
struct PresenceMember {
  std::string_view user_id;    ///< The member's user id (its identity text).
  std::string_view user_info;  ///< Raw JSON of its `user_info`; empty is emitted as `{}`.
  /// `user_id` is a JSON number token: `ids` lists it as that number (§5.1, revised). Its `hash`
  /// key is a JSON object key, so always a string.
  bool user_id_numeric = false;
};

/// The presence object (not stringified):
/// `{"presence":{"ids":["1",2],"hash":{"1":{...},"2":{...}},"count":2}}`. `members` must hold
/// each distinct user once; the order is kept. An id is a number in `ids` when its member is
/// `user_id_numeric`, and a string key in `hash` either way.
[[nodiscard]] std::string presence_data(std::span<const PresenceMember> members);

/// `{"event":"pusher_internal:subscription_succeeded","channel":"<ch>","data":"<presence_data
/// as a JSON string>"}`.
[[nodiscard]] std::string subscription_succeeded_presence(std::string_view channel,
                                                          std::span<const PresenceMember> members);

/// `{"event":"pusher_internal:member_added","channel":"<ch>",
/// "data":"{\"user_id\":\"1\",\"user_info\":{...}}"}`. `user_info_raw` is raw JSON; empty → `{}`.
/// With `user_id_numeric`, `user_id` is a JSON number token written as is (`{\"user_id\":1,...}`,
/// §5.1, revised).
[[nodiscard]] std::string member_added(std::string_view channel, std::string_view user_id,
                                       std::string_view user_info_raw,
                                       bool user_id_numeric = false);

/// `{"event":"pusher_internal:member_removed","channel":"<ch>","data":"{\"user_id\":\"1\"}"}`.
/// `user_id_numeric` as for `member_added`.
[[nodiscard]] std::string member_removed(std::string_view channel, std::string_view user_id,
                                         bool user_id_numeric = false);

/// `{"event":"pusher:cache_miss","channel":"<ch>","data":"{}"}` (§3.6).
[[nodiscard]] std::string cache_miss(std::string_view channel);

/// An HTTP API publish: `{"event":"<name>","channel":"<ch>","data":"<data>"}`. `data` is the
/// event's data text (already a string, or the compact JSON of a non-string value, or `null`);
/// it is emitted as a JSON string. This is also the frame a cache channel stores.
[[nodiscard]] std::string api_event(std::string_view name, std::string_view channel,
                                    std::string_view data);

/// A relayed client event: `{"event":"client-x","channel":"<ch>","data":<data_raw>}` plus
/// `,"user_id":"<id>"` last when `user_id` is set (presence channels, [deviate] §6); with
/// `user_id_numeric` it is the number token `,"user_id":<id>` (the member's signed type, §5.1).
/// `data_raw` is the sender's raw JSON, relayed byte for byte; empty → `null`.
[[nodiscard]] std::string client_event(std::string_view name, std::string_view channel,
                                       std::string_view data_raw,
                                       std::optional<std::string_view> user_id,
                                       bool user_id_numeric = false);

/// `{"event":"pusher:signin_success","data":{"user_data":"<user_data>"}}` (§7.1).
[[nodiscard]] std::string signin_success(std::string_view user_data);

/// Pusher-format watchlist frame ([deviate] §7.4):
/// `{"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"online",
/// "user_ids":[...]},{"name":"offline","user_ids":[...]}]}}`. An empty list leaves its event out.
[[nodiscard]] std::string watchlist_events(std::span<const std::string_view> online_ids,
                                           std::span<const std::string_view> offline_ids);
/// Same as above for owned strings.
[[nodiscard]] std::string watchlist_events(std::span<const std::string> online_ids,
                                           std::span<const std::string> offline_ids);
/// The watchlist frame about one user: `user_id` in the online (or offline) list alone.
[[nodiscard]] std::string watchlist_event(std::string_view user_id, bool online);

}  // namespace protocol
