#include "tests/support/ws_client.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "tests/support/json_helpers.hpp"

namespace test_support {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace {

std::string shorten(std::string_view s, std::size_t max = 400) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "...(" + std::to_string(s.size()) + " bytes)";
}

}  // namespace

std::string ws_path_for(std::string_view app_key) {
  return "/app/" + std::string(app_key) + "?protocol=7&client=js&version=8.4.0";
}

std::string Incoming::describe() const {
  switch (kind) {
    case Kind::message:
      return std::string(binary ? "binary" : "text") + " message " + shorten(text);
    case Kind::close:
      return "close code=" + std::to_string(close.code) + " reason=\"" + close.reason + "\"" +
             (close.clean ? "" : " (no close frame)");
    case Kind::timeout:
      return "timeout (nothing received before the deadline)";
  }
  return "?";
}

WsClient::WsClient() = default;

WsClient::~WsClient() {
  if (ws_) {
    drop();
    run_until([&] { return !read_pending_; }, within(std::chrono::seconds(1)));
  }
}

template <class Pred>
bool WsClient::run_until(Pred pred, Deadline deadline) {
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    if (ioc_.stopped()) ioc_.restart();
    if (ioc_.run_one_until(deadline) == 0 && ioc_.stopped()) return pred();  // no work left
  }
  return true;
}

bool WsClient::connect(std::uint16_t port, std::string_view path, const Headers& headers,
                       Deadline deadline) {
  if (ws_) drop();
  ws_ = std::make_unique<Stream>(ioc_);
  rbuf_.clear();
  inbox_.clear();
  final_.reset();
  read_pending_ = false;
  keep_reading_ = false;
  pongs_ = pongs_at_ping_ = 0;
  socket_id_.clear();
  established_.clear();
  handshake_status_ = 0;
  last_error_.clear();

  // TCP connect.
  bool done = false;
  error_code ec;
  const net::ip::tcp::endpoint ep(net::ip::make_address_v4("127.0.0.1"), port);
  beast::get_lowest_layer(*ws_).async_connect(ep, [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!run_until([&] { return done; }, deadline)) {
    drop();
    run_until([&] { return done; }, within(std::chrono::seconds(1)));
    last_error_ = "TCP connect timed out";
    return false;
  }
  if (ec) {
    last_error_ = "TCP connect: " + ec.message();
    return false;
  }
  beast::get_lowest_layer(*ws_).socket().set_option(net::ip::tcp::no_delay(true), ec);

  // WebSocket upgrade.
  ws_->read_message_max(256u << 20);
  ws_->auto_fragment(false);
  ws_->set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "pushcore-e2e");
    for (const auto& [name, value] : headers) req.set(name, value);
  }));
  ws_->control_callback([this](websocket::frame_type kind, beast::string_view payload) {
    if (kind == websocket::frame_type::pong) {
      ++pongs_;
      last_pong_ = std::string(payload);
    }
  });
  websocket::response_type res;
  done = false;
  const std::string host = "127.0.0.1:" + std::to_string(port);
  ws_->async_handshake(res, host, std::string(path), [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!run_until([&] { return done; }, deadline)) {
    drop();
    run_until([&] { return done; }, within(std::chrono::seconds(1)));
    handshake_status_ = static_cast<int>(res.result_int());
    last_error_ = "WebSocket handshake timed out";
    return false;
  }
  handshake_status_ = static_cast<int>(res.result_int());
  if (ec) {
    last_error_ = "WebSocket handshake: " + ec.message() + " (HTTP " +
                  std::to_string(handshake_status_) + ")";
    return false;
  }
  return true;
}

std::string WsClient::open(std::uint16_t port, std::string_view path, const Headers& headers,
                           Deadline deadline) {
  if (!connect(port, path, headers, deadline)) {
    throw ExpectationError("WebSocket connect to port " + std::to_string(port) + std::string(path) +
                           " failed: " + last_error_);
  }
  return establish(deadline);
}

std::string WsClient::establish(Deadline deadline) {
  const std::string msg = expect_message(deadline);
  try {
    socket_id_ = socket_id_of(msg);
  } catch (const std::exception& e) {
    throw ExpectationError(std::string("expected pusher:connection_established: ") + e.what());
  }
  established_ = msg;
  return socket_id_;
}

void WsClient::start_read() {
  read_pending_ = true;
  ws_->async_read(rbuf_, [this](error_code ec, std::size_t) {
    read_pending_ = false;
    if (!ec) {
      Incoming m;
      m.kind = Incoming::Kind::message;
      m.text = beast::buffers_to_string(rbuf_.data());
      m.binary = ws_->got_binary();
      rbuf_.consume(rbuf_.size());
      inbox_.push_back(std::move(m));
      if (keep_reading_) start_read();
      return;
    }
    CloseInfo c;
    const auto& r = ws_->reason();
    // A received close frame sets reason() even when the reply write then fails (peer gone).
    if (ec == websocket::error::closed || r.code != websocket::close_code::none) {
      c.clean = true;
      c.code = r.code == websocket::close_code::none ? 1005 : static_cast<int>(r.code);
      c.reason = std::string(r.reason.data(), r.reason.size());
    } else {
      c.code = 1006;
      c.reason = ec.message();
    }
    final_ = c;
    Incoming in;
    in.kind = Incoming::Kind::close;
    in.close = c;
    inbox_.push_back(std::move(in));
  });
}

