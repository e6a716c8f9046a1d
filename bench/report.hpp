#pragma once
// A shard's report: named integer counters plus named histograms. Reports travel between bench
// processes as one text line and are merged by the coordinator. Pure.
//
// Merge rule by key suffix: "_max" keeps the maximum, "_min" the minimum (ignoring absent
// keys), everything else is summed.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "bench/histogram.hpp"

namespace bench {

struct Report {
  std::map<std::string, std::int64_t, std::less<>> counters;
  std::map<std::string, Histogram, std::less<>> histograms;

  /// Counter value, 0 when absent.
  [[nodiscard]] std::int64_t get(std::string_view key) const;
  void add(std::string_view key, std::int64_t v);
  void set_max(std::string_view key, std::int64_t v);
  void set_min(std::string_view key, std::int64_t v);
  Histogram& hist(std::string_view name);

  /// Merges `other` into this report (see the suffix rule above).
  void merge(const Report& other);

  /// One line without newline: "k=v k=v h.NAME=<histogram> ...". Keys must not contain spaces
  /// or '='.
  [[nodiscard]] std::string serialize() const;
  /// Inverse of serialize(); nullopt on malformed input.
  [[nodiscard]] static std::optional<Report> parse(std::string_view line);
};

/// True when `key` ends with `suffix`.
[[nodiscard]] bool ends_with(std::string_view key, std::string_view suffix) noexcept;

}  // namespace bench
