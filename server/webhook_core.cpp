#include "server/webhook_core.hpp"

#include <algorithm>
#include <utility>

#include "protocol/json.hpp"

namespace server {
namespace {

constexpr std::string_view type_names[webhook_event_type_count] = {
    "channel_occupied", "channel_vacated", "member_added",      "member_removed",
    "client_event",     "cache_miss",      "subscription_count"};

constexpr std::uint32_t bit(WebhookEventType type) noexcept {
  return std::uint32_t{1} << static_cast<unsigned>(type);
}

// The partner whose pending event a type cancels (occupied cancels vacated, added cancels
// removed), or whose cancel it takes part in.
std::optional<WebhookEventType> partner(WebhookEventType type) noexcept {
  switch (type) {
    case WebhookEventType::channel_occupied:
      return WebhookEventType::channel_vacated;
    case WebhookEventType::channel_vacated:
      return WebhookEventType::channel_occupied;
    case WebhookEventType::member_added:
      return WebhookEventType::member_removed;
    case WebhookEventType::member_removed:
      return WebhookEventType::member_added;
    default:
      return std::nullopt;
  }
}

bool is_delayed(WebhookEventType type) noexcept {
  return type == WebhookEventType::channel_vacated || type == WebhookEventType::member_removed;
}

// The pending-map key shared by a delayed event and the event that cancels it.
std::string pair_key(WebhookEventType type, std::size_t app_index, const WebhookEvent& event) {
  const bool member =
      type == WebhookEventType::member_added || type == WebhookEventType::member_removed;
  std::string key;
  key.reserve(event.channel.size() + 24 + (member && event.user_id ? event.user_id->size() : 0));
  key += member ? 'm' : 'c';
  key += std::to_string(app_index);
  key += '\0';
  key += event.channel;
  if (member) {
    key += '\0';
    key += event.user_id.value_or("");
  }
  return key;
}

void append_field(std::string& out, std::string_view name) {
  out += ',';
  protocol::append_json_string(out, name);
  out += ':';
}

}  // namespace

// ================================================================================================
// Event types and serialisation
// ================================================================================================

std::optional<WebhookEventType> webhook_event_type(std::string_view name) noexcept {
  for (std::size_t i = 0; i < webhook_event_type_count; ++i) {
    if (type_names[i] == name) {
      return static_cast<WebhookEventType>(i);
    }
  }
  return std::nullopt;
}

void append_webhook_event_json(std::string& out, const WebhookEvent& event) {
  out += "{\"name\":";
  protocol::append_json_string(out, event.name);
  append_field(out, "channel");
  protocol::append_json_string(out, event.channel);
  if (event.user_id) {
    append_field(out, "user_id");
    protocol::append_user_id(out, *event.user_id, event.user_id_numeric);
  }
  if (event.event) {
    append_field(out, "event");
    protocol::append_json_string(out, *event.event);
  }
  if (event.data) {
    append_field(out, "data");
    out += event.data->empty() ? std::string_view("null") : std::string_view(*event.data);
  } else if (event.name == "cache_miss") {
    append_field(out, "data");
    out += "\"{}\"";  // Sockudo's cache_miss shape
  }
  if (event.socket_id) {
    append_field(out, "socket_id");
    protocol::append_json_string(out, *event.socket_id);
  }
  if (event.subscription_count) {
    append_field(out, "subscription_count");
    out += std::to_string(*event.subscription_count);
  }
  out += '}';
}

std::string webhook_body(std::int64_t time_ms, const std::vector<std::string_view>& event_objects) {
  std::size_t size = 40;
  for (const std::string_view e : event_objects) {
    size += e.size() + 1;
  }
  std::string body;
  body.reserve(size);
  body += "{\"time_ms\":";
  body += std::to_string(time_ms);
  body += ",\"events\":[";
  bool first = true;
  for (const std::string_view e : event_objects) {
    if (!first) {
      body += ',';
    }
    first = false;
    body += e;
  }
  body += "]}";
  return body;
}

// ================================================================================================
// Filters and routing
// ================================================================================================

std::string_view channel_namespace(std::string_view channel) noexcept {
  // Longest prefixes first, so "private-encrypted-" is not read as "private-".
  constexpr std::string_view prefixes[] = {"private-encrypted-cache-",
                                           "private-encrypted-",
                                           "presence-cache-",
                                           "private-cache-",
                                           "cache-",
                                           "presence-",
                                           "private-"};
  for (const std::string_view prefix : prefixes) {
    if (channel.starts_with(prefix)) {
      channel.remove_prefix(prefix.size());
      break;
    }
  }
  const std::size_t colon = channel.find(':');
  return colon == std::string_view::npos ? std::string_view() : channel.substr(0, colon);
}

WebhookChannelFilter::WebhookChannelFilter(const WebhookFilter& filter) : config_(filter) {
  if (config_.channel_pattern.size() > WebhookFilter::max_pattern_length ||
      !WebhookFilter::pattern_numbers_bounded(config_.channel_pattern)) {
    config_.pattern_valid = false;  // refused by the config loader; never compiled here either
  } else if (!config_.channel_pattern.empty() && config_.pattern_valid) {
    try {
      pattern_.emplace(config_.channel_pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error&) {
      config_.pattern_valid = false;
    }
  }
}

bool WebhookChannelFilter::matches(std::string_view channel) const {
  if (!config_.channel_prefix.empty() && !channel.starts_with(config_.channel_prefix)) {
    return false;
  }
  if (!config_.channel_suffix.empty() && !channel.ends_with(config_.channel_suffix)) {
    return false;
  }
  if (!config_.channel_namespaces.empty()) {
    const std::string_view ns = channel_namespace(channel);
    if (std::find(config_.channel_namespaces.begin(), config_.channel_namespaces.end(), ns) ==
        config_.channel_namespaces.end()) {
      return false;
    }
  }
  if (!config_.channel_pattern.empty()) {
    if (!pattern_) {
      return false;  // invalid pattern: matches nothing (Sockudo)
    }
    try {
      return std::regex_search(channel.begin(), channel.end(), *pattern_);
    } catch (const std::regex_error&) {
      return false;  // e.g. error_complexity on a pathological pattern
    }
  }
  return true;
}

WebhookRouting::WebhookRouting(const Config& config)
    : by_app_(config.apps.size()), app_masks_(config.apps.size(), 0) {
  for (std::size_t a = 0; a < config.apps.size(); ++a) {
    const App& app = config.apps[a];
    for (const WebhookTarget& webhook : app.webhooks) {
      std::uint32_t types = 0;
      for (const std::string& name : webhook.event_types) {
        if (const auto type = webhook_event_type(name)) {
          types |= bit(*type);
        }
      }
      if (types == 0) {
        continue;  // receives nothing
      }
      by_app_[a].push_back(targets_.size());
      targets_.push_back(Target{a, &app, &webhook, types, WebhookChannelFilter(webhook.filter)});
      app_masks_[a] |= types;
    }
    // Link the vacate pairs: the cancel rule needs both halves even if one is not configured.
    for (const auto type : {WebhookEventType::channel_occupied, WebhookEventType::member_added}) {
      const std::uint32_t pair = bit(type) | bit(*partner(type));
      if ((app_masks_[a] & pair) != 0) {
        app_masks_[a] |= pair;
      }
    }
  }
}

bool WebhookRouting::wants(std::size_t app_index, WebhookEventType type) const noexcept {
  return app_index < app_masks_.size() && (app_masks_[app_index] & bit(type)) != 0;
}

const std::vector<std::size_t>& WebhookRouting::targets_of(std::size_t app_index) const noexcept {
  static const std::vector<std::size_t> none;
  return app_index < by_app_.size() ? by_app_[app_index] : none;
}

// ================================================================================================
// Retry policy
// ================================================================================================

WebhookOutcome classify_webhook_status(unsigned status) noexcept {
  if (status >= 200 && status < 300) {
    return WebhookOutcome::delivered;
  }
  if (status == 0 || status >= 500 || status == 408 || status == 409 || status == 425 ||
      status == 429) {
    return WebhookOutcome::retryable;
  }
  return WebhookOutcome::rejected;
}

std::optional<std::chrono::milliseconds> next_webhook_retry_delay(
    const WebhookRetry& policy, std::uint64_t attempts_made, std::chrono::milliseconds elapsed) {
  if (!policy.enabled || attempts_made == 0) {
    return std::nullopt;
  }
  if (policy.max_attempts != 0 && attempts_made >= policy.max_attempts) {
    return std::nullopt;
  }
  // initial * 2^(n-1), capped; the shift is bounded so it cannot overflow.
  const std::uint64_t doublings = std::min<std::uint64_t>(attempts_made - 1, 40);
  const auto initial = static_cast<std::uint64_t>(policy.initial_interval.count());
  const auto cap = static_cast<std::uint64_t>(policy.max_interval.count());
  std::uint64_t wait = initial;
  for (std::uint64_t i = 0; i < doublings && wait < cap; ++i) {
    wait *= 2;
  }
  wait = std::min(wait, cap);
  const std::chrono::milliseconds delay(static_cast<std::int64_t>(wait));
  if (elapsed + delay > policy.max_elapsed_time) {
    return std::nullopt;
  }
  return delay;
}

// ================================================================================================
// Scheduler
// ================================================================================================

WebhookScheduler::WebhookScheduler(const WebhookRouting& routing, const WebhookSettings& settings)
    : routing_(routing), settings_(settings), batches_(routing.targets().size()) {
  if (settings_.max_batch_size == 0) {
    settings_.max_batch_size = 1;
  }
}

std::size_t WebhookScheduler::approx_bytes(const WebhookEvent& event) noexcept {
  constexpr std::size_t overhead = 160;  // object, optionals, JSON punctuation
  std::size_t n = overhead + event.name.size() + event.channel.size();
  for (const auto* field : {&event.user_id, &event.event, &event.data, &event.socket_id}) {
    if (*field) {
      n += (*field)->size();
    }
  }
  return n;
}

void WebhookScheduler::add(std::size_t app_index, WebhookEvent event, TimePoint now) {
  const auto type = webhook_event_type(event.name);
  if (!type || !routing_.wants(app_index, *type)) {
    return;
  }
  if (is_delayed(*type)) {
    if (settings_.vacate_delay.count() <= 0) {
      route(app_index, event, now);
      return;
    }
    std::string key = pair_key(*type, app_index, event);
    if (pending_.contains(key)) {
      return;  // the same transition reported twice: keep the first
    }
    const std::size_t bytes = approx_bytes(event);
    const std::uint64_t seq = ++seq_;
    due_.push_back(DueEntry{now + settings_.vacate_delay, key, seq});
    pending_.emplace(std::move(key), Pending{std::move(event), app_index, seq, bytes});
    held_events_ += 1;
    held_bytes_ += bytes;
    return;
  }
  if (const auto other = partner(*type)) {
    // A re-occupy / re-join within the delay: the channel never emptied, the member never left.
    const auto it = pending_.find(pair_key(*other, app_index, event));
    if (it != pending_.end()) {
      held_events_ -= 1;
      held_bytes_ -= it->second.bytes;
      pending_.erase(it);  // its due_ entry is now stale and skipped when reached
      suppressed_ += 2;
      drop_stale_entries();
      return;
    }
  }
  route(app_index, event, now);
}

void WebhookScheduler::drop_stale_entries() {
  // Under subscribe/unsubscribe churn most entries are stale; compact once they dominate, so the
  // queue stays proportional to the live pending events (amortised O(1) per cancel).
  ++stale_;
  constexpr std::size_t min_compact = 1024;
  if (stale_ < min_compact || stale_ * 2 < due_.size()) {
    return;
  }
  std::erase_if(due_, [this](const DueEntry& entry) {
    const auto it = pending_.find(entry.key);
    return it == pending_.end() || it->second.seq != entry.seq;
  });
  stale_ = 0;
}

void WebhookScheduler::route(std::size_t app_index, const WebhookEvent& event, TimePoint now) {
  const auto type = webhook_event_type(event.name);
  std::shared_ptr<const Item> item;
  for (const std::size_t t : routing_.targets_of(app_index)) {
    const WebhookRouting::Target& target = routing_.targets()[t];
    if ((target.types & bit(*type)) == 0 || !target.filter.matches(event.channel)) {
      continue;
    }
    if (!item) {
      auto made = std::make_shared<Item>();
      append_webhook_event_json(made->json, event);
      made->time_ms = event.time_ms;
      item = std::move(made);
    }
    OpenBatch& batch = batches_[t];
    if (batch.items.empty()) {
      batch.deadline = now + settings_.batching_duration;
    }
    batch.items.push_back(item);
    batch.bytes += item->json.size();
    held_events_ += 1;
    held_bytes_ += item->json.size();
    if (!settings_.batching_enabled || batch.items.size() >= settings_.max_batch_size) {
      close_batch(t);
    }
  }
}

void WebhookScheduler::close_batch(std::size_t target) {
  OpenBatch& batch = batches_[target];
  if (batch.items.empty()) {
    return;
  }
  std::vector<std::string_view> objects;
  objects.reserve(batch.items.size());
  std::int64_t earliest = batch.items.front()->time_ms;
  for (const auto& item : batch.items) {
    objects.push_back(item->json);
    earliest = std::min(earliest, item->time_ms);
  }
  ready_.push_back(WebhookBatch{target, webhook_body(earliest, objects), objects.size(), earliest});
  held_events_ -= batch.items.size();
  held_bytes_ -= batch.bytes;
  batch.items.clear();
  batch.bytes = 0;
}

void WebhookScheduler::fire_pending(const DueEntry& entry, TimePoint now) {
  const auto it = pending_.find(entry.key);
  if (it == pending_.end() || it->second.seq != entry.seq) {
    stale_ -= std::min<std::size_t>(stale_, 1);
    return;  // cancelled (and maybe pending again with a newer seq)
  }
  Pending pending = std::move(it->second);
  pending_.erase(it);
  held_events_ -= 1;
  held_bytes_ -= pending.bytes;
  route(pending.app_index, pending.event, now);
}

void WebhookScheduler::poll(TimePoint now, std::vector<WebhookBatch>& out) {
  while (!due_.empty() && due_.front().due <= now) {
    const DueEntry entry = std::move(due_.front());
    due_.pop_front();
    fire_pending(entry, now);
  }
  for (std::size_t t = 0; t < batches_.size(); ++t) {
    if (!batches_[t].items.empty() && batches_[t].deadline <= now) {
      close_batch(t);
    }
  }
  for (WebhookBatch& batch : ready_) {
    out.push_back(std::move(batch));
  }
  ready_.clear();
}

void WebhookScheduler::flush_all(std::vector<WebhookBatch>& out) {
  const TimePoint now{};  // batches opened now get an already-passed deadline
  while (!due_.empty()) {
    const DueEntry entry = std::move(due_.front());
    due_.pop_front();
    fire_pending(entry, now);
  }
  for (std::size_t t = 0; t < batches_.size(); ++t) {
    close_batch(t);
  }
  for (WebhookBatch& batch : ready_) {
    out.push_back(std::move(batch));
  }
  ready_.clear();
}

std::optional<WebhookScheduler::TimePoint> WebhookScheduler::next_deadline() const {
  std::optional<TimePoint> next;
  const auto consider = [&next](TimePoint t) {
    if (!next || t < *next) {
      next = t;
    }
  };
  // Stale (cancelled) entries at the front only cause an early, harmless wake-up.
  if (!due_.empty()) {
    consider(due_.front().due);
  }
  for (const OpenBatch& batch : batches_) {
    if (!batch.items.empty()) {
      consider(batch.deadline);
    }
  }
  if (!ready_.empty()) {
    consider(TimePoint::min());
  }
  return next;
}

}  // namespace server
