// A Redis connection on Asio (server/redis_connection.hpp): resolve, connect, optional TLS,
// AUTH/SELECT, a FIFO of reply callbacks, pushes for subscriber connections; hiredis only parses
// RESP (redisReader). No Pusher and no cluster logic here.

#include "server/redis_connection.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/ssl.hpp>
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

RedisEndpoint endpoint_of(const RedisUrl& url) {
  return RedisEndpoint{url.host, url.port, url.username, url.password, url.db, url.tls};
}

void append_command(std::string& out, const std::vector<std::string>& args) {
  out.push_back('*');
  out.append(std::to_string(args.size())).append("\r\n");
  for (const std::string& a : args) {
    out.push_back('$');
    out.append(std::to_string(a.size())).append("\r\n");
    out.append(a).append("\r\n");
  }
}

// ============================================================================================
// TLS context
// ============================================================================================

std::shared_ptr<net::ssl::context> make_redis_tls_context(const RedisTlsSettings& tls,
                                                          std::string_view key) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  const std::string k(key);
  auto fail = [&](const std::string& field, const std::string& path,
                  const boost::system::error_code& ec) {
    throw ConfigError(k + "." + field + ": cannot load '" + path + "': " + ec.message());
  };
  boost::system::error_code ec;
  if (tls.accept_invalid_certs) {
    ctx->set_verify_mode(net::ssl::verify_none);
  } else {
    ctx->set_verify_mode(net::ssl::verify_peer);
    if (!tls.ca_path.empty()) {
      if (ctx->load_verify_file(tls.ca_path, ec); ec) fail("ca_path", tls.ca_path, ec);
    } else {
      ctx->set_default_verify_paths(ec);  // the system's CA store (a managed Redis' public CA)
    }
  }
  if (tls.client_cert_path.empty() != tls.client_key_path.empty()) {
    throw ConfigError(k + ": client_cert_path and client_key_path go together (mutual TLS)");
  }
  if (!tls.client_cert_path.empty()) {
    if (ctx->use_certificate_chain_file(tls.client_cert_path, ec); ec) {
      fail("client_cert_path", tls.client_cert_path, ec);
    }
    if (ctx->use_private_key_file(tls.client_key_path, net::ssl::context::pem, ec); ec) {
      fail("client_key_path", tls.client_key_path, ec);
    }
  }
  return ctx;
}

// ============================================================================================
// The connection
// ============================================================================================

namespace {
/// Write buffers larger than this are released once written.
constexpr std::size_t max_idle_buffer = 64 * 1024;
}  // namespace

struct RedisConnection::Impl {
  explicit Impl(net::io_context& ioc) : resolver(ioc), timer(ioc) {}
  tcp::resolver resolver;
  net::steady_timer timer;
  std::optional<tcp::socket> plain;
  std::optional<net::ssl::stream<tcp::socket>> tls;
  std::array<char, 64 * 1024> buf{};
  bool accept_invalid_certs = false;

  tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
  template <class F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*plain);
    }
  }
};

RedisConnection::RedisConnection(net::io_context& ioc, std::shared_ptr<net::ssl::context> tls,
                                 bool accept_invalid_certs)
    : ioc_(ioc), impl_(std::make_unique<Impl>(ioc)) {
  impl_->accept_invalid_certs = accept_invalid_certs;
  if (tls) {
    impl_->tls.emplace(ioc, *tls);
  } else {
    impl_->plain.emplace(ioc);
  }
  // The context is kept alive by whoever made it (the adapter) for as long as its connections.
}

RedisConnection::~RedisConnection() {
  if (reader_ != nullptr) redisReaderFree(reader_);
}

