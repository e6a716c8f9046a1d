#include "bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

namespace bench {

std::size_t Histogram::bucket_of(std::uint64_t v) noexcept {
  if (v < 128) return static_cast<std::size_t>(v);
  const int e = 63 - std::countl_zero(v);  // 7..63
  const std::uint64_t top = v >> (e - 6);  // 64..127
  return 128 + static_cast<std::size_t>(e - 7) * 64 + static_cast<std::size_t>(top - 64);
}

std::uint64_t Histogram::bucket_low(std::size_t i) noexcept {
  if (i < 128) return i;
  const int e = 7 + static_cast<int>((i - 128) / 64);
  const std::uint64_t top = 64 + (i - 128) % 64;
  return top << (e - 6);
}

std::uint64_t Histogram::bucket_high(std::size_t i) noexcept {
  if (i < 128) return i;
  const int e = 7 + static_cast<int>((i - 128) / 64);
  const std::uint64_t top = 64 + (i - 128) % 64;
  // (top + 1) << (e - 6) overflows only for the very last bucket.
  if (e == 63 && top == 127) return UINT64_MAX;
  return ((top + 1) << (e - 6)) - 1;
}

void Histogram::record_n(std::uint64_t v, std::uint64_t n) noexcept {
  if (n == 0) return;
  counts_[bucket_of(v)] += n;
  count_ += n;
  sum_ += v * n;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::merge(const Histogram& o) noexcept {
  if (o.count_ == 0) return;
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

std::uint64_t Histogram::quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  if (q <= 0) return min_;
  if (q >= 1) return max_;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t lo = bucket_low(i);
      const std::uint64_t hi = bucket_high(i);
      const std::uint64_t mid = lo + (hi - lo) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

std::string Histogram::serialize() const {
  std::string out = std::to_string(count_) + "," + std::to_string(min()) + "," +
                    std::to_string(max_) + "," + std::to_string(sum_) + ";";
  bool first = true;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (counts_[i] == 0) continue;
    if (!first) out.push_back(',');
    first = false;
    out += std::to_string(i);
    out.push_back(':');
    out += std::to_string(counts_[i]);
  }
  return out;
}

namespace {

bool take_number(std::string_view& s, std::uint64_t& out, char stop) {
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  if (ec != std::errc{} || p == s.data()) return false;
  if (p != end) {
    if (*p != stop) return false;
    ++p;
  } else if (stop != '\0') {
    return false;
  }
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return true;
}

}  // namespace

std::optional<Histogram> Histogram::parse(std::string_view text) {
  Histogram h;
  std::uint64_t count = 0, mn = 0, mx = 0, sum = 0;
  if (!take_number(text, count, ',') || !take_number(text, mn, ',') ||
      !take_number(text, mx, ',') || !take_number(text, sum, ';')) {
    return std::nullopt;
  }
  std::uint64_t total = 0;
  while (!text.empty()) {
    std::uint64_t idx = 0, n = 0;
    if (!take_number(text, idx, ':')) return std::nullopt;
    const bool last = text.find(',') == std::string_view::npos;
    if (!take_number(text, n, last ? '\0' : ',')) return std::nullopt;
    if (idx >= kBuckets) return std::nullopt;
    h.counts_[idx] += n;
    total += n;
  }
  if (total != count) return std::nullopt;
  h.count_ = count;
  h.min_ = count ? mn : UINT64_MAX;
  h.max_ = mx;
  h.sum_ = sum;
  return h;
}

}  // namespace bench
