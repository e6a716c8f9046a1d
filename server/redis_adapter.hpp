#pragma once
// The Redis adapter (docs/CLUSTER.md): many nodes on one Redis behave as one server.
//
// One dedicated thread runs its own io_context with two connections per Redis server
// (commands; SUBSCRIBE), plain or TLS: one server (driver redis) or every primary of a Redis
// Cluster (driver redis-cluster, sharded pub/sub). Workers post to it; it posts results back to
// them. Cross-node messages travel as envelopes (server/cluster_codec.hpp) on `{prefix}#bus`;
// cluster state is kept in Redis as per-node contributions, changed and read by atomic Lua scripts.
//
// The sources, one job each: redis_connection.* (a Redis connection on an io_context, and
// RedisValue), redis_shards.cpp (the connections, cluster slot map and routing),
// redis_adapter.cpp (life cycle, messages between nodes, metrics),
// redis_membership.cpp (the membership hooks and the queries), redis_scripts.hpp (the scripts).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/adapter.hpp"
#include "server/config.hpp"
#include "server/local_adapter.hpp"
#include "server/net.hpp"
#include "server/redis_connection.hpp"
#include "server/redis_slots.hpp"

namespace server {

class Hub;

class RedisAdapter final : public Adapter {
 public:
  explicit RedisAdapter(Hub& hub);
  ~RedisAdapter() override;
  RedisAdapter(const RedisAdapter&) = delete;
  RedisAdapter& operator=(const RedisAdapter&) = delete;

  [[nodiscard]] const std::string& node_id() const noexcept { return node_id_; }

  void publish(const PublishRequest& request, Worker* caller, PublishDone done) override;
  void broadcast(std::size_t app_index, std::string_view channel,
                 const std::shared_ptr<const std::string>& frame, channels::ConnId except,
                 Worker* caller) override;
  void broadcast_client_event(std::size_t app_index, std::string_view channel,
                              std::string_view json, channels::ConnId except,
                              std::string_view except_socket_id, Worker* caller) override;
  /// Queries: one script each, aggregated over the live nodes; `done` runs on the adapter
  /// thread when the reply arrives. This node's local answer instead (inline when Redis is known
  /// to be unreachable or the adapter queue is full; on the adapter thread when the reply is an
  /// error or does not arrive within the request timeout).
  void query_channel(std::size_t app_index, std::string_view channel, CountsCallback done) override;
  void query_users(std::size_t app_index, std::string_view channel, UsersCallback done) override;
  void query_channels(std::size_t app_index, std::string_view prefix,
                      std::function<void(std::vector<ChannelInfo>)> done) override;

  [[nodiscard]] bool available() const noexcept override;
  void joined(std::size_t app_index, std::string_view channel,
              const channels::JoinResult& res) override;
  bool presence_joined(const PresenceJoin& who, const channels::JoinResult* res,
                       MembersCallback done) override;
  void left(std::size_t app_index, std::string_view channel, channels::ConnId conn,
            const channels::LeaveResult& res) override;
  void user_online_changed(std::size_t app_index, std::string_view user_id, bool online) override;
  bool users_online(std::size_t app_index, std::vector<std::string> user_ids,
                    OnlineCallback done) override;
  void terminate_user(std::size_t app_index, std::string_view user_id, WsError why) override;
  void append_metrics(std::string& out, std::string_view port_label) override;

  // Protocol V2 across the cluster (server/redis_sequence.cpp).
  [[nodiscard]] bool sequences() const noexcept override { return sequenced_; }
  void stream_position(std::size_t app_index, std::string_view channel,
                       PositionCallback done) override;
  void history(std::size_t app_index, std::string_view channel, HistoryRequest request,
               HistoryCallback done) override;
  void claim_key(std::size_t app_index, std::string_view key, ClaimCallback done) override;
  void complete_key(std::size_t app_index, std::string_view key, std::string body) override;
  void release_key(std::size_t app_index, std::string_view key) override;

 private:
  using ReplyFn = std::function<void(std::optional<RedisValue>)>;

  /// One Redis server: the whole Redis (driver redis) or one primary of a Redis Cluster.
  struct Shard {
    RedisEndpoint where;
    std::shared_ptr<RedisConnection> cmd;  ///< commands and scripts
    std::shared_ptr<RedisConnection> sub;  ///< (S)SUBSCRIBE to `channels`
    std::vector<std::string> channels;
    bool cmd_up = false;
    std::size_t confirmed = 0;                       ///< subscriptions confirmed on `sub`
    std::unordered_set<std::string> loaded_scripts;  ///< SHA1s already EVALed on `cmd`
  };

