#include "server/webhook_http.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <utility>

namespace server {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

namespace {

// Responses are only read for their status; a larger body ends the connection (not the attempt).
constexpr std::uint64_t max_response_body_bytes = 64 * 1024;
// Idle keep-alive connections kept per origin; more are closed when released.
constexpr std::size_t max_idle_per_origin = 32;

std::string origin_key(const WebhookOrigin& origin) {
  return std::string(origin.tls ? "https://" : "http://") + origin.host + ":" +
         std::to_string(origin.port);
}

// Errors that mean "the peer had already closed this idle keep-alive connection".
bool is_stale_connection_error(const error_code& ec) {
  return ec == net::error::eof || ec == http::error::end_of_stream ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == ssl::error::stream_truncated;
}

}  // namespace

std::string WebhookHttpResult::describe() const {
  if (status != 0) {
    return "status " + std::to_string(status);
  }
  if (timed_out) {
    return "timeout";
  }
  return error ? error.message() : std::string("no response");
}

// ================================================================================================
// Connection: a TCP socket, optionally wrapped in TLS, plus its read buffer
// ================================================================================================

struct WebhookHttpClient::Connection {
  Connection(net::io_context& ioc, ssl::context* tls_context) : socket(ioc) {
    if (tls_context != nullptr) {
      tls = std::make_unique<ssl::stream<tcp::socket>>(ioc, *tls_context);
    }
  }

  tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }

  // Closes the socket; pending operations complete with operation_aborted.
  void close() {
    error_code ignored;
    lowest().close(ignored);
  }

  tcp::socket socket;  // used for http:// only
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buffer;
  Clock::time_point last_used{};
};

// ================================================================================================
// One attempt: resolve -> connect -> TLS handshake -> write -> read, under one deadline
// ================================================================================================

class WebhookExchange : public std::enable_shared_from_this<WebhookExchange> {
 public:
  using Connection = WebhookHttpClient::Connection;

  WebhookExchange(WebhookHttpClient& client, const WebhookOrigin& origin,
                  std::shared_ptr<const WebhookRequest> request, std::chrono::milliseconds timeout,
                  WebhookHttpClient::Done done)
      : client_(client),
        origin_(origin),
        key_(origin_key(origin)),
        request_(std::move(request)),
        timeout_(timeout),
        done_(std::move(done)),
        timer_(client.ioc_),
        resolver_(client.ioc_) {}

  void run() {
    // The deadline covers the whole attempt; on expiry everything pending is cancelled.
    timer_.expires_after(timeout_);
    timer_.async_wait(beast::bind_front_handler(&WebhookExchange::on_deadline, shared_from_this()));
    conn_ = client_.take_idle(key_);
    if (conn_) {
      reused_ = true;
      // Post, so `done` is never called from inside send().
      net::post(client_.ioc_,
                beast::bind_front_handler(&WebhookExchange::do_write, shared_from_this()));
    } else {
      start_fresh();
    }
  }

 private:
  void start_fresh() {
    reused_ = false;
    conn_ = std::make_unique<Connection>(client_.ioc_, origin_.tls ? &client_.ssl_ : nullptr);
    error_code ec;
    const net::ip::address address = net::ip::make_address(origin_.host, ec);
    if (!ec) {
      // An IP literal needs no DNS.
      endpoints_.assign(1, tcp::endpoint(address, origin_.port));
      net::async_connect(
          conn_->lowest(), endpoints_,
          beast::bind_front_handler(&WebhookExchange::on_connect, shared_from_this()));
      return;
    }
    resolver_.async_resolve(
        origin_.host, std::to_string(origin_.port),
        beast::bind_front_handler(&WebhookExchange::on_resolve, shared_from_this()));
  }

  void on_deadline(error_code ec) {
    if (ec || finished_) {
      return;  // cancelled: the attempt ended in time
    }
    timed_out_ = true;
    resolver_.cancel();
    if (conn_) {
      conn_->close();
    }
  }

  void on_resolve(error_code ec, const tcp::resolver::results_type& results) {
    if (ec || timed_out_) {
      return finish_error(ec);
    }
    net::async_connect(conn_->lowest(), results,
                       beast::bind_front_handler(&WebhookExchange::on_connect, shared_from_this()));
  }

