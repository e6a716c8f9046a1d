// The hiredis <-> Asio glue (server/redis_connection.hpp): one hiredis async connection whose
// event hooks are Asio waits, and the copy of a hiredis reply into a RedisValue. No Pusher and
// no cluster logic here.

#include "server/redis_connection.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdlib>

namespace server {

RedisValue copy_reply(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      v.kind = RedisValue::Kind::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      v.kind = RedisValue::Kind::string;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.kind = RedisValue::Kind::status;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.kind = RedisValue::Kind::error;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      v.kind = RedisValue::Kind::array;
      v.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      break;
  }
  return v;
}

std::int64_t as_int(const RedisValue& v) {
  if (v.kind == RedisValue::Kind::integer) return v.integer;
  if (v.kind == RedisValue::Kind::string) return std::atoll(v.str.c_str());
  return 0;
}

bool RedisConnection::open(net::io_context& ioc, const std::string& host, int port) {
  redisAsyncContext* ac = redisAsyncConnect(host.c_str(), port);
  if (ac == nullptr) return false;
  if (ac->err != 0) {
    redisAsyncFree(ac);
    return false;
  }
  ctx = ac;
  sd_ = std::make_unique<net::posix::stream_descriptor>(ioc, ac->c.fd);
  ac->ev.data = this;
  ac->ev.addRead = &RedisConnection::add_read;
  ac->ev.delRead = &RedisConnection::del_read;
  ac->ev.addWrite = &RedisConnection::add_write;
  ac->ev.delWrite = &RedisConnection::del_write;
  ac->ev.cleanup = &RedisConnection::cleanup;
  return true;
}

int RedisConnection::send(const std::vector<std::string>& args, Callback* fn, void* priv) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& s : args) {
    argv.push_back(s.data());
    lens.push_back(s.size());
  }
  return redisAsyncCommandArgv(ctx, fn, priv, static_cast<int>(argv.size()), argv.data(),
                               lens.data());
}

void RedisConnection::close() {
  if (ctx != nullptr) {
    redisAsyncContext* c = ctx;
    redisAsyncFree(c);  // -> cleanup hook below clears ctx and releases the descriptor
  }
  ctx = nullptr;
}

void RedisConnection::arm_read() {
  if (read_armed_ || ctx == nullptr || !sd_) return;
  read_armed_ = true;
  sd_->async_wait(net::posix::stream_descriptor::wait_read,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    self->read_armed_ = false;
                    if (ec || self->ctx == nullptr || !self->want_read_) return;
                    redisAsyncHandleRead(self->ctx);
                    if (self->ctx != nullptr && self->want_read_) self->arm_read();
                  });
}

void RedisConnection::arm_write() {
  if (write_armed_ || ctx == nullptr || !sd_) return;
  write_armed_ = true;
  sd_->async_wait(net::posix::stream_descriptor::wait_write,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    self->write_armed_ = false;
                    if (ec || self->ctx == nullptr || !self->want_write_) return;
                    redisAsyncHandleWrite(self->ctx);
                    if (self->ctx != nullptr && self->want_write_) self->arm_write();
                  });
}

void RedisConnection::add_read(void* p) {
  auto* c = static_cast<RedisConnection*>(p);
  c->want_read_ = true;
  c->arm_read();
}

void RedisConnection::del_read(void* p) {
  static_cast<RedisConnection*>(p)->want_read_ = false;
}

void RedisConnection::add_write(void* p) {
  auto* c = static_cast<RedisConnection*>(p);
  c->want_write_ = true;
  c->arm_write();
}

void RedisConnection::del_write(void* p) {
  static_cast<RedisConnection*>(p)->want_write_ = false;
}

void RedisConnection::cleanup(void* p) {
  auto* c = static_cast<RedisConnection*>(p);
  c->want_read_ = c->want_write_ = false;
  c->ctx = nullptr;
  if (c->sd_) {
    // hiredis owns (and closes) the fd: give it back without closing; pending waits abort.
    boost::system::error_code ec;
    c->sd_->cancel(ec);
    (void)c->sd_->release();
  }
}

std::optional<std::string> redis_setup_error(const std::string& host, std::uint16_t port,
                                             const std::string& username,
                                             const std::string& password, std::uint32_t db,
                                             std::chrono::milliseconds timeout) {
  if (password.empty() && db == 0) return std::nullopt;  // nothing Redis could refuse
  const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  std::unique_ptr<redisContext, void (*)(redisContext*)> ctx(
      redisConnectWithTimeout(host.c_str(), port, tv), &redisFree);
  if (!ctx || ctx->err != 0) return std::nullopt;  // unreachable: not a configuration error
  (void)redisSetTimeout(ctx.get(), tv);
  auto run = [&](std::vector<std::string> args) -> std::optional<std::string> {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    std::unique_ptr<redisReply, void (*)(void*)> reply(
        static_cast<redisReply*>(
            redisCommandArgv(ctx.get(), static_cast<int>(argv.size()), argv.data(), lens.data())),
        &freeReplyObject);
    if (reply && reply->type == REDIS_REPLY_ERROR) {
      return std::string(reply->str, reply->len).substr(0, 200);
    }
    return std::nullopt;  // accepted, or the connection failed (then the adapter retries)
  };
  if (!password.empty()) {
    auto err = username.empty() ? run({"AUTH", password}) : run({"AUTH", username, password});
    if (err) return "AUTH refused: " + *err;
  }
  if (db != 0) {
    if (auto err = run({"SELECT", std::to_string(db)}))
      return "SELECT " + std::to_string(db) + " refused: " + *err;
  }
  return std::nullopt;
}

}  // namespace server
