#pragma once
// Runs one scenario end to end: setup (connect + subscribe), the scenario's activity and
// measured windows, drain, loss accounting, server/client CPU and RSS, table and JSON line.

#include "bench/options.hpp"

namespace bench {

/// Returns the process exit code (0, or 1 when --check failed).
int run_bench(Options& o);

}  // namespace bench