void WsClient::write(std::string_view bytes, bool binary, Deadline deadline) {
  if (!ws_) throw ExpectationError("send on a WebSocket that was never connected");
  if (final_) {
    throw ExpectationError("send on a closed WebSocket (close code " +
                           std::to_string(final_->code) + " \"" + final_->reason + "\")");
  }
  ws_->binary(binary);
  bool done = false;
  error_code ec;
  ws_->async_write(net::buffer(bytes.data(), bytes.size()), [&](error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!run_until([&] { return done; }, deadline)) {
    drop();
    run_until([&] { return done; }, within(std::chrono::seconds(1)));
    throw ExpectationError("WebSocket write timed out (peer not reading?)");
  }
  if (ec) throw ExpectationError("WebSocket write failed: " + ec.message());
}

void WsClient::send_text(std::string_view text, Deadline deadline) {
  write(text, false, deadline);
}

void WsClient::send_binary(std::string_view bytes, Deadline deadline) {
  write(bytes, true, deadline);
}

void WsClient::ping(std::string_view payload, Deadline deadline) {
  if (!ws_ || final_) throw ExpectationError("ping on a closed WebSocket");
  pongs_at_ping_ = pongs_;
  bool done = false;
  error_code ec;
  ws_->async_ping(websocket::ping_data(payload.data(), payload.size()), [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!run_until([&] { return done; }, deadline)) {
    drop();
    run_until([&] { return done; }, within(std::chrono::seconds(1)));
    throw ExpectationError("WebSocket ping write timed out");
  }
  if (ec) throw ExpectationError("WebSocket ping failed: " + ec.message());
}

std::optional<std::string> WsClient::wait_pong(Deadline deadline) {
  if (!ws_) return std::nullopt;
  keep_reading_ = true;
  if (!read_pending_ && !final_) start_read();
  run_until([&] { return pongs_ > pongs_at_ping_ || final_.has_value(); }, deadline);
  keep_reading_ = false;
  if (pongs_ > pongs_at_ping_) return last_pong_;
  return std::nullopt;
}

void WsClient::subscribe(std::string_view channel, std::string_view auth,
                         std::string_view channel_data) {
  send_text(subscribe_frame(channel, auth, channel_data));
}

std::string WsClient::subscribe_ok(std::string_view channel, std::string_view auth,
                                   std::string_view channel_data, Deadline deadline) {
  subscribe(channel, auth, channel_data);
  const std::string msg = expect_message(deadline);
  const Frame f = parse_frame(msg);
  if (f.event != "pusher_internal:subscription_succeeded" || f.channel != channel) {
    throw ExpectationError("expected subscription_succeeded for " + std::string(channel) +
                           ", got " + shorten(msg));
  }
  return f.data;
}

void WsClient::unsubscribe(std::string_view channel) {
  send_text(unsubscribe_frame(channel));
}

Incoming WsClient::receive(Deadline deadline) {
  if (inbox_.empty()) {
    if (final_) {
      Incoming in;
      in.kind = Incoming::Kind::close;
      in.close = *final_;
      return in;
    }
    if (!ws_) return Incoming{};
    if (!read_pending_) start_read();
    run_until([&] { return !inbox_.empty(); }, deadline);
    if (inbox_.empty()) return Incoming{};
  }
  Incoming in = std::move(inbox_.front());
  inbox_.pop_front();
  return in;
}

std::optional<std::string> WsClient::next_message(Deadline deadline) {
  Incoming in = receive(deadline);
  if (!in.is_message()) return std::nullopt;
  return std::move(in.text);
}

std::string WsClient::expect_message(Deadline deadline) {
  Incoming in = receive(deadline);
  if (!in.is_message()) throw ExpectationError("expected a message, got " + in.describe());
  return std::move(in.text);
}

std::string WsClient::expect_event(std::string_view name, Deadline deadline) {
  std::string msg = expect_message(deadline);
  std::string ev;
  try {
    ev = event_of(msg);
  } catch (const std::exception& e) {
    throw ExpectationError("expected event " + std::string(name) + ", got unparsable " +
                           shorten(msg));
  }
  if (ev != name) {
    throw ExpectationError("expected event " + std::string(name) + ", got " + shorten(msg));
  }
  return msg;
}

std::string WsClient::wait_for_event(std::string_view name, Deadline deadline,
                                     std::vector<std::string>* skipped) {
  for (;;) {
    Incoming in = receive(deadline);
    if (!in.is_message()) {
      throw ExpectationError("waiting for event " + std::string(name) + ", got " + in.describe());
    }
    std::string ev;
    try {
      ev = event_of(in.text);
    } catch (const std::exception&) {
      ev.clear();
    }
    if (ev == name) return std::move(in.text);
    if (skipped != nullptr) skipped->push_back(std::move(in.text));
  }
}

std::string WsClient::expect_error(std::int64_t code, Deadline deadline) {
  const std::string msg = expect_message(deadline);
  ErrorData e;
  try {
    e = error_of(msg);
  } catch (const std::exception& ex) {
    throw ExpectationError("expected pusher:error " + std::to_string(code) + ", got " +
                           shorten(msg));
  }
  if (e.code != code) {
    throw ExpectationError("expected pusher:error " + std::to_string(code) + ", got " +
                           shorten(msg));
  }
  return e.message;
}

std::string WsClient::expect_refused(std::string_view channel, std::int64_t code,
                                     std::string_view type, std::int64_t status,
                                     Deadline deadline) {
  const std::string first = expect_message(deadline);
  if (channel_of(first).has_value()) {
    throw ExpectationError("expected a connection-level pusher:error, got " + shorten(first));
  }
  const std::string message = [&] {
    try {
      const ErrorData e = error_of(first);
      if (e.code == code) return e.message;
    } catch (const std::exception&) {
    }
    throw ExpectationError("expected pusher:error " + std::to_string(code) + ", got " +
                           shorten(first));
  }();
  const std::string second = expect_message(deadline);
  const Frame f = parse_frame(second);
  const std::string want = R"({"type":")" + std::string(type) + R"(","error":)" +
                           json_quote(message) + R"(,"status":)" + std::to_string(status) + "}";
  if (f.event != "pusher:subscription_error" || f.channel != std::string(channel) ||
      f.data != want) {
    throw ExpectationError("expected pusher:subscription_error on " + std::string(channel) +
                           " with " + want + ", got " + shorten(second));
  }
  return message;
}

WsClient::ErrorThenClose WsClient::expect_error_then_close(std::int64_t code, Deadline deadline) {
  ErrorThenClose out;
  out.message = expect_error(code, deadline);
  out.close = expect_close(deadline);
  if (!out.close.clean || out.close.code != code) {
    throw ExpectationError(
        "after pusher:error " + std::to_string(code) +
        " expected close with the same code, got close code=" + std::to_string(out.close.code) +
        " reason=\"" + out.close.reason + "\"" + (out.close.clean ? "" : " (no close frame)"));
  }
  return out;
}

CloseInfo WsClient::expect_close(Deadline deadline, bool allow_messages) {
  for (;;) {
    Incoming in = receive(deadline);
    if (in.is_close()) return in.close;
    if (in.is_timeout() || !allow_messages) {
      throw ExpectationError("expected a close, got " + in.describe());
    }
  }
}

std::string WsClient::expect_alive_and_idle(Deadline deadline) {
  send_text(ping_frame(), deadline);
  const std::string msg = expect_message(deadline);
  if (msg.find("\"pusher:pong\"") == std::string::npos || event_of(msg) != "pusher:pong") {
    throw ExpectationError("expected pusher:pong right after pusher:ping, got " + shorten(msg));
  }
  return msg;
}

std::optional<CloseInfo> WsClient::close(int code, std::string_view reason, Deadline deadline) {
  if (!ws_) return std::nullopt;
  if (final_) return final_;
  bool done = false;
  error_code ec;
  websocket::close_reason cr;
  cr.code = static_cast<std::uint16_t>(code);
  const std::string_view sent_reason = reason.substr(0, cr.reason.max_size());
  cr.reason.assign(sent_reason.data(), sent_reason.size());
  ws_->async_close(cr, [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!run_until([&] { return done && !read_pending_; }, deadline)) {
    drop();
    run_until([&] { return done && !read_pending_; }, within(std::chrono::seconds(1)));
    last_error_ = "close handshake timed out";
    return std::nullopt;
  }
  const auto& r = ws_->reason();
  CloseInfo c;
  c.clean = r.code != websocket::close_code::none || !ec;
  c.code = r.code == websocket::close_code::none ? (ec ? 1006 : 1005) : static_cast<int>(r.code);
  c.reason = ec && r.code == websocket::close_code::none
                 ? ec.message()
                 : std::string(r.reason.data(), r.reason.size());
  final_ = c;
  if (ec) {
    last_error_ = "close: " + ec.message();
    return std::nullopt;
  }
  return c;
}

void WsClient::drop() {
  if (!ws_) return;
  error_code ec;
  beast::get_lowest_layer(*ws_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(*ws_).socket().close(ec);
  if (!final_) final_ = CloseInfo{1006, "dropped by the test", false};
}

}  // namespace test_support
