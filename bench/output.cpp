#include "bench/output.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "bench/wire.hpp"

namespace bench {

void Result::set(std::string_view key, double value) {
  for (auto& [k, v] : metrics) {
    if (k == key) {
      v = value;
      return;
    }
  }
  metrics.emplace_back(std::string(key), value);
}

std::optional<double> Result::get(std::string_view key) const {
  for (const auto& [k, v] : metrics) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::string format_value(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (std::fabs(v) >= 100) {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  } else if (std::fabs(v) >= 1) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

namespace {

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

void json_pairs(std::string& out, const std::vector<std::pair<std::string, std::string>>& kv) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : kv) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    out += json_escape(k);
    out += "\":\"";
    out += json_escape(v);
    out.push_back('"');
  }
  out.push_back('}');
}

}  // namespace

std::string to_json_line(const Result& r) {
  std::string out = "{\"scenario\":\"" + json_escape(r.scenario) + "\",\"label\":\"" +
                    json_escape(r.label) + "\",\"time\":\"" + json_escape(r.time) +
                    "\",\"command\":\"" + json_escape(r.command) +
                    "\",\"ok\":" + (r.ok ? "true" : "false") + ",\"info\":";
  json_pairs(out, r.info);
  out += ",\"params\":";
  json_pairs(out, r.params);
  out += ",\"metrics\":{";
  bool first = true;
  for (const auto& [k, v] : r.metrics) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    out += json_escape(k);
    out += "\":";
    out += json_number(v);
  }
  out += "},\"notes\":[";
  first = true;
  for (const auto& n : r.notes) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    out += json_escape(n);
    out.push_back('"');
  }
  out += "]}";
  return out;
}

void print_table(const Result& r, std::FILE* out) {
  std::fprintf(out, "\n== %s  [%s]  %s\n", r.scenario.c_str(), r.label.c_str(),
               r.ok ? "OK" : "FAILED");
  std::fprintf(out, "command: %s\n", r.command.c_str());
  for (const auto& [k, v] : r.info) std::fprintf(out, "%-22s %s\n", k.c_str(), v.c_str());
  std::string params;
  for (const auto& [k, v] : r.params) params += k + "=" + v + " ";
  std::fprintf(out, "%-22s %s\n", "params", params.c_str());
  std::fprintf(out, "%-34s %s\n", "metric", "value");
  std::fprintf(out, "%-34s %s\n", "----------------------------------", "--------------");
  for (const auto& [k, v] : r.metrics) {
    std::fprintf(out, "%-34s %s\n", k.c_str(), format_value(v).c_str());
  }
  for (const auto& n : r.notes) std::fprintf(out, "note: %s\n", n.c_str());
  std::fflush(out);
}

