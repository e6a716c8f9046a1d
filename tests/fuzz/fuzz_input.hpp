#pragma once
// Splits a fuzz input into fields separated by NUL bytes (seeds are written the same way), so
// one input can drive a function of several string arguments. Missing fields are empty.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace fuzz {

inline std::vector<std::string_view> split_fields(const std::uint8_t* data, std::size_t size,
                                                  std::size_t count) {
  std::vector<std::string_view> out;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (out.size() + 1 < count) {
    const auto nul = rest.find('\0');
    if (nul == std::string_view::npos) break;
    out.push_back(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
  }
  out.push_back(rest);
  while (out.size() < count) out.emplace_back();
  return out;
}

}  // namespace fuzz
