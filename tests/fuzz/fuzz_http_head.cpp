// libFuzzer target: the fast reader of WebSocket upgrade heads (protocol/http_head.*), checked
// against Beast's HTTP parser, which the server falls back to. Whenever the fast reader accepts
// a head (`complete`), Beast must parse the same bytes to the same request: a GET HTTP/1.1 with
// the same target, Sec-WebSocket-Key, Sec-WebSocket-Version, Origin and upgrade verdict. Also
// checks the reader's own invariants (head bounds, blank line, prefixes); aborts when one breaks.

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/http_head.hpp"

namespace {
constexpr std::size_t max_head = 8 * 1024;

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace http = boost::beast::http;
  using Status = protocol::UpgradeHead::Status;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Token lists never crash, and a found token is really an element.
  if (const auto found = protocol::list_has_token(in, "upgrade"); found && *found) {
    std::string lower(in);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    check(lower.find("upgrade") != std::string::npos);
  }

  const auto head = protocol::parse_upgrade_head(in, max_head);
  if (head.status == Status::incomplete) {
    check(in.size() < max_head);
    check(in.find("\r\n\r\n") == std::string_view::npos);
    return 0;
  }
  if (head.status == Status::other) return 0;

  check(head.head_size >= 4 && head.head_size <= in.size() && head.head_size <= max_head);
  check(in.substr(head.head_size - 4, 4) == "\r\n\r\n");
  check(in.find("\r\n\r\n") == head.head_size - 4);
  for (auto f : {head.target, head.key, head.version, head.origin, head.forwarded_for}) {
    check(inside(f, in.substr(0, head.head_size)));
  }
  // The head alone reads the same; any shorter prefix of it is incomplete.
  const auto alone = protocol::parse_upgrade_head(in.substr(0, head.head_size), max_head);
  check(alone.status == Status::complete && alone.head_size == head.head_size);
  check(protocol::parse_upgrade_head(in.substr(0, head.head_size - 1), max_head).status ==
        Status::incomplete);

  // Beast reads the same request from the same bytes.
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(in.data(), head.head_size), ec);
  check(!ec);
  check(parser.is_header_done() && parser.is_done());
  check(used == head.head_size);
  const auto& req = parser.get();
  check(req.method() == http::verb::get);
  check(req.version() == 11);
  check(req.target() == head.target);
  check(req[http::field::sec_websocket_key] == head.key);
  check(req[http::field::sec_websocket_version] == head.version);
  check(req[http::field::origin] == head.origin);
  check(req["X-Forwarded-For"] == head.forwarded_for);
  check(boost::beast::websocket::is_upgrade(req) == head.is_upgrade);
  return 0;
}