  void on_connect(error_code ec, const tcp::endpoint&) {
    if (ec || timed_out_) {
      return finish_error(ec);
    }
    error_code ignored;
    conn_->lowest().set_option(tcp::no_delay(true), ignored);
    if (!conn_->tls) {
      return do_write();
    }
    // TLS: SNI (names only, not IP literals), certificate chain and host name verification.
    error_code not_ip;
    (void)net::ip::make_address(origin_.host, not_ip);
    if (not_ip &&
        SSL_set_tlsext_host_name(conn_->tls->native_handle(), origin_.host.c_str()) != 1) {
      return finish_error(
          error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()));
    }
    conn_->tls->set_verify_mode(ssl::verify_peer, ec);
    if (!ec) {
      conn_->tls->set_verify_callback(ssl::host_name_verification(origin_.host), ec);
    }
    if (ec) {
      return finish_error(ec);
    }
    conn_->tls->async_handshake(
        ssl::stream_base::client,
        beast::bind_front_handler(&WebhookExchange::on_handshake, shared_from_this()));
  }

  void on_handshake(error_code ec) {
    if (ec || timed_out_) {
      return finish_error(ec);
    }
    do_write();
  }

  void do_write() {
    if (timed_out_) {
      return finish_error({});
    }
    auto handler = beast::bind_front_handler(&WebhookExchange::on_write, shared_from_this());
    if (conn_->tls) {
      http::async_write(*conn_->tls, *request_, std::move(handler));
    } else {
      http::async_write(conn_->socket, *request_, std::move(handler));
    }
  }

  void on_write(error_code ec, std::size_t) {
    if (ec || timed_out_) {
      return fail_io(ec);
    }
    parser_.emplace();
    parser_->body_limit(max_response_body_bytes);
    auto handler = beast::bind_front_handler(&WebhookExchange::on_read, shared_from_this());
    if (conn_->tls) {
      http::async_read(*conn_->tls, conn_->buffer, *parser_, std::move(handler));
    } else {
      http::async_read(conn_->socket, conn_->buffer, *parser_, std::move(handler));
    }
  }

  void on_read(error_code ec, std::size_t) {
    if (timed_out_) {
      return finish_error(ec);
    }
    if (ec) {
      if (ec == http::error::body_limit && parser_->is_header_done()) {
        // The status is known; the connection is not reusable.
        return finish_status(parser_->get().result_int(), false);
      }
      return fail_io(ec);
    }
    finish_status(parser_->get().result_int(), parser_->get().keep_alive());
  }

  // An I/O error after writing began. A reused connection the peer had already closed is
  // replaced once by a fresh one; anything else ends the attempt.
  void fail_io(error_code ec) {
    const bool nothing_received = conn_->buffer.size() == 0 && (!parser_ || !parser_->got_some());
    if (reused_ && !retried_fresh_ && !timed_out_ && nothing_received &&
        is_stale_connection_error(ec)) {
      retried_fresh_ = true;
      conn_->close();
      conn_.reset();
      parser_.reset();
      return start_fresh();
    }
    finish_error(ec);
  }

  void finish_status(unsigned status, bool keep_alive) {
    if (finished_) {
      return;
    }
    WebhookHttpResult result;
    result.status = status;
    if (keep_alive && !timed_out_) {
      conn_->buffer.clear();
      conn_->last_used = WebhookHttpClient::Clock::now();
      client_.release(key_, std::move(conn_));
    }
    finish(result);
  }

  void finish_error(error_code ec) {
    if (finished_) {
      return;
    }
    WebhookHttpResult result;
    result.timed_out = timed_out_;
    result.error = ec ? ec : make_error_code(net::error::operation_aborted);
    finish(result);
  }

  void finish(const WebhookHttpResult& result) {
    finished_ = true;
    timer_.cancel();
    if (conn_) {
      conn_->close();
      conn_.reset();
    }
    WebhookHttpClient::Done done = std::move(done_);
    done(result);
  }

  WebhookHttpClient& client_;  // outlives every exchange (both live on the sender thread)
  WebhookOrigin origin_;
  std::string key_;
  std::shared_ptr<const WebhookRequest> request_;
  std::chrono::milliseconds timeout_;
  WebhookHttpClient::Done done_;
  net::steady_timer timer_;
  tcp::resolver resolver_;
  std::vector<tcp::endpoint> endpoints_;
  std::unique_ptr<Connection> conn_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool reused_ = false;
  bool retried_fresh_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
};

// ================================================================================================
// Client
// ================================================================================================

WebhookHttpClient::WebhookHttpClient(net::io_context& ioc)
    : ioc_(ioc), ssl_(ssl::context::tls_client) {
  error_code ec;
  ssl_.set_default_verify_paths(ec);  // a failure only means no CA: https then fails to verify
  ssl_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
}

WebhookHttpClient::~WebhookHttpClient() = default;

void WebhookHttpClient::send(const WebhookOrigin& origin,
                             std::shared_ptr<const WebhookRequest> request,
                             std::chrono::milliseconds timeout, Done done) {
  std::make_shared<WebhookExchange>(*this, origin, std::move(request), timeout, std::move(done))
      ->run();
}

std::unique_ptr<WebhookHttpClient::Connection> WebhookHttpClient::take_idle(
    const std::string& key) {
  const auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) {
    return nullptr;
  }
  std::unique_ptr<Connection> conn = std::move(it->second.back());  // most recently used
  it->second.pop_back();
  return conn;
}

void WebhookHttpClient::release(const std::string& key, std::unique_ptr<Connection> conn) {
  auto& list = idle_[key];
  if (list.size() >= max_idle_per_origin) {
    conn->close();
    return;
  }
  list.push_back(std::move(conn));
}

void WebhookHttpClient::sweep_idle(Clock::time_point now, std::chrono::milliseconds max_idle) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::erase_if(list, [&](const std::unique_ptr<Connection>& conn) {
      if (now - conn->last_used < max_idle) {
        return false;
      }
      conn->close();
      return true;
    });
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

void WebhookHttpClient::close_idle() {
  for (auto& [key, list] : idle_) {
    for (auto& conn : list) {
      conn->close();
    }
  }
  idle_.clear();
}

std::size_t WebhookHttpClient::idle_connections() const noexcept {
  std::size_t n = 0;
  for (const auto& [key, list] : idle_) {
    n += list.size();
  }
  return n;
}

}  // namespace server