  // ---- adapter thread only ------------------------------------------------------------------
  void connect();
  /// Redis Cluster: asks seed `i` (then the next) for the slot map, then opens the shards.
  void discover(std::size_t i, std::string last_error);
  /// Opens every shard's two connections (generation `gen`).
  void open_shards();
  void on_cmd_up(std::uint64_t gen, std::size_t shard);
  void on_push(std::uint64_t gen, std::size_t shard, const redisReply& push);
  void on_conn_lost(std::uint64_t gen, std::string_view why);
  /// Closes every connection of the current generation (no callbacks from them afterwards).
  void teardown();
  /// The shard a command goes to: single Redis 0; a cluster routes by the command's key (for
  /// EVAL, by convention, its first argument: a key or hash-tagged prefix of the slot it
  /// touches), and EVAL ... 0 becomes EVAL ... 1 <that key>, PUBLISH becomes SPUBLISH.
  std::size_t route(std::vector<std::string>& args);
  /// Sends `args` to shard `s`; follows MOVED / ASK (`hops` left) within the known shards.
  void send_to(std::size_t s, std::vector<std::string> args, ReplyFn done, int hops);
  /// The reply to `keep` sent to shard `s`: NOSCRIPT, MOVED / ASK followed, else `done`.
  void on_command_reply(std::uint64_t gen, std::size_t s,
                        const std::shared_ptr<std::vector<std::string>>& keep, ReplyFn done,
                        int hops, const redisReply* reply);
  void settle_command();
  /// The key prefix and bus of (app, channel): one bucket of the cluster, or the single bus.
  [[nodiscard]] std::string_view channel_prefix(std::string_view app_id,
                                                std::string_view channel) const;
  [[nodiscard]] const std::string& channel_bus(std::string_view app_id,
                                               std::string_view channel) const;
  [[nodiscard]] std::size_t bucket_of(std::string_view app_id, std::string_view channel) const;
  static constexpr std::chrono::milliseconds max_backoff_{5000};
  void schedule_reconnect();
  void resync();
  void heartbeat();
  /// Writes this node's connection count of every app with a quota and reads the other live
  /// nodes' (AppRuntime::remote_connections), once per heartbeat (redis_membership.cpp).
  void share_connection_counts();
  void schedule_heartbeat();
  void command(std::vector<std::string> args, ReplyFn done);
  void on_bus_message(std::string_view payload);
  void emit_webhook(std::size_t app_index, std::string_view name, std::string_view channel,
                    std::optional<std::string_view> user_id = std::nullopt,
                    std::optional<std::uint64_t> count = std::nullopt);
  /// member_added / member_removed, `user_id` typed as signed (protocol §5.1).
  void emit_member_webhook(std::size_t app_index, std::string_view name, std::string_view channel,
                           std::string_view user_id, bool user_id_numeric);
  [[nodiscard]] bool state_ready() const noexcept { return cmd_up_ && synced_; }
  std::vector<std::string> script(std::string_view body, std::initializer_list<std::string> args);

  // ---- any thread ---------------------------------------------------------------------------
  /// Posts work to the adapter thread; false (and counted as dropped) when too much is queued.
  bool post(std::function<void()> fn);
  /// PUBLISHes an envelope on `bus` (bus_, or a channel's bucket: channel_bus()).
  void publish_envelope(std::string envelope, const std::string& bus);
  /// Recovery on: numbers a channel message in Redis and publishes it on the bus, from where
  /// every node (this one too) delivers it in serial order (server/redis_sequence.cpp).
  /// `done` (may be null) is told whether Redis numbered it (adapter thread, or inline).
  void publish_sequenced(std::size_t app_index, std::string_view channel, std::string json,
                         channels::ConnId except, std::string except_socket,
                         PublishDone done = nullptr);
  /// A `sequenced` / `position` envelope from the bus (adapter thread).
  void on_sequenced(std::size_t app_index, std::string_view channel, std::string_view payload,
                    channels::ConnId except);
  void on_position(std::size_t app_index, std::string_view channel, std::string_view payload,
                   bool asked_here);
  /// Answers every stream_position still waiting with nullopt (the connection was lost).
  void fail_positions();
  [[nodiscard]] std::string idem_key(std::size_t app_index, std::string_view key) const;
  // The membership steps (under the state mutex, in decision order; the work runs on the
  // adapter thread). This node's subscription count of (app, channel) is now `local_count`.
  void subscription_changed(std::size_t app_index, std::string_view channel,
                            std::size_t local_count);
  /// A presence subscribe; `local_first` when the user is new on this node.
  void presence_join(const PresenceJoin& who, bool local_first, MembersCallback done);
  /// The user's last connection on this node left the presence channel.
  void presence_left(std::size_t app_index, std::string_view channel, std::string_view user_id,
                     bool user_id_numeric);
  /// One query round trip, bounded by the request timeout counted from this call. `done` gets
  /// the reply on the adapter thread, or nullopt (inline when Redis is unavailable or the queue
  /// is full; on the adapter thread when the reply is an error or the timeout passed, which is
  /// counted as a failed request and logged). Called exactly once.
  void query(std::vector<std::string> args, ReplyFn done);
  /// EVAL of a query script with (prefix, node id, app id, `arg`).
  std::vector<std::string> query_script(std::string_view body, std::size_t app_index,
                                        std::string_view arg);