void RedisConnection::open(const RedisEndpoint& where, std::chrono::milliseconds connect_timeout,
                           std::function<void()> up, std::function<void(std::string)> lost,
                           PushFn push) {
  on_up_ = std::move(up);
  on_lost_ = std::move(lost);
  on_push_ = std::move(push);
  reader_ = redisReaderCreate();
  if (reader_ == nullptr) {
    fail("out of memory");
    return;
  }
  // AUTH and SELECT go first; `up` when both were accepted (replies come in order).
  auto setup = [this](std::string what) -> ReplyFn {
    return [this, what = std::move(what)](const redisReply* r) {
      if (r == nullptr) return;  // lost or closed: `this` may be gone, touch nothing
      if (r->type == REDIS_REPLY_ERROR) {
        fail(what + " refused: " + std::string(r->str, r->len).substr(0, 200));
      } else if (--setup_left_ == 0) {
        become_up();
      }
    };
  };
  if (!where.password.empty()) {
    if (where.username.empty()) {
      append_command(out_, {"AUTH", where.password});
    } else {
      append_command(out_, {"AUTH", where.username, where.password});
    }
    waiting_.push_back(setup("AUTH"));
    ++setup_left_;
  }
  if (where.db != 0) {
    append_command(out_, {"SELECT", std::to_string(where.db)});
    waiting_.push_back(setup("SELECT " + std::to_string(where.db)));
    ++setup_left_;
  }
  auto self = shared_from_this();
  impl_->timer.expires_after(connect_timeout);
  impl_->timer.async_wait([self, connect_timeout](const boost::system::error_code& ec) {
    if (ec || self->up_) return;
    self->fail("connect timed out after " + std::to_string(connect_timeout.count()) + " ms");
  });
  const std::string host = where.host;
  impl_->resolver.async_resolve(
      host, std::to_string(where.port),
      [self, host](const boost::system::error_code& ec, const tcp::resolver::results_type& eps) {
        if (self->closed_) return;
        if (ec) {
          self->fail("resolve: " + ec.message());
          return;
        }
        net::async_connect(
            self->impl_->socket(), eps,
            [self, host](const boost::system::error_code& ec2, const tcp::endpoint&) {
              if (self->closed_) return;
              if (ec2) {
                self->fail("connect: " + ec2.message());
                return;
              }
              boost::system::error_code ignored;
              self->impl_->socket().set_option(tcp::no_delay(true), ignored);
              auto established = [self] {
                self->connected_ = true;
                self->start_read();
                self->start_write();
                if (self->setup_left_ == 0) self->become_up();
              };
              if (!self->impl_->tls) {
                established();
                return;
              }
              auto& s = *self->impl_->tls;
              boost::system::error_code not_ip;
              (void)net::ip::make_address(host, not_ip);
              if (not_ip) SSL_set_tlsext_host_name(s.native_handle(), host.c_str());  // SNI
              if (!self->impl_->accept_invalid_certs) {
                s.set_verify_callback(net::ssl::host_name_verification(host));
              }
              s.async_handshake(net::ssl::stream_base::client,
                                [self, established](const boost::system::error_code& ec3) {
                                  if (self->closed_) return;
                                  if (ec3) {
                                    self->fail("TLS handshake: " + ec3.message());
                                    return;
                                  }
                                  established();
                                });
            });
      });
}

void RedisConnection::send(const std::vector<std::string>& args, ReplyFn done) {
  if (closed_) {
    if (done) net::post(ioc_, [done = std::move(done)] { done(nullptr); });
    return;
  }
  append_command(out_, args);
  if (done || !on_push_) waiting_.push_back(std::move(done));  // may be null: answer dropped
  start_write();
}

void RedisConnection::become_up() {
  if (up_ || closed_) return;
  up_ = true;
  impl_->timer.cancel();
  auto up = std::move(on_up_);  // runs once; may close this connection
  on_up_ = nullptr;
  if (up) up();
}

void RedisConnection::close() {
  on_lost_ = nullptr;
  fail("closed");
}

void RedisConnection::fail(std::string why) {
  if (closed_) return;
  closed_ = true;
  up_ = connected_ = false;
  boost::system::error_code ignored;
  impl_->timer.cancel();
  impl_->resolver.cancel();
  impl_->socket().close(ignored);
  // Whatever waited for a reply learns it will not come (posted: never inside its caller).
  for (ReplyFn& fn : waiting_) {
    if (fn) net::post(ioc_, [fn = std::move(fn)] { fn(nullptr); });
  }
  waiting_.clear();
  out_.clear();
  on_up_ = nullptr;
  if (auto lost = std::move(on_lost_)) {
    on_lost_ = nullptr;
    net::post(ioc_, [lost = std::move(lost), why = std::move(why)] { lost(why); });
  }
}

