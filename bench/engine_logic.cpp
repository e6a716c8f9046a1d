// Engine, part 2: Pusher messages, subscriptions, activities (cycles, client events),
// status lines and the final per-connection loss accounting.

#include <sys/epoll.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "auth/signature.hpp"
#include "bench/engine.hpp"
#include "bench/engine_conn.hpp"
#include "bench/sysinfo.hpp"
#include "protocol/ws_frame.hpp"

namespace bench {

namespace {
constexpr std::array<std::uint8_t, 4> kMask{0x37, 0xfa, 0x21, 0x3d};
constexpr std::string_view kInternal = "pusher_internal:";
}  // namespace

void Engine::on_message(Conn& c, std::string_view msg, std::uint64_t now) {
  std::string_view ev = event_name(msg);
  std::string v1_name;  // protocol 2: sockudo:x / sockudo_internal:x read as pusher:x / ...
  if (ev.starts_with("sockudo")) {
    v1_name = "pusher" + std::string(ev.substr(7));
    ev = v1_name;
  }
  if (ev == o_.event_name) {
    on_delivery(c, msg, now);
  } else if (ev.substr(0, 7) == "client-") {
    on_client_event(c, msg, now);
  } else if (ev.substr(0, kInternal.size()) == kInternal) {
    const std::string_view what = ev.substr(kInternal.size());
    if (what == "subscription_succeeded") {
      on_subscribed(c, now);
    } else if (what == "member_added" || what == "member_removed") {
      if (c.cycler) {
        totals_.add("member_events_to_members", 1);
      } else {
        if (counting_members_) ++c.seq.unique;
        // Member events are the deliveries of the presence scenario only. Elsewhere (fanout,
        // churn, soak on presence channels) counting them would let the drain's "all expected
        // publishes arrived" test pass early and report the publishes still in flight as lost.
        if (o_.scenario == Scenario::presence) ++delivered_;
        if (in_window_) ++win_member_;
      }
    }
  } else if (ev == "pusher:connection_established") {
    on_established(c, msg, now);
  } else if (ev == "pusher:error" || ev == "pusher:subscription_error") {
    on_error_frame(c, msg);
  } else if (ev == "pusher:ping") {
    send_text(c, "{\"event\":\"pusher:pong\",\"data\":{}}");
  } else if (ev != "pusher:pong" && ev != "pusher:cache_miss") {
    totals_.add("other_events", 1);
  }
}

void Engine::on_delivery(Conn& c, std::string_view msg, std::uint64_t now) {
  Marker m;
  // "data" follows "event" in Sockudo's and Soketi's key order; search from there first.
  std::string_view data = string_field_tail(msg, "data", o_.event_name.size() + 10);
  if (data.empty()) data = string_field_tail(msg, "data");
  if (!parse_marker(data, m) || m.kind != 'B' || m.count < 2) {
    totals_.add("bad_payloads", 1);
    return;
  }
  ++delivered_;
  if (c.cycler) {
    if (in_window_) ++win_churn_deliv_;
    return;
  }
  const std::size_t idx = static_cast<std::size_t>(&c - conns_.data());
  seq_observe(c.seq, &seq_bits_[idx * (wbits_ / 64)], wbits_, m.v[0]);
  if (!in_window_) return;
  if (c.slow) {
    ++win_slow_deliv_;
    return;
  }
  ++win_deliv_;
  lat_->record(now > m.v[1] ? now - m.v[1] : 0);
}

void Engine::on_client_event(Conn& c, std::string_view msg, std::uint64_t now) {
  Marker m;
  std::string_view data = string_field_tail(msg, "data", 12);
  if (data.empty()) data = string_field_tail(msg, "data");
  if (!parse_marker(data, m) || m.kind != 'E' || m.count < 3) {
    totals_.add("bad_payloads", 1);
    return;
  }
  ++delivered_;
  const std::size_t idx = static_cast<std::size_t>(&c - conns_.data());
  const std::uint64_t slot = m.v[0] / o_.channels;
  bool fresh = true;
  if (!pair_last_.empty() && slot < pop_.stable_on(c.ch)) {
    std::uint32_t& last = pair_last_[pair_off_[idx] + slot];
    if (m.v[1] <= last) {
      fresh = false;
      ++c.seq.dups;
    } else {
      if (m.v[1] != static_cast<std::uint64_t>(last) + 1) totals_.add("client_event_gaps", 1);
      last = static_cast<std::uint32_t>(m.v[1]);
    }
  }
  if (fresh) ++c.seq.unique;
  if (!in_window_) return;
  ++win_ce_recv_;
  lat_->record(now > m.v[2] ? now - m.v[2] : 0);
}

void Engine::on_established(Conn& c, std::string_view msg, std::uint64_t now) {
  const std::string_view sid = socket_id_of(msg);
  c.sid_len = static_cast<std::uint8_t>(std::min(sid.size(), sizeof c.sid));
  std::memcpy(c.sid, sid.data(), c.sid_len);
  ++established_;
  win_.hist("connect").record(now - c.t0);
  if (established_ == conns_.size()) {
    t_all_est_ = now;
    push_status(true);
  }
  if (c.cycler) {
    ++ready_;
    settle(c);
    idle_cyclers_.push_back(static_cast<std::uint32_t>(&c - conns_.data()));
  } else if (!o_.phased || subscribe_all_) {
    subscribe(c);
    return;
  } else {
    settle(c);
  }
  if (ready_ == conns_.size()) {
    t_all_ready_ = now;
    push_status(true);
  }
}

std::string Engine::auth_for(const Conn& c, const std::string& channel,
                             std::string& channel_data) const {
  channel_data.clear();
  if (o_.channel_type == ChannelType::public_) return {};
  if (o_.channel_type == ChannelType::presence) {
    channel_data = "{\"user_id\":\"u" + std::to_string(o_.tag) + "-" + std::to_string(c.g) + "\"}";
  }
  if (o_.apps != 0) {
    std::string suffix(1, '-');
    suffix += std::to_string(c.g % o_.apps);
    std::string key = o_.app_key;
    key += suffix;
    std::string secret = o_.app_secret;
    secret += suffix;
    return auth::sign_channel(key, secret, c.socket_id(), channel, channel_data);
  }
  return auth::sign_channel(o_.app_key, o_.app_secret, c.socket_id(), channel, channel_data);
}

void Engine::subscribe(Conn& c) {
  const std::string& channel = channel_names_[c.ch];
  std::string channel_data;
  const std::string a = auth_for(c, channel, channel_data);
  c.sub = SubState::subscribing;
  ++subscribing_;
  c.t1 = mono_ns();
  send_text(c, subscribe_json(channel, a, channel_data));
}

void Engine::begin_cycle(Conn& c, std::uint64_t now, std::string prefix) {
  const std::string& channel = channel_names_[c.ch];
  std::string channel_data;
  const std::string a = auth_for(c, channel, channel_data);
  c.sub = SubState::subscribing;
  c.t1 = now;
  ++cycling_;
  prefix += protocol::make_masked_frame(protocol::Opcode::text,
                                        subscribe_json(channel, a, channel_data), kMask);
  send_raw(c, prefix);
}

void Engine::on_subscribed(Conn& c, std::uint64_t now) {
  if (c.sub != SubState::subscribing) return;  // a repeated success: nothing to do
  if (c.cycler) {
    // One cycle: joined (success seen), now leave; count both for the member-event check.
    joins_leaves_[c.ch] += 2;
    if (in_window_) {
      ++win_cycles_;
      win_.hist("cycle").record(now - c.t1);
    }
    --cycling_;
    c.sub = SubState::none;
    std::string unsub = protocol::make_masked_frame(protocol::Opcode::text,
                                                    unsubscribe_json(channel_names_[c.ch]), kMask);
    if (active_ && o_.cycle_rate == 0) {
      begin_cycle(c, now, std::move(unsub));
    } else {
      send_raw(c, unsub);
      idle_cyclers_.push_back(static_cast<std::uint32_t>(&c - conns_.data()));
      maybe_stopped();
    }
    return;
  }
  c.sub = SubState::subscribed;
  --subscribing_;
  ++ready_;
  win_.hist("subscribe").record(now - c.t1);
  win_.hist("ready").record(now - c.t0);
  settle(c);
  pump_subscribes();
  if (ready_ == conns_.size()) {
    t_all_ready_ = now;
    push_status(true);
  }
}

void Engine::on_error_frame(Conn& c, std::string_view msg) {
  if (c.slow && slow_paused_) {
    // Expected: the server tells a shed slow subscriber why it closes it.
    totals_.add("slow_error_code_" + std::to_string(error_code_of(msg)), 1);
    return;
  }
  ++errors_;
  totals_.add("error_code_" + std::to_string(error_code_of(msg)), 1);
  if (errors_ <= 5) {
    std::fprintf(stderr, "pushcore-bench: connection %u got %.*s\n", c.g,
                 static_cast<int>(std::min<std::size_t>(msg.size(), 300)), msg.data());
  }
  if (c.sub != SubState::subscribing) return;
  c.sub = SubState::none;
  if (c.cycler) {
    --cycling_;
    c.dead = true;
    maybe_stopped();
  } else {
    --subscribing_;
    ++failed_;
    totals_.add("subscribe_errors", 1);
    settle(c);
    pump_subscribes();
  }
}

// ---- activities ---------------------------------------------------------------------------

void Engine::start_activity(std::uint64_t now) {
  active_ = true;
  stopping_ = false;
  act_start_ = now;
  act_issued_ = 0;
  counting_members_ = true;
  // Presence watchers count member events from here on.
  for (Conn& c : conns_) {
    if (!c.cycler && o_.scenario == Scenario::presence) c.seq.unique = 0;
  }
  if (pop_.cyclers > 0 && o_.cycle_rate == 0) {
    std::vector<std::uint32_t> idle;
    idle.swap(idle_cyclers_);
    for (std::uint32_t i : idle) {
      Conn& c = conns_[i];
      if (c.fd >= 0 && c.st == ConnState::open && !c.dead) begin_cycle(c, now, {});
    }
  }
  const bool ticking =
      o_.scenario == Scenario::client_events || (pop_.cyclers > 0 && o_.cycle_rate > 0);
  if (ticking && tick_timer_ == 0) tick_timer_ = loop_.every(1'000'000, [this] { tick(); });
}

void Engine::tick() {
  if (!active_) return;
  const std::uint64_t now = mono_ns();
  const double elapsed = static_cast<double>(now - act_start_) / 1e9;
  std::uint32_t actors = 0;
  double rate = 0;
  if (o_.scenario == Scenario::client_events) {
    actors = local_count();
    rate = o_.event_rate * actors / std::max<std::uint32_t>(1, pop_.stable);
  } else {
    for (const Conn& c : conns_) actors += c.cycler ? 1 : 0;
    rate = o_.cycle_rate * actors / std::max<std::uint32_t>(1, pop_.cyclers);
  }
  if (actors == 0) return;
  auto due = static_cast<std::int64_t>(std::floor(elapsed * rate)) -
             static_cast<std::int64_t>(act_issued_);
  due = std::min<std::int64_t>(due, 100000);
  if (o_.scenario == Scenario::client_events) {
    std::uint32_t misses = 0;
    while (due > 0 && misses < conns_.size()) {
      Conn& c = conns_[cursor_];
      cursor_ = (cursor_ + 1) % local_count();
      if (c.fd < 0 || c.sub != SubState::subscribed) {
        ++misses;
        continue;
      }
      misses = 0;
      const std::uint64_t nums[3] = {c.g, ++c.sent, now};
      const std::string marker = make_marker('E', nums, 3, o_.payload);
      send_text(c, client_event_json("client-" + o_.event_name, channel_names_[c.ch], marker));
      ++ce_sent_[c.ch];
      if (in_window_) ++win_ce_sent_;
      ++act_issued_;
      --due;
    }
    return;
  }
  while (due > 0 && !idle_cyclers_.empty()) {
    Conn& c = conns_[idle_cyclers_.back()];
    idle_cyclers_.pop_back();
    if (c.fd < 0 || c.dead) continue;
    begin_cycle(c, now, {});
    ++act_issued_;
    --due;
  }
}

void Engine::maybe_stopped() {
  if (!stopping_ || cycling_ > 0) return;
  stopping_ = false;
  Report r;
  for (std::uint32_t ch = 0; ch < o_.channels; ++ch) {
    if (joins_leaves_[ch] != 0) r.add("jl." + std::to_string(ch), joins_leaves_[ch]);
    if (ce_sent_[ch] != 0) r.add("ce." + std::to_string(ch), ce_sent_[ch]);
  }
  r.add("stopped", 1);
  sink_("STOPPED " + r.serialize());
}

void Engine::push_status(bool force) {
  const std::uint64_t now = mono_ns();
  if (!force && now - last_status_ < 45'000'000) return;
  last_status_ = now;
  Report r;
  r.add("conns", local_count());
  r.add("established", established_);
  r.add("ready", ready_);
  r.add("failed", failed_);
  r.add("closed", closed_by_server_);
  r.add("delivered", static_cast<std::int64_t>(delivered_));
  r.add("errors", static_cast<std::int64_t>(errors_));
  r.add("cpu_ns", static_cast<std::int64_t>(self_cpu_ns()));
  if (t_connect_) r.set_min("t_connect_min", static_cast<std::int64_t>(t_connect_));
  if (t_all_est_) r.set_max("t_all_established_max", static_cast<std::int64_t>(t_all_est_));
  if (t_all_ready_) r.set_max("t_all_ready_max", static_cast<std::int64_t>(t_all_ready_));
  sink_("STATUS " + r.serialize());
}

// ---- finish --------------------------------------------------------------------------------

void Engine::finish(std::string_view exp) {
  expected_.assign(o_.channels, 0);
  for (std::uint32_t ch = 0; ch < o_.channels && !exp.empty(); ++ch) {
    const std::size_t comma = exp.find(',');
    const std::string_view v = exp.substr(0, comma);
    std::from_chars(v.data(), v.data() + v.size(), expected_[ch]);
    exp = comma == std::string_view::npos ? std::string_view{} : exp.substr(comma + 1);
  }
  finishing_ = true;
  if (!slow_paused_) {
    final_report();
    return;
  }
  // Let the slow subscribers read again and see what the server did with them: a shed
  // connection ends (close frame or EOF) once its backlog is read; a kept one keeps receiving.
  for (Conn& c : conns_) {
    if (!c.paused) continue;
    c.paused = false;
    update_events(c);
  }
  const std::uint64_t now = mono_ns();
  last_slow_bytes_at_ = now;
  drain_deadline_ = now + 5'000'000'000ULL;
  drain_timer_ = loop_.every(50'000'000, [this] {
    const std::uint64_t t = mono_ns();
    bool open = false;
    for (const Conn& c : conns_) open = open || (c.slow && c.fd >= 0);
    if (!open || t - last_slow_bytes_at_ > 500'000'000ULL || t > drain_deadline_) {
      loop_.cancel(drain_timer_);
      drain_timer_ = 0;
      final_report();
    }
  });
}

void Engine::final_report() {
  Report r = totals_;
  for (const Conn& c : conns_) {
    if (c.cycler) continue;
    if (c.slow) {
      r.add("slow_total", 1);
      if (c.fd >= 0) r.add("slow_open", 1);
      continue;
    }
    std::int64_t exp = expected_[c.ch];
    if (o_.scenario == Scenario::client_events) exp -= static_cast<std::int64_t>(c.sent);
    if (o_.scenario == Scenario::connect) exp = 0;
    const auto got = static_cast<std::int64_t>(c.seq.unique);
    const std::int64_t loss = std::max<std::int64_t>(0, exp - got);
    r.add("checked_connections", 1);
    r.add("expected", exp);
    r.add("received_unique", got);
    r.add("losses", loss);
    if (loss > 0) r.add("lossy_connections", 1);
    // Member events carry no sequence: anything above the expected count is a duplicate.
    const std::int64_t extra =
        o_.scenario == Scenario::presence ? std::max<std::int64_t>(0, got - exp) : 0;
    r.add("duplicates", static_cast<std::int64_t>(c.seq.dups) + extra);
    r.add("stale", c.seq.stale);
  }
  r.add("errors", static_cast<std::int64_t>(errors_));
  r.add("failed", failed_);
  r.add("closed_by_server", closed_by_server_);
  sink_("FINAL " + r.serialize());
}

}  // namespace bench
