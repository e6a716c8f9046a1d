#include "server/hub.hpp"

#include <random>

#include "protocol/ws_frame.hpp"
#include "server/local_adapter.hpp"
#include "server/redis_adapter.hpp"
#include "server/worker.hpp"
#include "server/ws_session.hpp"

namespace server {

SharedFrame make_text_frame(std::string_view json) {
  return std::make_shared<const std::string>(protocol::make_frame(protocol::Opcode::text, json));
}

Hub::Hub(Config config) : config_(std::move(config)) {
  for (std::size_t i = 0; i < config_.apps.size(); ++i) {
    auto rt = std::make_unique<AppRuntime>();
    rt->app = &config_.apps[i];
    rt->index = i;
    by_key_.emplace(config_.apps[i].key, i);
    by_id_.emplace(config_.apps[i].id, i);
    apps_.push_back(std::move(rt));
  }
  std::size_t n = config_.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
  if (config_.adapter.driver == "redis") {
    adapter_ = std::make_unique<RedisAdapter>(*this);  // docs/CLUSTER.md
  } else {
    adapter_ = std::make_unique<LocalAdapter>(*this);
  }
  webhooks_ = std::make_unique<Webhooks>(config_);
}

Hub::~Hub() {
  // Stop the workers first: destroying their io_contexts frees the sessions still owned by
  // pending handlers, and those must not reach the registry being destroyed below.
  tearing_down.store(true);
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  adapter_.reset();  // its thread posts to the workers: stop it before they go
  workers_.clear();
}

AppRuntime* Hub::app_by_key(std::string_view key) noexcept {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : apps_[it->second].get();
}

AppRuntime* Hub::app_by_id(std::string_view id) noexcept {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : apps_[it->second].get();
}

Worker& Hub::worker_for(channels::ConnId id) noexcept {
  return *workers_[static_cast<std::size_t>(id >> 48) % workers_.size()];
}

std::string Hub::register_socket(channels::ConnId id) {
  // Socket ids: two independent uniform integers in [0, 10^10] (protocol.md §1.4), from a
  // per-thread generator seeded by the OS CSPRNG; redrawn on the (rare) collision.
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  std::uniform_int_distribution<std::uint64_t> dist(0, 10'000'000'000ULL);
  std::lock_guard lock(state_mutex_);
  for (;;) {
    std::string sid = std::to_string(dist(rng));
    sid.push_back('.');
    sid.append(std::to_string(dist(rng)));
    if (sockets_.emplace(sid, id).second) return sid;
  }
}

void Hub::unregister_socket(std::string_view socket_id) {
  std::lock_guard lock(state_mutex_);
  auto it = sockets_.find(socket_id);
  if (it != sockets_.end()) sockets_.erase(it);
}

std::optional<channels::ConnId> Hub::conn_of_socket_locked(std::string_view sid) const {
  auto it = sockets_.find(sid);
  if (it == sockets_.end()) return std::nullopt;
  return it->second;
}

void Hub::fan_out(std::size_t app_index, std::string_view channel, const SharedFrame& frame,
                  channels::ConnId except, Worker* caller) {
  for (auto& w : workers_) {
    if (w.get() == caller) {
      w->deliver(app_index, channel, frame, except);
      continue;
    }
    // One post per worker: the worker fans out to its own sessions.
    net::post(w->ioc(), [wp = w.get(), app_index, ch = std::string(channel), frame, except] {
      wp->deliver(app_index, ch, frame, except);
    });
  }
}

void Hub::send_to_connections(const std::vector<channels::ConnId>& conns, const SharedFrame& frame,
                              Worker* caller) {
  for (channels::ConnId id : conns) {
    Worker& w = worker_for(id);
    if (&w == caller) {
      if (WsSession* s = w.find_session(id)) s->enqueue(frame);
      continue;
    }
    net::post(w.ioc(), [wp = &w, id, frame] {
      if (WsSession* s = wp->find_session(id)) s->enqueue(frame);
    });
  }
}

void Hub::close_connections(const std::vector<channels::ConnId>& conns, std::uint16_t code,
                            std::string message) {
  for (channels::ConnId id : conns) {
    Worker& w = worker_for(id);
    net::post(w.ioc(), [wp = &w, id, code, message] {
      if (WsSession* s = wp->find_session(id)) s->close_with_error(code, message);
    });
  }
}

}  // namespace server
