// Self-containment check: this TU includes only auth/crypto.hpp and must compile on its own.
#include "auth/crypto.hpp"

namespace {
[[maybe_unused]] constexpr auto* crypto_header_probe = &auth::hmac_sha256_hex;
}  // namespace
