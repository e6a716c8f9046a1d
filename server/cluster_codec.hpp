#pragma once
// Pure parts of the Redis adapter (docs/CLUSTER.md): the envelope of a cross-node message.
// No I/O; unit-tested in tests/unit/cluster.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace server::cluster {

/// What a cross-node message asks its receivers to do.
enum class MsgType : char {
  event = 'E',      ///< deliver `payload` (a frame's JSON) on `target` (a channel); skip origin
  member = 'M',     ///< presence member event: deliver on `target` on every node, origin too
  terminate = 'T',  ///< close the connections of user `target` (payload "reconnect": 4200)
  watchlist = 'W',  ///< send `payload` to the watchers of user `target`, on every node
  /// A channel message numbered by the cluster (recovery on): `payload` is a sequenced payload
  /// (below); delivered on `target` by every node, origin too, in serial order.
  sequenced = 'S',
  /// The position of channel `target` when a node asked it (payload "<stream_id> <serial>"):
  /// every node learns it; the asking node (origin) answers its subscribers.
  position = 'P',
};

/// One message on the `{prefix}#bus` channel. Fields are opaque bytes.
struct Envelope {
  MsgType type = MsgType::event;
  std::string origin;         ///< node id of the sender
  std::string app_id;         ///< app id (ids are stable across nodes; indexes are not)
  std::string target;         ///< channel name, or user id for terminate
  std::string payload;        ///< the encoded JSON frame (event / member)
  std::string except_socket;  ///< socket id that must not receive it ("" = none)

  bool operator==(const Envelope&) const = default;
};

/// "pc1" followed by six length-prefixed fields `<decimal length>:<bytes>` (type, origin,
/// app_id, target, payload, except_socket). The Lua scripts build the same shape.
[[nodiscard]] std::string encode(const Envelope& e);

/// The payload of a `sequenced` envelope: "<stream_id> <serial> <message_id>\n<json>" (the Lua
/// publish script builds it).
struct Sequenced {
  std::string_view stream_id, message_id, json;
  std::uint64_t serial = 0;
};
[[nodiscard]] std::optional<Sequenced> parse_sequenced(std::string_view payload);
/// The payload of a `position` envelope: "<stream_id> <serial>".
struct Position {
  std::string_view stream_id;
  std::uint64_t serial = 0;
};
[[nodiscard]] std::optional<Position> parse_position(std::string_view payload);

/// Parses what encode() produced; nullopt for anything else (wrong magic, bad lengths or a
/// length spelled with a leading zero, unknown type, trailing bytes).
[[nodiscard]] std::optional<Envelope> decode(std::string_view bytes);

}  // namespace server::cluster
