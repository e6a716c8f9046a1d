#pragma once
// Log-linear latency histogram (HDR-style): exact below 128, then 64 sub-buckets per power of
// two, so a reported value is within 0.8% of the true one. Fixed size, mergeable, serializable.
// Pure: no clocks, no I/O.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

class Histogram {
 public:
  static constexpr std::size_t kBuckets = 128 + 57 * 64;

  void record(std::uint64_t value) noexcept { record_n(value, 1); }
  void record_n(std::uint64_t value, std::uint64_t n) noexcept;
  void merge(const Histogram& other) noexcept;
  void reset() noexcept { *this = Histogram{}; }

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
  }
  /// Value at quantile q in [0, 1] (0.5 = median): the representative value of the bucket that
  /// holds the ceil(q * count)-th smallest sample, clamped to [min, max]; q <= 0 gives the exact
  /// min, q >= 1 the exact max. 0 when empty.
  [[nodiscard]] std::uint64_t quantile(double q) const noexcept;

  /// Compact text form without spaces: "count,min,max,sum;idx:n,idx:n,...".
  [[nodiscard]] std::string serialize() const;
  /// Inverse of serialize(); nullopt on malformed input.
  [[nodiscard]] static std::optional<Histogram> parse(std::string_view text);

  /// Bucket index of a value, and the [low, high] range a bucket covers (exposed for tests).
  [[nodiscard]] static std::size_t bucket_of(std::uint64_t value) noexcept;
  [[nodiscard]] static std::uint64_t bucket_low(std::size_t index) noexcept;
  [[nodiscard]] static std::uint64_t bucket_high(std::size_t index) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;  // wraps only after ~584 years of nanoseconds; fine for a bench
};

}  // namespace bench
