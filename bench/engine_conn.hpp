#pragma once
// Engine::Conn: one bench WebSocket connection (internal to the engine's two source files).

#include <cstdint>
#include <string>

#include "bench/engine.hpp"

namespace bench {

enum class ConnState : std::uint8_t { idle, connecting, handshake, open, closed };
enum class SubState : std::uint8_t { none, subscribing, subscribed };

struct Engine::Conn final : Io {
  Engine* eng = nullptr;
  int fd = -1;
  std::uint32_t g = 0;   ///< global index
  std::uint32_t ch = 0;  ///< channel index
  ConnState st = ConnState::idle;
  SubState sub = SubState::none;
  bool cycler = false;
  bool slow = false;
  bool paused = false;    ///< slow subscriber not reading
  bool want_out = false;  ///< EPOLLOUT armed
  bool pending = false;   ///< counted against --concurrency
  bool dead = false;      ///< cycler that hit a subscription error: no more cycles
  std::uint8_t sid_len = 0;
  char sid[26] = {};
  std::uint64_t t0 = 0;  ///< connect start
  std::uint64_t t1 = 0;  ///< subscribe / cycle start
  SeqState seq;          ///< published sequence tracking (also: member events, client events)
  std::uint64_t sent = 0;
  std::string in;   ///< unparsed bytes (partial frame or handshake)
  std::string out;  ///< unsent bytes

  void on_io(std::uint32_t events) override { eng->on_conn_io(*this, events); }
  [[nodiscard]] std::string_view socket_id() const noexcept { return {sid, sid_len}; }
};

}  // namespace bench
