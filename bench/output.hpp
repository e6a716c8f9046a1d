#pragma once
// Results of one run: facts, parameters and named metrics; the human table, the JSON line, and
// `summarize` (medians, min-max and ratios over several JSON lines). Pure except for parsing
// files in summarize_files.

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

struct Result {
  std::string scenario, label, command, time;
  std::vector<std::pair<std::string, std::string>> info;    ///< machine / server facts
  std::vector<std::pair<std::string, std::string>> params;  ///< load parameters
  std::vector<std::pair<std::string, double>> metrics;      ///< in insertion order
  std::vector<std::string> notes;                           ///< verdicts, warnings
  bool ok = true;

  void set(std::string_view key, double value);
  [[nodiscard]] std::optional<double> get(std::string_view key) const;
};

/// One JSON object on one line (no trailing newline).
[[nodiscard]] std::string to_json_line(const Result& r);

/// The human table printed at the end of a run.
void print_table(const Result& r, std::FILE* out);

/// Formats a metric value for humans (integers without decimals, otherwise 3 significant
/// digits-ish).
[[nodiscard]] std::string format_value(double v);

/// One parsed JSON run line.
struct RunLine {
  std::string label, scenario;
  std::map<std::string, double> metrics;
};

/// Parses JSON lines (as written by to_json_line); malformed lines are skipped and counted.
[[nodiscard]] std::vector<RunLine> parse_run_lines(std::string_view text, std::size_t& skipped);

/// Median of the values (mean of the two middle ones for an even count); 0 when empty.
[[nodiscard]] double median(std::vector<double> v);

/// The comparison table: per scenario, per metric, per label "median (min-max)", then the
/// ratio of each label's median to the baseline label's (first label when empty). With a
/// non-empty `only`, just those metrics, in that order.
[[nodiscard]] std::string summarize(const std::vector<RunLine>& runs, std::string baseline,
                                    const std::vector<std::string>& only = {});

/// `pushcore-bench summarize [--baseline LABEL] FILE...`: returns the exit code.
int summarize_main(int argc, const char* const* argv);

}  // namespace bench
