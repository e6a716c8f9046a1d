#pragma once
// Bounded per-connection outbound queue of shared, pre-encoded WebSocket frames.
// Owned by one WsTransport and only touched on that session's worker thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/messages.hpp"
#include "protocol/ws_frame.hpp"

namespace server {

/// One encoded WebSocket frame (header + payload), immutable and shared by every subscriber
/// queue it was fanned out to. Allocated once per publish, never per delivery.
using SharedFrame = std::shared_ptr<const std::string>;

/// A frame to fan out in both protocol dialects: `v1` for Pusher-protocol connections and `v2`
/// for Sockudo protocol-2 connections (null: the same bytes, e.g. a user event). Each is encoded
/// once per publish, never per delivery.
struct DialectFrames {
  SharedFrame v1;
  SharedFrame v2;
  /// The channel serial of a recovery-enabled channel message (0: none). A connection that was
  /// just given a replay up to serial N skips live copies of serials <= N.
  std::uint64_t serial = 0;
  /// A presence member event decided under the state mutex as decision N (Hub's counter; 0: not
  /// one). A connection whose member list was read at decision >= N already shows it: skipped.
  std::uint64_t member_decision = 0;
  DialectFrames(SharedFrame both) : v1(std::move(both)) {}  // NOLINT: implicit on purpose
  DialectFrames(SharedFrame for_v1, SharedFrame for_v2, std::uint64_t serial_ = 0)
      : v1(std::move(for_v1)), v2(std::move(for_v2)), serial(serial_) {}
  /// The encoding a connection of that dialect gets.
  [[nodiscard]] const SharedFrame& for_dialect(bool is_v2) const noexcept {
    return is_v2 && v2 ? v2 : v1;
  }
};

/// Encodes a JSON text message as one unmasked WebSocket text frame.
[[nodiscard]] inline SharedFrame make_text_frame(std::string_view json) {
  return std::make_shared<const std::string>(protocol::make_frame(protocol::Opcode::text, json));
}

/// A frame built by protocol/messages.hpp in both dialects: its V2 encoding only when it names a
/// protocol event (`pusher:` -> `sockudo:`), otherwise one frame for both.
[[nodiscard]] inline DialectFrames make_dialect_frames(std::string_view json) {
  if (!protocol::has_protocol_prefix(json)) return make_text_frame(json);
  return {make_text_frame(json), make_text_frame(protocol::to_v2(json))};
}

/// What a push did: the frame is always queued (a push never drops).
struct PushResult {
  bool over_budget;  ///< the queue exceeded its byte or message budget (frame still queued)
};

/// A ring of shared frames with byte and count accounting. Frames are written front to back;
/// `front_offset()` tracks a partially written first frame.
class SendQueue {
 public:
  SendQueue(std::uint64_t max_bytes, std::uint64_t max_messages)
      : max_bytes_(max_bytes), max_messages_(max_messages) {}

  /// Appends a frame. Never blocks and never drops: the caller decides what over_budget means
  /// (the session closes with 4100). Control frames pass `exempt=true` so a close frame always
  /// fits.
  [[nodiscard]] PushResult push(SharedFrame frame, bool exempt = false) {
    bytes_ += frame->size();
    items_.push_back(std::move(frame));
    return {!exempt && over_budget(1)};
  }

  /// True when the queue holds more than `factor` times its byte or message budget.
  [[nodiscard]] bool over_budget(std::uint64_t factor) const noexcept {
    return bytes() > max_bytes_ * factor || size() > max_messages_ * factor;
  }

  [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_ - front_offset_; }
  [[nodiscard]] std::size_t front_offset() const noexcept { return front_offset_; }

  /// The i-th queued frame (0 = front).
  [[nodiscard]] const std::string& at(std::size_t i) const noexcept { return *items_[head_ + i]; }

  /// Marks `n` bytes as written, popping every fully written frame. Returns frames popped.
  std::size_t consume(std::size_t n) noexcept {
    std::size_t popped = 0;
    while (n > 0 && !empty()) {
      const std::string& f = *items_[head_];
      const std::size_t left = f.size() - front_offset_;
      if (n < left) {
        front_offset_ += n;
        return popped;
      }
      n -= left;
      bytes_ -= f.size();
      front_offset_ = 0;
      items_[head_].reset();
      ++head_;
      ++popped;
    }
    compact();
    return popped;
  }

  /// Drops every frame not yet started (a slow consumer is being closed): keeps only a partially
  /// written front frame, so the byte stream stays well-formed. Returns the frames dropped.
  std::size_t drop_unstarted() noexcept {
    const std::size_t keep = (front_offset_ > 0 && !empty()) ? 1 : 0;
    const std::size_t dropped = size() - keep;
    for (std::size_t i = head_ + keep; i < items_.size(); ++i) bytes_ -= items_[i]->size();
    items_.resize(head_ + keep);
    compact();
    return dropped;
  }

  /// Drops everything (connection is gone).
  void clear() noexcept {
    items_.clear();
    items_.shrink_to_fit();
    head_ = 0;
    bytes_ = 0;
    front_offset_ = 0;
  }

 private:
  void compact() {
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
      // An idle connection should not keep a large slot array around.
      if (items_.capacity() > 64) items_.shrink_to_fit();
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  std::vector<SharedFrame> items_;
  std::size_t head_ = 0;
  std::uint64_t bytes_ = 0;  ///< total size of queued frames (including written part of front)
  std::size_t front_offset_ = 0;
  std::uint64_t max_bytes_;
  std::uint64_t max_messages_;
};

}  // namespace server
