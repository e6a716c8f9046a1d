#pragma once
// A Redis client on an Asio io_context: one hiredis async connection whose socket readiness is
// waited for by Asio, and RedisValue, a reply copied out of hiredis. Knows nothing of Pusher or
// of the cluster: RedisAdapter (server/redis_adapter.*) owns two of these and gives hiredis its
// connect, disconnect and reply callbacks.
//
// Single-threaded: every member runs on the thread of the io_context passed to open().

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/net.hpp"

struct redisAsyncContext;  // <hiredis/async.h>
struct redisReply;         // <hiredis/hiredis.h>

namespace server {

/// A Redis reply copied out of hiredis (whose reply objects die with the callback).
struct RedisValue {
  enum class Kind : std::uint8_t { nil, integer, string, status, error, array };
  Kind kind = Kind::nil;
  long long integer = 0;
  std::string str;
  std::vector<RedisValue> elements;
};

/// A deep copy of the hiredis reply `r` (not null); reply types other than the ones above
/// become nil.
[[nodiscard]] RedisValue copy_reply(const redisReply* r);

/// The number in `v`: an integer reply, or a string reply parsed with atoll (Lua numbers come
/// back as either); 0 for any other kind.
[[nodiscard]] std::int64_t as_int(const RedisValue& v);

/// One hiredis async connection driven by Asio. hiredis's event hooks (addRead/delRead/
/// addWrite/delWrite/cleanup) arm one-shot waits on a non-owning posix::stream_descriptor; each
/// pending wait holds a shared_ptr to the connection, so always own it through a shared_ptr.
struct RedisConnection : std::enable_shared_from_this<RedisConnection> {
  /// The hiredis context: null before open(), and again once hiredis freed it (close(), or
  /// hiredis itself after a disconnect). ctx->data is the owner's.
  redisAsyncContext* ctx = nullptr;

  /// hiredis's callback shape (redisCallbackFn): the context, the reply (null when the context
  /// is freed before it arrives), the `priv` given to send().
  using Callback = void(redisAsyncContext* ac, void* reply, void* priv);

  /// Starts a non-blocking connect to host:port and attaches the Asio hooks to `ioc`; false
  /// (nothing kept, ctx stays null) when hiredis cannot create the context. The caller then sets
  /// ctx->data and the connect and disconnect callbacks (the connect callback arms the first
  /// write wait, so the hooks are in place before it).
  [[nodiscard]] bool open(net::io_context& ioc, const std::string& host, int port);

  /// Queues one command, arguments binary-safe. hiredis's REDIS_OK, or REDIS_ERR when it refused
  /// the command (then `fn` never runs); after REDIS_OK `fn` runs exactly once. Needs ctx.
  int send(const std::vector<std::string>& args, Callback* fn, void* priv);

  /// Frees the hiredis context (its pending callbacks run with a null reply). Never from inside
  /// one of this context's callbacks (callers defer with a post). No-op when ctx is null.
  void close();

 private:
  void arm_read();
  void arm_write();
  static void add_read(void* p);
  static void del_read(void* p);
  static void add_write(void* p);
  static void del_write(void* p);
  static void cleanup(void* p);

  std::unique_ptr<net::posix::stream_descriptor> sd_;
  bool want_read_ = false, want_write_ = false;
  bool read_armed_ = false, write_armed_ = false;
};

/// Start-up check of a Redis URL's credentials and database (blocking, bounded by `timeout`):
/// the error Redis answers to AUTH or SELECT ("WRONGPASS ...", "ERR DB index is out of range"),
/// or nullopt when they are accepted or Redis cannot be reached (the adapter then retries, and
/// serves local clients meanwhile). Never includes the password.
[[nodiscard]] std::optional<std::string> redis_setup_error(
    const std::string& host, std::uint16_t port, const std::string& username,
    const std::string& password, std::uint32_t db, std::chrono::milliseconds timeout);

}  // namespace server
