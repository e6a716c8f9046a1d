#pragma once
// Protocol V2 message identity and connection recovery (docs/PROTOCOL_V2.md): every channel
// message gets a message_id, and a serial within its channel's stream_id; the last messages of
// each channel are kept (count, age and a global byte cap) for `resume` and `rewind`.
//
// Two modes. Alone (`publish`): this node numbers its channels; a stream lives as long as this
// process keeps it (a restart or an idle expiry starts a new stream id, and clients then
// resubscribe). In a cluster (`insert`, docs/CLUSTER.md): Redis numbers the messages and this
// buffer mirrors what the node received from the bus, in order; a gap (a message not seen)
// drops what came before it, so the mirror never answers for messages it did not see.
// Thread-safe (sharded locks).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/send_queue.hpp"

namespace server {

/// One kept message: its two encodings (V1 without identity, V2 with) shared with the fan-out.
struct ReplayEntry {
  std::uint64_t serial = 0;
  std::int64_t at_ms = 0;  ///< steady clock, when it was published
  std::string message_id;
  DialectFrames frames{nullptr};
};

/// A channel message `json` (a frame of protocol/messages.hpp) as kept: its V1 frame (unchanged
/// bytes) and its V2 frame (the same event name, plus message_id, stream_id and serial).
[[nodiscard]] ReplayEntry make_replay_entry(std::string_view json, std::string message_id,
                                            std::string_view stream_id, std::uint64_t serial,
                                            std::int64_t at_ms);

/// A channel's position: the stream and the serial of its newest message (0: none yet).
struct StreamPosition {
  std::string stream_id;
  std::uint64_t serial = 0;
};

/// What a resume position finds.
struct ReplayLookup {
  enum class Status : std::uint8_t {
    recovered,       ///< `entries` are the messages after the position, oldest first
    expired,         ///< the position is older than the buffer holds (or no stream is kept)
    stream_reset,    ///< the channel's stream is another one
    window_exceeded  ///< more missed messages than max_buffer_size allows to replay
  };
  Status status = Status::expired;
  std::vector<ReplayEntry> entries;
  std::optional<std::string> current_stream_id;
  std::optional<std::uint64_t> oldest_serial, newest_serial;
};

/// The decision of a resume position against what a buffer (or the cluster's history) holds:
/// `current` is the channel's stream (nullopt: none kept), `newest` its newest serial,
/// `first_kept` the serial of the oldest kept message (nullopt: none kept).
[[nodiscard]] ReplayLookup::Status judge_resume(const std::optional<std::string>& asked_stream,
                                                std::uint64_t serial,
                                                const std::optional<std::string>& current,
                                                std::uint64_t newest,
                                                std::optional<std::uint64_t> first_kept,
                                                std::uint64_t max_replay);

/// The rewind rule over kept messages published at `at_ms` (oldest first): the newest `count` of
/// those at or after `since_ms`, from index `first`. `first_kept_serial` is the serial of the
/// oldest kept message (the next serial when none is kept).
struct RewindPick {
  std::size_t first = 0;
  bool truncated_by_limit = false;      ///< more matching messages than were asked for
  bool truncated_by_retention = false;  ///< older asked-for messages are no longer kept
};
[[nodiscard]] RewindPick pick_rewind(const std::vector<std::int64_t>& at_ms, std::uint64_t count,
                                     std::int64_t since_ms, std::uint64_t first_kept_serial);

/// The identity the cluster gave a message (docs/CLUSTER.md): what `ReplayBuffer::insert` keeps.
struct MessageIdentity {
  std::string stream_id;
  std::uint64_t serial = 0;
  std::string message_id;
};

/// Where the replay buffers stand (metrics, /usage).
struct ReplayStats {
  std::uint64_t channels = 0, messages = 0, bytes = 0, evicted_for_memory = 0;
};

class ReplayBuffer {
 public:
  ReplayBuffer(std::uint64_t max_per_channel, std::chrono::seconds ttl, std::uint64_t max_bytes);

  /// Assigns the next serial of (app, channel) to the message `json` (a frame of
  /// protocol/messages.hpp), keeps both encodings, and calls `send` with them while the
  /// channel's lock is held, so every worker receives a channel's messages in serial order.
  /// `send` may only enqueue or post (never take this buffer's locks).
  void publish(std::size_t app_index, std::string_view channel, std::string_view json,
               const std::function<void(const DialectFrames&)>& send);

