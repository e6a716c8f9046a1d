// Self-containment check: this TU includes only auth/api_request.hpp and must compile on its own.
#include "auth/api_request.hpp"

namespace {
[[maybe_unused]] constexpr auto* api_request_header_probe = &auth::verify_api_request;
[[maybe_unused]] const auth::QueryParams api_request_header_params{};
}  // namespace
