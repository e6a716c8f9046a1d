#include "server/upgrade.hpp"

#include <cctype>
#include <chrono>
#include <optional>

#include "auth/crypto.hpp"
#include "server/client_address.hpp"
#include "server/clock.hpp"
#include "server/http_api.hpp"
#include "server/worker.hpp"

namespace server {

namespace {

std::optional<unsigned> parse_u8(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 255) return std::nullopt;
  return v;
}

// Value of query parameter `key` in `target` (raw, not decoded); nullopt when absent.
std::optional<std::string_view> query_param(std::string_view target, std::string_view key) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view piece = rest.substr(0, amp);
    const auto eq = piece.find('=');
    if (piece.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return std::nullopt;
}

std::string_view strip_prefix(std::string_view path, const std::string& prefix) noexcept {
  if (!prefix.empty() && path.substr(0, prefix.size()) == prefix) path.remove_prefix(prefix.size());
  return path;
}

}  // namespace

bool is_websocket_route(std::string_view path, const std::string& prefix) noexcept {
  return strip_prefix(path, prefix).substr(0, 5) == "/app/";
}

std::variant<UpgradeInfo, UpgradeResponse> decide_upgrade(Worker& worker, const UpgradeRequest& req,
                                                          std::string remote) {
  Hub& hub = worker.hub();
  const unsigned version = req.http_version;
  if (hub.draining.load()) {
    return http_api::error_response(ApiError::upgrade_shutting_down, version, false);
  }
  if (!req.get) {
    return http_api::error_response(ApiError::upgrade_not_get, version, false);
  }
  if (!req.is_upgrade || req.key.empty() || req.version != "13") {
    return http_api::error_response(ApiError::upgrade_invalid, version, false);
  }
  const auto proto = query_param(req.target, "protocol");
  const auto proto_number = proto ? parse_u8(*proto) : std::nullopt;
  if (proto && !proto_number) {
    return http_api::error_response(ApiError::upgrade_protocol_invalid, version, false);
  }
  const std::string_view path =
      strip_prefix(req.target.substr(0, req.target.find('?')), hub.config().path_prefix);

  UpgradeInfo info;
  info.app_key = std::string(path.substr(5));
  info.origin = std::string(req.origin);
  if (proto_number && *proto_number == 2) {
    info.dialect = protocol::Dialect::v2;
    // Sockudo's V2 wire formats: JSON (the default) is spoken; MessagePack and Protobuf are
    // not, so a client asking for them is refused with a reason instead of getting JSON it
    // cannot decode (Sockudo refuses unknown formats with 400 too).
    if (auto format = query_param(req.target, "format")) {
      std::string f(*format);
      for (char& c : f) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!f.empty() && f != "json") {
        return http_api::error_response(ApiError::upgrade_format_unsupported, version, false,
                                        "'" + f.substr(0, 32) + "'");
      }
    }
  }
  // echo_messages (Sockudo, V2): whether a connection receives its own client events.
  const V2Settings& v2 = hub.config().v2;
  info.echo_messages = !v2.echo_control_enabled || v2.default_echo_messages;
  if (auto echo = query_param(req.target, "echo_messages"); echo && v2.echo_control_enabled) {
    if (*echo == "false" || *echo == "0") info.echo_messages = false;
    if (*echo == "true" || *echo == "1") info.echo_messages = true;
  }
  info.accept_key = auth::websocket_accept_key(req.key);
  info.remote =
      client_address(req.forwarded_for, std::move(remote), hub.config().ip_limits.ws_trust_hops);

  // Per-IP limits (off by default): the connect rate is refused before the upgrade with 429
  // (protocol.md §1.1); the concurrent cap after it with 4100, like the node-wide cap.
  IpLimiter& ips = hub.ip_limiter();
  if (ips.enabled()) {
    const auto r = ips.on_connect(info.remote, steady_ms());
    if (r.table_full) worker.abuse().note(AbuseKind::ip_table_full, {{"remote", info.remote}});
    if (r.verdict == IpLimiter::Verdict::rate_limited) {
      worker.abuse().note(AbuseKind::ip_connect_rate, {{"remote", info.remote}});
      return http_api::too_many_requests(r.rate, version, false);
    }
    info.ip_over_cap = r.verdict == IpLimiter::Verdict::over_cap;
    info.ip_tracked = r.tracked;
  }
  return info;
}

}  // namespace server
