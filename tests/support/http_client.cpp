#include "tests/support/http_client.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <ctime>

#include "auth/api_request.hpp"
#include "tests/support/json_helpers.hpp"

namespace test_support {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto l = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (l(a[i]) != l(b[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

HttpClient::HttpClient(std::uint16_t port) : port_(port) {}

HttpClient::~HttpClient() {
  if (stream_) {
    error_code ec;
    stream_->socket().close(ec);
  }
}

template <class Pred>
bool HttpClient::run_until(Pred pred, Deadline deadline) {
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    if (ioc_.stopped()) ioc_.restart();
    if (ioc_.run_one_until(deadline) == 0 && ioc_.stopped()) return pred();
  }
  return true;
}

HttpResponse HttpClient::request(std::string_view method, std::string_view target,
                                 std::string_view body, const Headers& headers, Deadline deadline) {
  bool reused = false;
  HttpResponse r = attempt(method, target, body, headers, deadline, reused);
  // A keep-alive connection the server closed in the meantime: retry once on a new one.
  if (r.status == 0 && reused && Clock::now() < deadline) {
    r = attempt(method, target, body, headers, deadline, reused);
  }
  return r;
}

HttpResponse HttpClient::attempt(std::string_view method, std::string_view target,
                                 std::string_view body, const Headers& headers, Deadline deadline,
                                 bool& connection_reused) {
  HttpResponse out;
  bool done = false;
  error_code ec;
  auto fail = [&](std::string what) {
    if (stream_) {
      error_code ignored;
      stream_->socket().close(ignored);
      run_until([&] { return done; }, within(std::chrono::seconds(1)));
      stream_.reset();
    }
    out.status = 0;
    out.error = std::move(what);
    return out;
  };

  connection_reused = stream_ != nullptr;
  if (!stream_) {
    stream_ = std::make_unique<beast::tcp_stream>(ioc_);
    const net::ip::tcp::endpoint ep(net::ip::make_address_v4("127.0.0.1"), port_);
    stream_->async_connect(ep, [&](error_code e) {
      ec = e;
      done = true;
    });
    if (!run_until([&] { return done; }, deadline)) return fail("HTTP connect timed out");
    if (ec) return fail("HTTP connect: " + ec.message());
  }

  http::request<http::string_body> req;
  req.method_string(std::string(method));
  req.target(std::string(target));
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  req.set(http::field::user_agent, "pushcore-e2e");
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "content-type")) has_content_type = true;
    req.set(name, value);
  }
  if (!body.empty() && !has_content_type) req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();

  done = false;
  http::async_write(*stream_, req, [&](error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!run_until([&] { return done; }, deadline)) return fail("HTTP write timed out");
  if (ec) return fail("HTTP write: " + ec.message());

  beast::flat_buffer buf;
  http::response<http::string_body> res;
  done = false;
  http::async_read(*stream_, buf, res, [&](error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (!run_until([&] { return done; }, deadline)) return fail("HTTP read timed out");
  if (ec) return fail("HTTP read: " + ec.message());

  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  if (!res.keep_alive()) {
    error_code ignored;
    stream_->socket().close(ignored);
    stream_.reset();
  }
  return out;
}

HttpResponse HttpClient::signed_request(
    const AppCreds& app, std::string_view method, std::string_view path, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& params, Deadline deadline) {
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const std::string query =
      auth::build_signed_query(app.key, app.secret, method, path, body, now, params);
  return request(method, std::string(path) + "?" + query, body, {}, deadline);
}

HttpResponse HttpClient::publish(const AppCreds& app, std::string_view body_json,
                                 Deadline deadline) {
  return signed_request(app, "POST", "/apps/" + app.id + "/events", body_json, {}, deadline);
}

HttpResponse publish(std::uint16_t port, std::string_view app_id, std::string_view key,
                     std::string_view secret, std::string_view body_json, Deadline deadline) {
  HttpClient client(port);
  return client.publish(AppCreds{std::string(app_id), std::string(key), std::string(secret)},
                        body_json, deadline);
}

std::string publish_body(std::string_view name, const std::vector<std::string>& channels,
                         std::string_view data_json, std::string_view socket_id,
                         std::string_view info) {
  std::string out = "{\"name\":" + json_quote(name);
  if (channels.size() == 1) {
    out += ",\"channel\":" + json_quote(channels.front());
  } else {
    out += ",\"channels\":[";
    for (std::size_t i = 0; i < channels.size(); ++i) {
      if (i > 0) out += ',';
      out += json_quote(channels[i]);
    }
    out += ']';
  }
  out += ",\"data\":";
  out += data_json;
  if (!socket_id.empty()) out += ",\"socket_id\":" + json_quote(socket_id);
  if (!info.empty()) out += ",\"info\":" + json_quote(info);
  out += '}';
  return out;
}

}  // namespace test_support
