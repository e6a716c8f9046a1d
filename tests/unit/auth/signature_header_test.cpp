// Self-containment check: this TU includes only auth/signature.hpp and must compile on its own.
#include "auth/signature.hpp"

namespace {
[[maybe_unused]] constexpr auto* signature_header_probe = &auth::verify_channel_auth;
}  // namespace
