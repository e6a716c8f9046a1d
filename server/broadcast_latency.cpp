#include "server/broadcast_latency.hpp"

#include <new>

#include "protocol/channel.hpp"

namespace server {

std::size_t broadcast_channel_type(std::string_view channel) noexcept {
  const protocol::ChannelKind k = protocol::classify_channel(channel);
  if (k.is_presence) return 2;
  if (k.is_encrypted) return 3;
  if (k.requires_auth()) return 1;
  if (k.is_cache) return 4;
  return 0;
}

std::size_t recipient_bucket(std::uint64_t recipients) noexcept {
  if (recipients <= 10) return 0;
  if (recipients <= 100) return 1;
  if (recipients <= 1000) return 2;
  if (recipients <= 10000) return 3;
  return 4;
}

BroadcastLatency::BroadcastLatency(std::size_t apps)
    : apps_(apps), series_(std::make_unique<std::atomic<AppSeries*>[]>(apps)) {
  for (std::size_t a = 0; a < apps; ++a) series_[a].store(nullptr, std::memory_order_relaxed);
}

BroadcastLatency::~BroadcastLatency() {
  for (std::size_t a = 0; a < apps_; ++a) delete series_[a].load(std::memory_order_relaxed);
}

void BroadcastLatency::observe(std::size_t app, std::size_t channel_type, std::uint64_t recipients,
                               std::chrono::nanoseconds latency) noexcept {
  if (recipients == 0 || app >= apps_ || channel_type >= broadcast_channel_types.size()) return;
  AppSeries* series = series_[app].load(std::memory_order_acquire);
  if (series == nullptr) {
    auto* fresh = new (std::nothrow) AppSeries();
    if (fresh == nullptr) return;  // out of memory: this observation is lost
    if (series_[app].compare_exchange_strong(series, fresh, std::memory_order_acq_rel)) {
      series = fresh;
    } else {
      delete fresh;  // another thread installed one first; `series` now points to it
    }
  }
  Series& s =
      series->series[channel_type * recipient_buckets.size() + recipient_bucket(recipients)];
  const double ms = static_cast<double>(latency.count()) / 1'000'000.0;
  std::size_t i = 0;
  while (i < broadcast_latency_buckets_ms.size() && ms > broadcast_latency_buckets_ms[i]) ++i;
  s.buckets[i].fetch_add(1, std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
}

}  // namespace server
