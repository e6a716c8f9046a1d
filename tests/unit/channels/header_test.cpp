// Proves channels/registry.hpp is self-contained: it is the only include of this TU.
#include "channels/registry.hpp"

namespace {
[[maybe_unused]] channels::Registry* self_contained_probe = nullptr;
}  // namespace