void RedisConnection::start_write() {
  if (writing_now_ || out_.empty() || !connected_ || closed_) return;
  writing_.swap(out_);
  out_.clear();
  writing_now_ = true;
  auto self = shared_from_this();
  impl_->with_stream([&](auto& s) {
    net::async_write(s, net::buffer(writing_),
                     [self](const boost::system::error_code& ec, std::size_t) {
                       self->writing_now_ = false;
                       if (self->closed_) return;
                       if (ec) {
                         self->fail("write: " + ec.message());
                         return;
                       }
                       self->writing_.clear();
                       // A burst (a thousand subscribes at once) must not stay resident.
                       if (self->writing_.capacity() > max_idle_buffer) {
                         self->writing_.shrink_to_fit();
                       }
                       if (self->out_.empty() && self->out_.capacity() > max_idle_buffer) {
                         self->out_.shrink_to_fit();
                       }
                       self->start_write();
                     });
  });
}

void RedisConnection::start_read() {
  auto self = shared_from_this();
  impl_->with_stream([&](auto& s) {
    s.async_read_some(
        net::buffer(impl_->buf), [self](const boost::system::error_code& ec, std::size_t n) {
          if (self->closed_) return;
          if (ec) {
            self->fail(ec == net::error::eof || ec == net::ssl::error::stream_truncated
                           ? std::string("closed by Redis")
                           : "read: " + ec.message());
            return;
          }
          self->on_data(n);
          if (!self->closed_) self->start_read();
        });
  });
}

void RedisConnection::on_data(std::size_t n) {
  if (redisReaderFeed(reader_, impl_->buf.data(), n) != REDIS_OK) {
    fail("out of memory");
    return;
  }
  while (!closed_) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
      fail(std::string("protocol error: ") + reader_->errstr);
      return;
    }
    if (raw == nullptr) return;
    std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                       &freeReplyObject);
    dispatch(reply.get());
  }
}

namespace {

bool is_push(const redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) return false;
  const redisReply* k = r->element[0];
  if (k->type != REDIS_REPLY_STRING) return false;
  const std::string_view kind(k->str, k->len);
  return kind == "message" || kind == "smessage" || kind == "pmessage" || kind == "subscribe" ||
         kind == "ssubscribe" || kind == "psubscribe" || kind == "unsubscribe" ||
         kind == "sunsubscribe" || kind == "punsubscribe";
}

}  // namespace

void RedisConnection::dispatch(redisReply* reply) {
  if (on_push_ && is_push(reply)) {
    on_push_(*reply);
    return;
  }
  if (waiting_.empty()) {
    fail(reply->type == REDIS_REPLY_ERROR
             ? "unexpected error reply: " + std::string(reply->str, reply->len).substr(0, 200)
             : std::string("unexpected reply"));
    return;
  }
  ReplyFn fn = std::move(waiting_.front());
  waiting_.pop_front();
  if (fn) fn(reply);
}

// ============================================================================================
// Start-up check
// ============================================================================================

std::optional<std::string> redis_setup_error(const RedisEndpoint& where,
                                             const std::shared_ptr<net::ssl::context>& tls,
                                             bool accept_invalid_certs,
                                             std::chrono::milliseconds timeout) {
  if (!tls && where.password.empty() && where.db == 0) return std::nullopt;  // nothing to refuse
  net::io_context ioc{1};
  std::optional<std::string> result;
  auto conn = std::make_shared<RedisConnection>(ioc, tls, accept_invalid_certs);
  // A PING after the setup: a TLS server that wants a client certificate refuses it only after
  // the (TLS 1.3) handshake.
  std::weak_ptr<RedisConnection> weak = conn;
  conn->open(
      where, timeout,
      [weak, &result] {
        auto c = weak.lock();
        if (!c) return;
        c->send({"PING"}, [weak, &result](const redisReply* r) {
          if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
            result = "PING refused: " + std::string(r->str, r->len).substr(0, 200);
          }
          if (auto c2 = weak.lock()) c2->close();
        });
      },
      [&result](const std::string& why) {
        // Unreachable is not a configuration error (the adapter retries); a refusal is.
        if (why.starts_with("resolve:") || why.starts_with("connect:") ||
            why.starts_with("connect timed out") || why == "closed by Redis") {
          return;
        }
        result = why;
      });
  ioc.run_for(timeout + std::chrono::milliseconds(500));
  conn->close();
  ioc.restart();
  ioc.poll();
  return result;
}

}  // namespace server