  Hub& hub_;
  const AdapterSettings settings_;
  const bool cluster_;  ///< driver redis-cluster
  /// The Redis (driver redis) or the cluster's seeds; credentials and TLS apply to every shard.
  const std::vector<RedisEndpoint> seeds_;
  const RedisTlsSettings tls_settings_;
  std::shared_ptr<net::ssl::context> tls_;  ///< null: plain TCP
  const std::string node_id_;
  /// The prefix of the cluster state's keys: `prefix`, or `{prefix}` on a cluster (one slot).
  const std::string state_prefix_;
  const std::string bus_;  ///< state_prefix_ + "#bus": membership, watchlists, terminate
  const std::vector<SlotBucket> buckets_;  ///< cluster: where channel traffic is sharded
  LocalAdapter local_;

  net::io_context ioc_{1};
  net::executor_work_guard<net::io_context::executor_type> work_;
  net::steady_timer reconnect_timer_;
  net::steady_timer heartbeat_timer_;
  std::thread thread_;

  std::vector<Shard> shards_;
  std::vector<std::uint16_t> slot_owner_;  ///< cluster: slot -> index in shards_
  /// Scripts by text as the call sites build them -> SHA1 of the text sent (SPUBLISH on a
  /// cluster), and SHA1 -> that text (EVALSHA, server/redis_shards.cpp).
  std::unordered_map<std::string, std::string> script_sha_;
  std::unordered_map<std::string, std::string> script_body_;
  std::shared_ptr<RedisConnection> discovery_;
  std::uint64_t generation_ = 0;  ///< bumped by teardown(): older callbacks are ignored
  bool cmd_up_ = false;
  bool sub_up_ = false;
  bool synced_ = false;         ///< RESYNC issued on the current command connection
  bool outage_logged_ = false;  ///< one log line per outage
  bool ever_connected_ = false;
  bool stopping_ = false;  ///< the destructor began: no reconnects, no timers
  std::chrono::milliseconds backoff_{100};
  std::uint64_t synced_seq_ = 0;  ///< hooks up to this sequence are in the last RESYNC
  std::size_t pending_ = 0;       ///< commands awaiting their reply
  std::chrono::steady_clock::time_point last_reply_{};

  /// Hook sequence, guarded by the hub's state mutex (hooks run under it).
  std::uint64_t seq_ = 0;
  /// Recovery on: serials come from Redis, the replay buffer mirrors the bus.
  const bool sequenced_;
  /// stream_position calls waiting for their `position` envelope, by app id + '\0' + channel.
  std::unordered_map<std::string, std::vector<PositionCallback>> positions_waiting_;

  /// Users signed in on this node, per app index (for resync). Guarded by the state mutex.
  std::vector<std::unordered_set<std::string>> online_;

  std::atomic<bool> connected_{false};
  std::atomic<std::size_t> queued_{0};  ///< posted to the adapter thread, not yet run

  // Metrics (relaxed atomics; Sockudo's horizontal_adapter_* names where they fit).
  std::atomic<std::uint64_t> sent_requests_{0};
  std::atomic<std::uint64_t> received_responses_{0};
  std::atomic<std::uint64_t> received_messages_{0};
  std::atomic<std::uint64_t> failed_requests_{0};
  std::atomic<std::uint64_t> outages_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> resyncs_{0};
  std::atomic<std::uint64_t> reaped_nodes_{0};
  std::atomic<std::uint64_t> redirects_{0};  ///< MOVED / ASK followed (redis-cluster)
};

/// Start-up check of the adapter's Redis settings: a message naming the key when credentials,
/// TLS files, the TLS handshake or the database are refused, or a cluster has no seed node;
/// nullopt when usable or unreachable (the node then starts and retries).
[[nodiscard]] std::optional<std::string> redis_startup_error(const AdapterSettings& settings);

}  // namespace server
