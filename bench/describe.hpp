#pragma once
// The descriptive part of a run's result: what ran where (machine, server, bench CPUs) and
// with which parameters.

#include <optional>

#include "bench/options.hpp"
#include "bench/output.hpp"
#include "bench/report.hpp"

namespace bench {

/// Fills r.scenario, label, command, time, info and params (and a note when no --server-pid).
void describe_run(const Options& o, bool publishing, double events_per_s, double per_channel_subs,
                  Result& r);

struct PublishStats;

/// Copies the shards' final counts (losses, duplicates, errors, close codes) into r, adds the
/// verdict note and clears r.ok when something was lost, duplicated or failed. `pub` may be null.
void judge_final(const Report& fin, const PublishStats* pub, Result& r);

/// The client-bottleneck verdict: `util` is the bench's share of its `cpus`, `server_util` the
/// server's share of its CPUs (when known). Sets client_bound and a note; false when the client
/// limited the run (busy while the server was not).
bool judge_client(double util, std::optional<double> server_util, int cpus, Result& r);

}  // namespace bench
