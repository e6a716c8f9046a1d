// libFuzzer target: signature verifier inputs (auth/). Byte 0 picks the verifier (channel auth,
// sign-in, HTTP API request); then NUL-separated fields: app key, secret, socket id, channel,
// channel_data / user_data, client auth string, method, path, raw query, body. Every verifier
// must answer without crashing and accept exactly the signature the signer produces for the
// same inputs.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/api_request.hpp"
#include "auth/crypto.hpp"
#include "auth/signature.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks one verifier family per run (HMACs dominate the cost of a run).
  const int family = data[0] % 3;
  const auto f = fuzz::split_fields(data + 1, size - 1, 10);
  const std::string_view key = f[0], secret = f[1], socket_id = f[2], channel = f[3], extra = f[4],
                         client_auth = f[5], method = f[6], path = f[7], query = f[8], body = f[9];

  (void)auth::is_valid_socket_id(socket_id);
  (void)auth::constant_time_equal(client_auth, key);
  (void)auth::base64_decode(client_auth);

  if (family == 0) {
    // Channel auth: the client controls channel, channel_data and the auth string; the verifier
    // must accept exactly what the signer produces.
    const std::string good = auth::sign_channel(key, secret, socket_id, channel, extra);
    check(auth::verify_channel_auth(key, secret, socket_id, channel, extra, client_auth) ==
          (client_auth == good));
  } else if (family == 1) {
    const std::string good = auth::sign_user(key, secret, socket_id, extra);
    check(auth::verify_user_auth(key, secret, socket_id, extra, client_auth) ==
          (client_auth == good));
  } else {
    // HTTP API request signature: verify the fuzzed query; then the query an SDK would send for
    // the same path and body must verify (SDKs send upper-case methods; `method` picks one).
    const std::int64_t now = 1700000000;
    (void)auth::verify_api_request(method, path, auth::parse_query(query), body, secret, now);
    const std::string_view sdk_method = !method.empty() && (method[0] & 1) ? "POST" : "GET";
    const std::string signed_query =
        auth::build_signed_query(key, secret, sdk_method, path, body, now);
    check(auth::verify_api_request(sdk_method, path, auth::parse_query(signed_query), body, secret,
                                   now) == auth::ApiAuthError::none);
  }
  return 0;
}