std::vector<RunLine> parse_run_lines(std::string_view text, std::size_t& skipped) {
  std::vector<RunLine> runs;
  skipped = 0;
  simdjson::dom::parser parser;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    simdjson::dom::element doc;
    if (parser.parse(line.data(), line.size()).get(doc)) {
      ++skipped;
      continue;
    }
    RunLine run;
    std::string_view s;
    if (doc["label"].get_string().get(s) == simdjson::SUCCESS) run.label = s;
    if (doc["scenario"].get_string().get(s) == simdjson::SUCCESS) run.scenario = s;
    simdjson::dom::object metrics;
    if (run.label.empty() || doc["metrics"].get_object().get(metrics)) {
      ++skipped;
      continue;
    }
    for (auto field : metrics) {
      double v = 0;
      if (field.value.get_double().get(v) == simdjson::SUCCESS) {
        run.metrics[std::string(field.key)] = v;
      } else {
        std::int64_t i = 0;
        if (field.value.get_int64().get(i) == simdjson::SUCCESS) {
          run.metrics[std::string(field.key)] = static_cast<double>(i);
        }
      }
    }
    runs.push_back(std::move(run));
  }
  return runs;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string summarize(const std::vector<RunLine>& runs, std::string baseline,
                      const std::vector<std::string>& only) {
  std::vector<std::string> scenarios, labels;
  for (const RunLine& r : runs) {
    if (std::find(scenarios.begin(), scenarios.end(), r.scenario) == scenarios.end()) {
      scenarios.push_back(r.scenario);
    }
    if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) {
      labels.push_back(r.label);
    }
  }
  if (baseline.empty() && !labels.empty()) baseline = labels.front();
  std::ostringstream out;
  for (const std::string& sc : scenarios) {
    // metric -> label -> values, metrics in first-seen order
    std::vector<std::string> order;
    std::map<std::string, std::map<std::string, std::vector<double>>> values;
    std::map<std::string, int> counts;
    for (const RunLine& r : runs) {
      if (r.scenario != sc) continue;
      ++counts[r.label];
      for (const auto& [k, v] : r.metrics) {
        if (!values.count(k)) order.push_back(k);
        values[k][r.label].push_back(v);
      }
    }
    if (!only.empty()) {
      std::vector<std::string> picked;
      for (const auto& k : only) {
        if (values.count(k)) picked.push_back(k);
      }
      order = std::move(picked);
    }
    std::vector<std::string> present;
    for (const auto& l : labels) {
      if (counts.count(l)) present.push_back(l);
    }
    out << "== " << sc << " (";
    for (std::size_t i = 0; i < present.size(); ++i) {
      out << (i ? ", " : "") << present[i] << ": " << counts[present[i]] << " runs";
    }
    out << ")\n";
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-32s", "metric");
    out << buf;
    for (const auto& l : present) {
      std::snprintf(buf, sizeof buf, " %-30s", (l + " median (min-max)").c_str());
      out << buf;
    }
    for (const auto& l : present) {
      if (l != baseline) out << " " << l << "/" << baseline;
    }
    out << "\n";
    for (const std::string& k : order) {
      std::snprintf(buf, sizeof buf, "%-32s", k.c_str());
      out << buf;
      std::map<std::string, double> med;
      for (const auto& l : present) {
        auto it = values[k].find(l);
        if (it == values[k].end()) {
          std::snprintf(buf, sizeof buf, " %-30s", "-");
          out << buf;
          continue;
        }
        const auto [mn, mx] = std::minmax_element(it->second.begin(), it->second.end());
        med[l] = median(it->second);
        const std::string cell =
            format_value(med[l]) + " (" + format_value(*mn) + "-" + format_value(*mx) + ")";
        std::snprintf(buf, sizeof buf, " %-30s", cell.c_str());
        out << buf;
      }
      for (const auto& l : present) {
        if (l == baseline) continue;
        if (med.count(l) && med.count(baseline) && med[baseline] != 0) {
          std::snprintf(buf, sizeof buf, " %.2f", med[l] / med[baseline]);
          out << buf;
        } else {
          out << " -";
        }
      }
      out << "\n";
    }
    out << "\n";
  }
  return out.str();
}

int summarize_main(int argc, const char* const* argv) {
  std::string baseline;
  std::vector<std::string> files, only;
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--baseline" && i + 1 < argc) {
      baseline = argv[++i];
    } else if (a == "--metrics" && i + 1 < argc) {
      std::string_view list = argv[++i];
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (comma != 0) only.emplace_back(list.substr(0, comma));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    } else if (a == "-h" || a == "--help") {
      std::puts(
          "usage: pushcore-bench summarize [--baseline LABEL] [--metrics a,b,...] FILE...\n"
          "  per scenario and metric: median (min-max) per label, ratio to the baseline label");
      return 0;
    } else {
      files.emplace_back(a);
    }
  }
  if (files.empty()) {
    std::fputs("pushcore-bench summarize: no input file\n", stderr);
    return 2;
  }
  std::string text;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) {
      std::fprintf(stderr, "pushcore-bench summarize: cannot read %s\n", f.c_str());
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text += ss.str();
    text.push_back('\n');
  }
  std::size_t skipped = 0;
  const auto runs = parse_run_lines(text, skipped);
  if (skipped) std::fprintf(stderr, "pushcore-bench summarize: skipped %zu lines\n", skipped);
  std::fputs(summarize(runs, baseline, only).c_str(), stdout);
  return runs.empty() ? 1 : 0;
}

}  // namespace bench
