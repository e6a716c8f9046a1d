#pragma once
// A Redis client connection on an Asio io_context, plain TCP or TLS (OpenSSL through
// asio::ssl), and RedisValue, a reply copied out of hiredis. hiredis (libhiredis-dev 0.14) is
// used only as the RESP parser (redisReader); sockets, TLS, timeouts and the command queue are
// Asio's. Knows nothing of Pusher or of the cluster: RedisAdapter (server/redis_adapter.*) owns
// these connections and gives them their callbacks.
//
// Single-threaded: every member runs on the thread of the io_context given to the constructor.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "server/net.hpp"

struct redisReply;   // <hiredis/hiredis.h>
struct redisReader;  // <hiredis/read.h>

namespace boost::asio::ssl {
class context;
}

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

/// Where and how to connect: host, port, credentials, database, TLS.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  ///< empty: AUTH with the password only
  std::string password;  ///< empty: no AUTH
  std::uint32_t db = 0;  ///< SELECTed when not 0
  bool tls = false;
};

/// The endpoint of a parsed redis:// or rediss:// URL.
[[nodiscard]] RedisEndpoint endpoint_of(const RedisUrl& url);

/// The OpenSSL client context for TLS connections to Redis: TLS 1.2+, peer verification
/// against `tls.ca_path` (else the system's default CA store) unless accept_invalid_certs, an
/// optional client certificate and key. Throws ConfigError naming the file and OpenSSL's
/// reason (start-up only). Shared read-only by every connection afterwards.
/// `key` names the settings in messages ("adapter.redis.tls").
[[nodiscard]] std::shared_ptr<net::ssl::context> make_redis_tls_context(const RedisTlsSettings& tls,
                                                                        std::string_view key);

/// One connection. open() resolves, connects (bounded by the connect timeout), does the TLS
/// handshake (server name checked against the host unless accept_invalid_certs), then pipelines
/// AUTH and SELECT; `up` runs when they were accepted, `lost` (once, with a reason) on any
/// failure after open() and never after close(). Commands may be sent before `up`: they are
/// queued behind the setup commands. Always owned through a shared_ptr (pending I/O holds one).
class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  /// A command's reply: the hiredis reply (valid during the call only), or null when the
  /// connection was lost or closed before it arrived. Runs exactly once per send().
  using ReplyFn = std::function<void(const redisReply* reply)>;
  /// A subscriber connection's pushes (message, smessage, subscribe, ssubscribe, sunsubscribe,
  /// ... arrays), valid during the call only.
  using PushFn = std::function<void(const redisReply& push)>;

  /// `tls` null: plain TCP. `accept_invalid_certs` skips the server name check too.
  RedisConnection(net::io_context& ioc, std::shared_ptr<net::ssl::context> tls,
                  bool accept_invalid_certs = false);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// `push` set: a subscriber connection (arrays whose first element names a pub/sub kind go
  /// to `push`, everything else answers the oldest send() in order).
  void open(const RedisEndpoint& where, std::chrono::milliseconds connect_timeout,
            std::function<void()> up, std::function<void(std::string why)> lost,
            PushFn push = nullptr);

  /// Queues one command (arguments binary-safe). `done` may be null for a subscriber's
  /// (S)SUBSCRIBE, whose answers arrive as pushes. After close() or a loss, `done` runs with
  /// null, posted (never inline).
  void send(const std::vector<std::string>& args, ReplyFn done);

  /// Drops the connection without calling `lost`; pending replies run with null (posted).
  void close();

 private:
  struct Impl;
  void fail(std::string why);
  void become_up();
  void start_write();
  void start_read();
  void on_data(std::size_t n);
  void dispatch(redisReply* reply);

  net::io_context& ioc_;
  std::unique_ptr<Impl> impl_;
  redisReader* reader_ = nullptr;
  std::deque<ReplyFn> waiting_;  ///< one per sent command that answers in order
  std::string out_;              ///< encoded commands not yet handed to a write
  std::string writing_;          ///< the bytes of the write in flight
  bool writing_now_ = false;
  bool connected_ = false;  ///< TCP (and TLS) established: writes may start
  bool up_ = false;
  bool closed_ = false;
  std::size_t setup_left_ = 0;  ///< AUTH / SELECT replies still expected before `up`
  std::function<void()> on_up_;
  std::function<void(std::string)> on_lost_;
  PushFn on_push_;
};

/// RESP encoding of one command (an array of bulk strings), appended to `out`.
void append_command(std::string& out, const std::vector<std::string>& args);

/// Start-up check of one Redis endpoint (blocking, bounded by `timeout`): what makes it
/// unusable as configured — TLS refused (bad CA, wrong name, client certificate refused), AUTH
/// or SELECT refused ("AUTH refused: WRONGPASS ...") — or nullopt when it is accepted or cannot
/// be reached at all (the adapter then retries, and serves local clients meanwhile). Never
/// includes the password.
[[nodiscard]] std::optional<std::string> redis_setup_error(
    const RedisEndpoint& where, const std::shared_ptr<net::ssl::context>& tls,
    bool accept_invalid_certs, std::chrono::milliseconds timeout);

}  // namespace server
