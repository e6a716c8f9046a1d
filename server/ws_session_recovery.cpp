// WsSession, part 4: Sockudo protocol V2 connection recovery (`resume`) and `rewind`, served
// from the node's replay buffers (server/replay_buffer.hpp, docs/PROTOCOL_V2.md).
#include <algorithm>
#include <climits>
#include <cstdint>

#include "protocol/client_message.hpp"
#include "protocol/json.hpp"
#include "protocol/messages.hpp"
#include "server/clock.hpp"
#include "server/hub.hpp"
#include "server/worker.hpp"
#include "server/ws_session.hpp"

namespace server {

namespace {

/// How long resume positions of channels not yet subscribed wait for their subscribe (protected
/// channels subscribe after their authorization round trip, after the resume).
constexpr auto resume_wait = std::chrono::seconds(10);
/// Positions one resume may name.
constexpr std::size_t max_resume_positions = 100;

void append_opt_string(std::string& out, const std::optional<std::string>& v) {
  if (v) {
    protocol::append_json_string(out, *v);
  } else {
    out += "null";
  }
}

void append_opt_uint(std::string& out, std::optional<std::uint64_t> v) {
  out += v ? std::to_string(*v) : std::string("null");
}

/// resume_failed's fields (also a member of resume_success's `failed`).
struct Failure {
  std::string_view code, reason;
  std::optional<std::string> expected_stream_id, current_stream_id;
  std::optional<std::uint64_t> oldest, newest;
};

std::string failure_json(std::string_view channel, const Failure& f) {
  std::string out = R"({"channel":)";
  protocol::append_json_string(out, channel);
  out += R"(,"code":)";
  protocol::append_json_string(out, f.code);
  out += R"(,"reason":)";
  protocol::append_json_string(out, f.reason);
  out += R"(,"expected_stream_id":)";
  append_opt_string(out, f.expected_stream_id);
  out += R"(,"current_stream_id":)";
  append_opt_string(out, f.current_stream_id);
  out += R"(,"oldest_available_serial":)";
  append_opt_uint(out, f.oldest);
  out += R"(,"newest_available_serial":)";
  append_opt_uint(out, f.newest);
  out.push_back('}');
  return out;
}

void append_member(std::string& list, const std::string& item) {
  if (!list.empty()) list.push_back(',');
  list += item;
}

}  // namespace

WsSession::Recovery& WsSession::recovery() {
  if (!recovery_) recovery_ = std::make_unique<Recovery>();
  return *recovery_;
}

void WsSession::guard_replayed(const std::string& channel, std::uint64_t serial) {
  // Live copies of the replayed serials may still be on their way to this worker: skip them.
  auto& guards = recovery().guards;
  for (auto& g : guards) {
    if (g.first == channel) {
      g.second = std::max(g.second, serial);
      replay_guarded_ = true;
      return;
    }
  }
  guards.emplace_back(channel, serial);
  replay_guarded_ = true;
}

bool WsSession::intercept_live(std::string_view channel, const DialectFrames& frame) {
  if (!recovery_) return false;
  for (Recovery::Hold& h : recovery_->holds) {
    if (h.channel != channel || h.overflowed) continue;
    if (h.frames.size() < hub_.config().v2.recovery_max_buffer_size) {
      h.frames.push_back(frame);
      return true;
    }
    // Bounded: past a buffer's worth, what is held goes out now and the rest unheld.
    h.overflowed = true;
    for (const DialectFrames& f : h.frames) enqueue(f.for_dialect(v2()));
    h.frames.clear();
    return false;
  }
  auto& guards = recovery_->guards;
  for (auto it = guards.begin(); it != guards.end(); ++it) {
    if (it->first != channel) continue;
    if (frame.serial <= it->second) return true;
    guards.erase(it);  // live has moved past the replay
    replay_guarded_ = !guards.empty() || !recovery_->holds.empty();
    return false;
  }
  return false;
}

void WsSession::hold_live(const std::string& channel) {
  Recovery& r = recovery();
  replay_guarded_ = true;
  for (Recovery::Hold& h : r.holds) {
    if (h.channel == channel) {
      ++h.holders;
      return;
    }
  }
  Recovery::Hold h;
  h.channel = channel;
  h.holders = 1;
  r.holds.push_back(std::move(h));
}

void WsSession::release_hold(const std::string& channel, std::uint64_t after_serial) {
  if (!recovery_) return;
  Recovery& r = *recovery_;
  auto it = std::find_if(r.holds.begin(), r.holds.end(),
                         [&](const Recovery::Hold& h) { return h.channel == channel; });
  if (it == r.holds.end()) return;
  it->after = std::max(it->after, after_serial);
  if (--it->holders > 0) return;
  Recovery::Hold h = std::move(*it);
  r.holds.erase(it);
  replay_guarded_ = !r.guards.empty() || !r.holds.empty();
  if (find_subscription(channel) == nullptr) return;  // unsubscribed meanwhile: not its any more
  for (const DialectFrames& f : h.frames) {
    if (f.serial > h.after) enqueue(f.for_dialect(v2()));
  }
}

bool WsSession::hold_overflowed(const std::string& channel) const {
  if (!recovery_) return false;
  for (const Recovery::Hold& h : recovery_->holds) {
    if (h.channel == channel) return h.overflowed;
  }
  return false;
}

void WsSession::send_subscribed(const std::string& channel, std::string json) {
  ReplayBuffer* replay = hub_.replay();
  if (!v2() || replay == nullptr) {
    send_json(json);
    after_subscribed(channel);
    return;
  }
  // The client keeps the position of every channel frame with a serial: announcing the
  // channel's current one lets it resume even if no message arrived before a disconnect.
  Adapter& adapter = hub_.adapter();
  if (!adapter.sequences()) {
    subscribed_at(channel, json, replay->position(app_->index, channel));
    return;
  }
  if (auto pos = replay->known_position(app_->index, channel)) {
    subscribed_at(channel, json, std::move(pos));
    return;
  }
  // A channel this node has not seen numbered: the cluster knows its position. Its live
  // messages wait meanwhile, so that they follow subscription_succeeded.
  hold_live(channel);
  recovery().positioning.push_back(channel);  // a resume of it waits for subscription_succeeded
  adapter.stream_position(
      app_->index, channel,
      [wk = &worker_, id = id_, channel, json = std::move(json)](std::optional<StreamPosition> p) {
        net::post(wk->ioc(), [wk, id, channel, json, p = std::move(p)]() mutable {
          if (WsSession* s = wk->find_session(id)) {
            std::erase(s->recovery().positioning, channel);
            if (s->is_open() && s->find_subscription(channel) != nullptr) {
              s->subscribed_at(channel, json, std::move(p));
            }
            s->release_hold(channel, 0);
          }
        });
      });
}

void WsSession::subscribed_at(const std::string& channel, const std::string& json,
                              std::optional<StreamPosition> pos) {
  if (pos) {
    send_json(protocol::with_identity(json, uuid_v4(), pos->stream_id, pos->serial), false);
  } else {
    send_json(json);  // the cluster did not answer: no position to resume from
  }
  after_subscribed(channel);
}

void WsSession::after_subscribed(const std::string& channel) {
  if (!recovery_) return;
  Recovery& r = *recovery_;
  for (std::size_t i = 0; i < r.rewinds.size(); ++i) {
    if (r.rewinds[i].channel == channel) {
      rewind_channel(channel);
      break;
    }
  }
  for (std::size_t i = 0; i < r.pending.size(); ++i) {
    if (r.pending[i].channel != channel) continue;
    Recovery::Position p = std::move(r.pending[i]);
    r.pending.erase(r.pending.begin() + static_cast<std::ptrdiff_t>(i));
    resume_channel(p.channel, p.stream_id, p.serial);
    finish_resume(false);
    break;
  }
}

// ============================================================================================
// resume
// ============================================================================================

void WsSession::handle_resume(std::string_view data_raw) {
  ReplayBuffer* replay = hub_.replay();
  if (replay == nullptr) {
    send_error(WsError::recovery_disabled);
    return;
  }
  auto parsed = protocol::parse_resume_data(data_raw, max_resume_positions);
  if (!parsed) {
    send_error(parsed.code, parsed.message);
    return;
  }
  std::vector<protocol::ResumePosition>& positions = *parsed;
  if (positions.empty()) {
    send_error(WsError::resume_no_positions);
    return;
  }
  Recovery& r = recovery();
  if (r.resuming) finish_resume(true);  // a new resume replaces one still waiting
  r.resuming = true;
  r.recovered.clear();
  r.failed.clear();
  r.resume_deadline = Clock::now() + resume_wait;
  for (protocol::ResumePosition& p : positions) {
    const bool announced =
        std::find(r.positioning.begin(), r.positioning.end(), p.channel) == r.positioning.end();
    if (find_subscription(p.channel) != nullptr && announced) {
      resume_channel(p.channel, p.stream_id, p.serial);
    } else {
      // Not subscribed (yet): a protected channel subscribes after its authorization; a resume
      // never delivers what a subscribe would refuse, so it waits for the subscription (and,
      // in a cluster, for the position its subscription_succeeded announces).
      r.pending.push_back({std::move(p.channel), std::move(p.stream_id), p.serial});
    }
  }
  finish_resume(false);
}

void WsSession::resume_channel(const std::string& channel,
                               const std::optional<std::string>& stream_id, std::uint64_t serial) {
  const std::uint64_t max_replay = hub_.config().v2.recovery_max_buffer_size;
  ReplayLookup found = hub_.replay()->after(app_->index, channel, stream_id, serial, max_replay);
  Adapter& adapter = hub_.adapter();
  if (found.status != ReplayLookup::Status::expired || !adapter.sequences()) {
    conclude_resume(channel, stream_id, found);
    return;
  }
  // This node's mirror does not reach back that far: the cluster's history may.
  Recovery& r = recovery();
  ++r.awaiting;
  hold_live(channel);
  adapter.history(app_->index, channel, {.latest = false, .after = serial, .count = max_replay},
                  [wk = &worker_, id = id_, channel, stream_id, serial](std::optional<History> h) {
                    net::post(wk->ioc(),
                              [wk, id, channel, stream_id, serial, h = std::move(h)]() mutable {
                                if (WsSession* s = wk->find_session(id)) {
                                  s->resumed_from_cluster(channel, stream_id, serial, std::move(h));
                                }
                              });
                  });
}

namespace {

/// A message of the cluster's history as the replay buffer keeps one (both encodings).
ReplayEntry entry_of(const HistoryEntry& e, const std::string& stream_id) {
  return make_replay_entry(e.json, e.message_id, stream_id, e.serial, steady_ms() - e.age_ms);
}

}  // namespace

void WsSession::resumed_from_cluster(const std::string& channel,
                                     const std::optional<std::string>& stream_id,
                                     std::uint64_t serial, std::optional<History> history) {
  Recovery& r = recovery();
  if (r.awaiting > 0) --r.awaiting;
  // Without the history, or with live messages that went out unheld, the order is unknown.
  const bool usable = history && !hold_overflowed(channel);
  ReplayLookup found;  // expired unless the history says otherwise
  if (usable) {
    const History& h = *history;
    found.current_stream_id = h.stream_id;
    found.oldest_serial = h.oldest_kept;
    if (h.oldest_kept) found.newest_serial = h.newest;
    found.status = judge_resume(stream_id, serial, h.stream_id, h.newest, h.oldest_kept,
                                hub_.config().v2.recovery_max_buffer_size);
    if (found.status == ReplayLookup::Status::recovered) {
      for (const HistoryEntry& e : h.entries) {
        if (e.serial > serial) found.entries.push_back(entry_of(e, *h.stream_id));
      }
    }
  }
  if (is_open() && find_subscription(channel) != nullptr) {
    if (usable) {
      conclude_resume(channel, stream_id, found);
    } else {
      report_unverifiable(channel, stream_id, history ? "live_overflow" : "history_unavailable");
    }
  }
  const bool replayed = found.status == ReplayLookup::Status::recovered;
  release_hold(channel,
               replayed ? (found.entries.empty() ? serial : found.entries.back().serial) : 0);
  finish_resume(false);
}

void WsSession::conclude_resume(const std::string& channel,
                                const std::optional<std::string>& stream_id,
                                const ReplayLookup& found) {
  Recovery& r = recovery();
  if (found.status == ReplayLookup::Status::recovered) {
    std::string item = R"({"channel":)";
    protocol::append_json_string(item, channel);
    item += R"(,"source":"hot","replayed":)" + std::to_string(found.entries.size());
    item += R"(,"position":)";
    if (found.entries.empty()) {
      item += "null";
    } else {
      const ReplayEntry& last = found.entries.back();
      item += R"({"stream_id":)";
      append_opt_string(item, found.current_stream_id);
      item += R"(,"serial":)" + std::to_string(last.serial) + R"(,"last_message_id":)";
      protocol::append_json_string(item, last.message_id);
      item.push_back('}');
      for (const ReplayEntry& e : found.entries) {
        enqueue(e.frames.for_dialect(v2()));
      }
      guard_replayed(channel, last.serial);
    }
    item.push_back('}');
    append_member(r.recovered, item);
    hub_.v2_counters().add(V2Counters::Kind::recovery_success, app_->index, "hot");
    return;
  }
  Failure f;
  f.expected_stream_id = stream_id;
  f.current_stream_id = found.current_stream_id;
  f.oldest = found.oldest_serial;
  f.newest = found.newest_serial;
  switch (found.status) {
    case ReplayLookup::Status::stream_reset:
      f.code = "stream_reset";
      f.reason = "stream_id_mismatch";
      break;
    case ReplayLookup::Status::window_exceeded:
      f.code = "position_expired";
      f.reason = "recovery_window_exceeded";
      break;
    default:
      f.code = "position_expired";
      f.reason = "hot_replay_expired_and_durable_history_disabled";
      break;
  }
  send_resume_failed(channel, failure_json(channel, f), f.code);
}

void WsSession::report_unverifiable(const std::string& channel,
                                    const std::optional<std::string>& stream_id,
                                    std::string_view reason) {
  Failure f;
  f.code = "continuity_unverifiable";
  f.reason = reason;
  f.expected_stream_id = stream_id;
  send_resume_failed(channel, failure_json(channel, f), f.code);
}

void WsSession::send_resume_failed(const std::string& channel, const std::string& data,
                                   std::string_view code) {
  // Sockudo names the channel on the frame; the client reads it inside data: both.
  std::string frame = R"({"event":"pusher:resume_failed","channel":)";
  protocol::append_json_string(frame, channel);
  frame += R"(,"data":)";
  protocol::append_json_string(frame, data);
  frame.push_back('}');
  send_json(frame);
  append_member(recovery().failed, data);
  hub_.v2_counters().add(V2Counters::Kind::recovery_failure, app_->index, code);
}

void WsSession::finish_resume(bool deadline_passed) {
  if (!recovery_ || !recovery_->resuming) return;
  Recovery& r = *recovery_;
  if ((!r.pending.empty() || r.awaiting > 0) && !deadline_passed) return;
  for (const Recovery::Position& p : r.pending) {
    Failure f;
    f.code = "continuity_unverifiable";
    f.reason = "channel_not_subscribed";
    f.expected_stream_id = p.stream_id;
    append_member(r.failed, failure_json(p.channel, f));
    hub_.v2_counters().add(V2Counters::Kind::recovery_failure, app_->index, f.code);
  }
  r.pending.clear();
  r.resuming = false;
  const std::string data = R"({"recovered":[)" + r.recovered + R"(],"failed":[)" + r.failed + "]}";
  std::string frame = R"({"event":"pusher:resume_success","data":)";
  protocol::append_json_string(frame, data);
  frame.push_back('}');
  send_json(frame);
  r.recovered.clear();
  r.failed.clear();
}

// ============================================================================================
// rewind
// ============================================================================================

bool WsSession::accept_rewind(const std::string& channel, std::string_view rewind_raw) {
  if (!v2()) {
    send_error(WsError::rewind_v1);
    return false;
  }
  if (hub_.replay() == nullptr) {
    send_error(WsError::rewind_disabled, "'" + channel + "'");
    return false;
  }
  const auto parsed = protocol::parse_rewind(rewind_raw);
  if (!parsed) {
    send_error(WsError::rewind_invalid);
    return false;
  }
  Recovery::Rewind want;
  want.channel = channel;
  want.count = parsed->count != 0 ? parsed->count : UINT64_MAX;
  want.seconds = parsed->seconds;
  // The buffer keeps at most max_buffer_size messages per channel: that is what a rewind gets.
  want.count = std::min<std::uint64_t>(want.count, hub_.config().v2.recovery_max_buffer_size);
  Recovery& r = recovery();
  std::erase_if(r.rewinds, [&](const Recovery::Rewind& w) { return w.channel == channel; });
  r.rewinds.push_back(want);
  return true;
}

void WsSession::rewind_channel(const std::string& channel) {
  Recovery& r = recovery();
  auto it = std::find_if(r.rewinds.begin(), r.rewinds.end(),
                         [&](const Recovery::Rewind& w) { return w.channel == channel; });
  if (it == r.rewinds.end()) return;
  const Recovery::Rewind want = *it;
  r.rewinds.erase(it);
  Adapter& adapter = hub_.adapter();
  if (adapter.sequences()) {
    // The cluster keeps the channel's history (this node's mirror may have seen less of it).
    hold_live(channel);
    adapter.history(app_->index, channel, {.latest = true, .after = 0, .count = want.count + 1},
                    [wk = &worker_, id = id_, channel, want](std::optional<History> h) {
                      net::post(wk->ioc(), [wk, id, channel, want, h = std::move(h)]() mutable {
                        if (WsSession* s = wk->find_session(id)) {
                          s->rewound_from_cluster(channel, want.count, want.seconds, std::move(h));
                        }
                      });
                    });
    return;
  }
  ReplayBuffer::Rewind got = hub_.replay()->latest(app_->index, channel, want.count, want.seconds);
  send_rewind(channel, got.entries, got.truncated_by_limit, got.truncated_by_retention);
}

void WsSession::rewound_from_cluster(const std::string& channel, std::uint64_t count,
                                     std::optional<std::uint64_t> seconds,
                                     std::optional<History> history) {
  std::vector<ReplayEntry> entries;
  RewindPick pick;
  if (history && history->stream_id) {
    const History& h = *history;
    std::vector<std::int64_t> at;
    for (const HistoryEntry& e : h.entries) at.push_back(-e.age_ms);
    const std::int64_t since = seconds ? -static_cast<std::int64_t>(*seconds) * 1000 : INT64_MIN;
    pick = pick_rewind(at, count, since, h.oldest_kept.value_or(h.newest + 1));
    for (std::size_t i = pick.first; i < h.entries.size(); ++i) {
      entries.push_back(entry_of(h.entries[i], *h.stream_id));
    }
  } else if (!history) {
    pick.truncated_by_retention = true;  // the cluster did not answer: not complete
  }
  if (is_open() && find_subscription(channel) != nullptr) {
    send_rewind(channel, entries, pick.truncated_by_limit,
                pick.truncated_by_retention || hold_overflowed(channel));
  }
  release_hold(channel, entries.empty() ? 0 : entries.back().serial);
}

void WsSession::send_rewind(const std::string& channel, const std::vector<ReplayEntry>& entries,
                            bool truncated_by_limit, bool truncated_by_retention) {
  for (const ReplayEntry& e : entries) enqueue(e.frames.for_dialect(v2()));
  if (!entries.empty()) guard_replayed(channel, entries.back().serial);
  const bool complete = !truncated_by_limit && !truncated_by_retention;
  std::string frame = R"({"event":"pusher:rewind_complete","channel":)";
  protocol::append_json_string(frame, channel);
  frame += R"(,"data":{"historical_count":)" + std::to_string(entries.size()) +
           R"(,"live_count":0,"complete":)" + (complete ? "true" : "false") +
           R"(,"truncated_by_retention":)" + (truncated_by_retention ? "true" : "false") +
           R"(,"truncated_by_limit":)" + (truncated_by_limit ? "true" : "false") + "}}";
  send_json(frame);
}

}  // namespace server
