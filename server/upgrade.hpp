#pragma once
// The checks that decide a WebSocket upgrade request before any WebSocket byte is sent
// (protocol.md §1.1): shared by the fast accept path (Handshake, protocol/http_head) and the
// Beast HTTP stage (HttpSession), so both answer a request identically.

#include <string>
#include <string_view>
#include <variant>

#include "server/net.hpp"
#include "server/ws_session.hpp"

namespace server {

class Worker;

/// What the checks need from an upgrade request.
struct UpgradeRequest {
  bool get = false;         ///< the method is GET
  bool is_upgrade = false;  ///< Connection: upgrade and Upgrade: websocket
  unsigned http_version = 11;
  std::string_view target;   ///< path and query as sent
  std::string_view key;      ///< Sec-WebSocket-Key
  std::string_view version;  ///< Sec-WebSocket-Version
  std::string_view origin;
  std::string_view forwarded_for;  ///< X-Forwarded-For, field lines joined ("" when absent)
};

using UpgradeResponse = http::response<http::string_body>;

/// Runs the pre-upgrade checks (draining, method, upgrade headers, protocol version, per-IP
/// connect rate) on the worker's thread. `remote` is the socket's peer address; the session's
/// address (per-IP limits, log lines) is the client X-Forwarded-For names when
/// rate_limiter.websocket_rate_limit.trust_hops > 0 (server/client_address.hpp). Returns the
/// new session's UpgradeInfo, or the HTTP response that refuses the upgrade (without CORS
/// headers; the caller adds them).
[[nodiscard]] std::variant<UpgradeInfo, UpgradeResponse> decide_upgrade(Worker& worker,
                                                                        const UpgradeRequest& req,
                                                                        std::string remote);

/// True if `path` (without the query) is a WebSocket route, /app/... after the configured
/// path prefix.
[[nodiscard]] bool is_websocket_route(std::string_view path, const std::string& prefix) noexcept;

}  // namespace server