  /// Cluster mode: keeps a message numbered by the cluster and calls `send` with its encodings
  /// under the channel's lock (like `publish`). A message of another stream starts the channel
  /// over; a serial past the next one (a gap) drops the older messages first; a serial already
  /// seen is ignored (false, `send` not called).
  bool insert(std::size_t app_index, std::string_view channel, const MessageIdentity& id,
              std::string_view json, const std::function<void(const DialectFrames&)>& send);
  /// Cluster mode: the cluster told the position of a channel (a subscribe asked it). Kept when
  /// this buffer knows nothing newer of that stream (older kept messages stay only if the
  /// position follows them).
  void learn(std::size_t app_index, std::string_view channel, const StreamPosition& pos);
  /// The position of (app, channel) if this buffer knows the channel (never starts a stream).
  [[nodiscard]] std::optional<StreamPosition> known_position(std::size_t app_index,
                                                             std::string_view channel);
  /// Forgets everything (cluster mode, after the bus was lost: messages may have been missed).
  void clear();

  /// The current position of (app, channel), starting its stream when it has none (what a V2
  /// subscription_succeeded announces).
  [[nodiscard]] StreamPosition position(std::size_t app_index, std::string_view channel);

  /// The messages after `serial` of stream `stream_id` (none given: the current stream), at
  /// most `max_replay` of them.
  [[nodiscard]] ReplayLookup after(std::size_t app_index, std::string_view channel,
                                   const std::optional<std::string>& stream_id,
                                   std::uint64_t serial, std::uint64_t max_replay);

  /// What a rewind gets: the newest messages asked for, oldest first.
  struct Rewind {
    std::vector<ReplayEntry> entries;
    bool truncated_by_limit = false;      ///< more matching messages than were asked for
    bool truncated_by_retention = false;  ///< older asked-for messages are no longer kept
  };
  /// The newest `count` messages, only those of the last `seconds` when set (rewind).
  [[nodiscard]] Rewind latest(std::size_t app_index, std::string_view channel, std::uint64_t count,
                              std::optional<std::uint64_t> seconds);

  /// Drops messages older than the TTL and forgets channels idle for a TTL with nothing kept,
  /// unless `occupied(app_index, channel)` (called without this buffer's locks) says the
  /// channel still has subscribers here: their clients hold its stream id.
  void prune(const std::function<bool(std::size_t, std::string_view)>& occupied);

  [[nodiscard]] ReplayStats stats();

 private:
  struct Channel {
    std::string stream_id;
    std::uint64_t next_serial = 1;
    std::deque<ReplayEntry> entries;
    std::int64_t touched_ms = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Channel> channels;
  };
  static constexpr std::size_t shard_count = 64;

  static std::string key(std::size_t app_index, std::string_view channel);
  Shard& shard_of(const std::string& key);
  void pop_front(Channel& c);
  /// Appends `e` to `c` and enforces the count and byte caps.
  void keep(Channel& c, ReplayEntry e);
  static std::uint64_t bytes_of(const ReplayEntry& e);

  std::uint64_t max_per_channel_;
  std::int64_t ttl_ms_;
  std::uint64_t max_bytes_;
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> evicted_for_memory_{0};
  Shard shards_[shard_count];
};

/// Counters of the V2 features, per app (and a label: recovery source / failure code). Low-rate
/// events (resumes, keyed publishes), so one mutex. Rendered by server/metrics.cpp with
/// Sockudo's names: sockudo_history_recovery_success_total{source},
/// sockudo_history_recovery_failures_total{code}, sockudo_idempotency_publish_total,
/// sockudo_idempotency_duplicates_total.
class V2Counters {
 public:
  enum class Kind : std::uint8_t {
    recovery_success,
    recovery_failure,
    idem_publish,
    idem_duplicate
  };
  void add(Kind kind, std::size_t app_index, std::string_view label = {});
  struct Row {
    Kind kind;
    std::size_t app_index;
    std::string label;
    std::uint64_t count;
  };
  [[nodiscard]] std::vector<Row> rows();

 private:
  std::mutex mutex_;
  std::vector<Row> rows_;
};

/// A random UUID v4 as text (message ids, stream ids). Any thread.
[[nodiscard]] std::string uuid_v4();

}  // namespace server
