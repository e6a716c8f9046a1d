#pragma once
// `sockudo_broadcast_latency_ms`: how long an HTTP API publish takes from the adapter receiving
// it to the last of this node's recipients having the frame in its send queue, as a Prometheus
// histogram with Sockudo's buckets and labels (app_id, port, channel_type,
// recipient_count_bucket). One observation per published channel per node, made by the last
// worker that delivered it (a BroadcastTrack shared by the workers' posted deliveries).
// Observations are relaxed atomic increments in fixed arrays: no allocation, no lock.
// Threading: observe() and render() from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace server {

/// Sockudo's end-to-end latency buckets, in milliseconds (upper bounds; +Inf is implied).
inline constexpr std::array<double, 13> broadcast_latency_buckets_ms{
    0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0};

/// Sockudo's channel_type label values (ChannelType::as_str).
inline constexpr std::array<std::string_view, 5> broadcast_channel_types{
    "public", "private", "presence", "private_encrypted", "cache"};
/// The index into broadcast_channel_types of a channel name.
[[nodiscard]] std::size_t broadcast_channel_type(std::string_view channel) noexcept;

/// Sockudo's recipient_count_bucket label values: 1-10, 11-100, 101-1000, 1001-10000, more.
inline constexpr std::array<std::string_view, 5> recipient_buckets{"xs", "sm", "md", "lg", "xl"};
/// The index into recipient_buckets of a recipient count (> 0).
[[nodiscard]] std::size_t recipient_bucket(std::uint64_t recipients) noexcept;

class BroadcastLatency {
 public:
  /// Histograms for `apps` app slots.
  explicit BroadcastLatency(std::size_t apps);

  /// Records one broadcast of app slot `app` (no-op for 0 recipients, as Sockudo).
  void observe(std::size_t app, std::size_t channel_type, std::uint64_t recipients,
               std::chrono::nanoseconds latency) noexcept;

  /// Appends the histogram (HELP, TYPE, then the series that have observations) in the
  /// Prometheus text format. `app_label(i)` is the escaped app id of slot i; `port_label` is
  /// `port="N"`.
  template <class AppLabel>
  void render(std::string& out, std::string_view name, std::string_view port_label,
              AppLabel&& app_label) const;

 private:
  struct Series {
    std::array<std::atomic<std::uint64_t>, broadcast_latency_buckets_ms.size() + 1> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  static constexpr std::size_t per_app = broadcast_channel_types.size() * recipient_buckets.size();
  /// An app's series, allocated on its first observation (3.2 KB an app that publishes).
  struct AppSeries {
    std::array<Series, per_app> series;
  };
  std::size_t apps_;
  std::unique_ptr<std::atomic<AppSeries*>[]> series_;

 public:
  ~BroadcastLatency();
  BroadcastLatency(const BroadcastLatency&) = delete;
  BroadcastLatency& operator=(const BroadcastLatency&) = delete;
};

/// One published channel being delivered by several workers: the last one to finish records
/// the latency with the node's total recipient count.
struct BroadcastTrack {
  BroadcastTrack(BroadcastLatency& h, std::size_t app_slot, std::size_t type, int workers)
      : histogram(h), app(app_slot), channel_type(type), pending(workers) {}
  /// A worker delivered the frame to `n` of its sessions.
  void delivered(std::uint64_t n) noexcept {
    recipients.fetch_add(n, std::memory_order_relaxed);
    if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      histogram.observe(app, channel_type, recipients.load(std::memory_order_relaxed),
                        std::chrono::steady_clock::now() - start);
    }
  }
  BroadcastLatency& histogram;
  std::size_t app;
  std::size_t channel_type;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::atomic<int> pending;
  std::atomic<std::uint64_t> recipients{0};
};

template <class AppLabel>
void BroadcastLatency::render(std::string& out, std::string_view name, std::string_view port_label,
                              AppLabel&& app_label) const {
  out.append("# HELP ").append(name).append(
      " End-to-end latency for broadcast messages in milliseconds\n");
  out.append("# TYPE ").append(name).append(" histogram\n");
  for (std::size_t a = 0; a < apps_; ++a) {
    const AppSeries* app = series_[a].load(std::memory_order_acquire);
    if (app == nullptr) continue;
    for (std::size_t t = 0; t < broadcast_channel_types.size(); ++t) {
      for (std::size_t b = 0; b < recipient_buckets.size(); ++b) {
        const Series& s = app->series[t * recipient_buckets.size() + b];
        const std::uint64_t count = s.count.load(std::memory_order_relaxed);
        if (count == 0) continue;
        std::string labels = "app_id=\"" + app_label(a) + "\"," + std::string(port_label) +
                             ",channel_type=\"" + std::string(broadcast_channel_types[t]) +
                             "\",recipient_count_bucket=\"" + std::string(recipient_buckets[b]) +
                             "\"";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= broadcast_latency_buckets_ms.size(); ++i) {
          cumulative += s.buckets[i].load(std::memory_order_relaxed);
          std::string le = i < broadcast_latency_buckets_ms.size()
                               ? std::to_string(broadcast_latency_buckets_ms[i])
                               : std::string("+Inf");
          if (i < broadcast_latency_buckets_ms.size()) {
            le.erase(le.find_last_not_of('0') + 1);  // "0.500000" -> "0.5", "1.000000" -> "1."
            if (le.back() == '.') le.pop_back();
          }
          out.append(name).append("_bucket{").append(labels).append(",le=\"").append(le);
          out.append("\"} ").append(std::to_string(cumulative)).append("\n");
        }
        const double sum_ms =
            static_cast<double>(s.sum_ns.load(std::memory_order_relaxed)) / 1'000'000.0;
        out.append(name).append("_sum{").append(labels).append("} ");
        out.append(std::to_string(sum_ms)).append("\n");
        out.append(name).append("_count{").append(labels).append("} ");
        out.append(std::to_string(count)).append("\n");
      }
    }
  }
}

}  // namespace server
