#include "bench/report.hpp"

#include <algorithm>
#include <charconv>

namespace bench {

bool ends_with(std::string_view key, std::string_view suffix) noexcept {
  return key.size() >= suffix.size() && key.substr(key.size() - suffix.size()) == suffix;
}

std::int64_t Report::get(std::string_view key) const {
  auto it = counters.find(key);
  return it == counters.end() ? 0 : it->second;
}

void Report::add(std::string_view key, std::int64_t v) {
  auto it = counters.find(key);
  if (it == counters.end()) {
    counters.emplace(std::string(key), v);
  } else {
    it->second += v;
  }
}

void Report::set_max(std::string_view key, std::int64_t v) {
  auto it = counters.find(key);
  if (it == counters.end()) {
    counters.emplace(std::string(key), v);
  } else {
    it->second = std::max(it->second, v);
  }
}

void Report::set_min(std::string_view key, std::int64_t v) {
  auto it = counters.find(key);
  if (it == counters.end()) {
    counters.emplace(std::string(key), v);
  } else {
    it->second = std::min(it->second, v);
  }
}

Histogram& Report::hist(std::string_view name) {
  auto it = histograms.find(name);
  if (it == histograms.end()) it = histograms.emplace(std::string(name), Histogram{}).first;
  return it->second;
}

void Report::merge(const Report& other) {
  for (const auto& [k, v] : other.counters) {
    if (ends_with(k, "_max")) {
      set_max(k, v);
    } else if (ends_with(k, "_min")) {
      set_min(k, v);
    } else {
      add(k, v);
    }
  }
  for (const auto& [k, h] : other.histograms) hist(k).merge(h);
}

std::string Report::serialize() const {
  std::string out;
  for (const auto& [k, v] : counters) {
    if (!out.empty()) out.push_back(' ');
    out += k;
    out.push_back('=');
    out += std::to_string(v);
  }
  for (const auto& [k, h] : histograms) {
    if (!out.empty()) out.push_back(' ');
    out += "h.";
    out += k;
    out.push_back('=');
    out += h.serialize();
  }
  return out;
}

std::optional<Report> Report::parse(std::string_view line) {
  Report r;
  while (!line.empty()) {
    const std::size_t sp = line.find(' ');
    std::string_view tok = line.substr(0, sp);
    line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    if (tok.empty()) continue;
    const std::size_t eq = tok.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    const std::string_view key = tok.substr(0, eq);
    const std::string_view val = tok.substr(eq + 1);
    if (key.size() > 2 && key.substr(0, 2) == "h.") {
      auto h = Histogram::parse(val);
      if (!h) return std::nullopt;
      r.histograms[std::string(key.substr(2))] = *h;
      continue;
    }
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
    if (ec != std::errc{} || p != val.data() + val.size()) return std::nullopt;
    r.counters[std::string(key)] = v;
  }
  return r;
}

}  // namespace bench
