#pragma once
// Process and machine facts from /proc and the kernel: CPU time, RSS, CPU model, affinity.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bench {

/// CLOCK_MONOTONIC in nanoseconds (system-wide, so comparable between bench processes).
[[nodiscard]] std::uint64_t mono_ns() noexcept;

/// CPU time of process `pid` in nanoseconds: the sum of /proc/PID/task/*/schedstat run times
/// (nanosecond precision) when readable, else utime+stime from /proc/PID/stat (clock ticks).
/// nullopt when the process is gone.
[[nodiscard]] std::optional<std::uint64_t> process_cpu_ns(int pid);

/// utime+stime of /proc/PID/stat in nanoseconds (clock-tick precision).
[[nodiscard]] std::optional<std::uint64_t> process_stat_cpu_ns(int pid);

/// VmRSS of /proc/PID/status in bytes.
[[nodiscard]] std::optional<std::uint64_t> process_rss_bytes(int pid);

/// CPU time (user + system) of the calling process, nanoseconds (getrusage).
[[nodiscard]] std::uint64_t self_cpu_ns() noexcept;

/// "model name" of /proc/cpuinfo, and the number of online CPUs.
[[nodiscard]] std::string cpu_model();
[[nodiscard]] int online_cpus() noexcept;

/// CPUs a process may run on, as a list ("0", "0-1", "1,3"); pid 0 = the caller.
[[nodiscard]] std::string affinity_list(int pid);
/// Number of CPUs in that affinity mask (0 when unknown).
[[nodiscard]] int affinity_count(int pid) noexcept;
/// The CPU numbers in that affinity mask.
[[nodiscard]] std::vector<int> affinity_cpus(int pid);

/// Command name of a process (/proc/PID/comm), "" when gone.
[[nodiscard]] std::string process_name(int pid);

/// Machine-wide CPU time from the first line of /proc/stat, in nanoseconds: busy (everything
/// but idle and iowait) and steal (taken by the hypervisor).
struct MachineCpu {
  std::uint64_t busy_ns = 0;
  std::uint64_t steal_ns = 0;
  std::vector<std::uint64_t> cpu_busy_ns;  ///< per CPU number, busy minus steal
};
[[nodiscard]] MachineCpu machine_cpu();

/// Busy seconds (tick-sampled) between two samples of the CPUs `pid` is pinned to, when they
/// are a strict subset of the machine and do not overlap the caller's CPUs; nullopt otherwise.
/// That is everything the server's CPUs did, including kernel work not charged to the process.
[[nodiscard]] std::optional<double> pinned_cpus_busy_s(int pid, const MachineCpu& m0,
                                                       const MachineCpu& m1);

/// The 1-minute load average.
[[nodiscard]] double loadavg_1m();

/// Current UTC time, ISO 8601.
[[nodiscard]] std::string utc_now_iso();

}  // namespace bench
