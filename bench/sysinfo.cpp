#include "bench/sysinfo.hpp"

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

namespace bench {

std::uint64_t mono_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<std::uint64_t> process_stat_cpu_ns(int pid) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!s) return std::nullopt;
  // The command name (field 2) may contain spaces: fields restart after the last ')'.
  const std::size_t rp = s->rfind(')');
  if (rp == std::string::npos) return std::nullopt;
  std::istringstream in(s->substr(rp + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After ')': state(3) ppid(4) ... utime is field 14, stime 15.
  for (int i = 3; i <= 15; ++i) {
    if (!(in >> field)) return std::nullopt;
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const long hz = sysconf(_SC_CLK_TCK);
  return (utime + stime) * (1'000'000'000ULL / static_cast<unsigned long long>(hz));
}

std::optional<std::uint64_t> process_cpu_ns(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d != nullptr) {
    std::uint64_t total = 0;
    bool any = false;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      auto s = read_file(dir + "/" + e->d_name + "/schedstat");
      if (!s) continue;
      total += std::stoull(*s);
      any = true;
    }
    closedir(d);
    if (any) return total;
  }
  return process_stat_cpu_ns(pid);
}

std::optional<std::uint64_t> process_rss_bytes(int pid) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/status");
  if (!s) return std::nullopt;
  const std::size_t k = s->find("VmRSS:");
  if (k == std::string::npos) return std::nullopt;
  return std::stoull(s->substr(k + 6)) * 1024ULL;
}

std::uint64_t self_cpu_ns() noexcept {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(tv.tv_usec) * 1000ULL;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

std::string cpu_model() {
  auto s = read_file("/proc/cpuinfo");
  if (!s) return "unknown";
  const std::size_t k = s->find("model name");
  if (k == std::string::npos) return "unknown";
  const std::size_t colon = s->find(':', k);
  const std::size_t eol = s->find('\n', k);
  std::string m = s->substr(colon + 1, eol - colon - 1);
  while (!m.empty() && m.front() == ' ') m.erase(0, 1);
  while (!m.empty() && (m.back() == ' ' || m.back() == '\t')) m.pop_back();
  return m;
}

int online_cpus() noexcept {
  return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
}

std::string affinity_list(int pid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(pid, sizeof set, &set) != 0) return "?";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int e = c;
    while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, &set)) ++e;
    if (!out.empty()) out.push_back(',');
    out += std::to_string(c);
    if (e > c) {
      out.push_back('-');
      out += std::to_string(e);
    }
    c = e;
  }
  return out;
}

std::vector<int> affinity_cpus(int pid) {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(pid, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

int affinity_count(int pid) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(pid, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

std::string process_name(int pid) {
  auto s = read_file("/proc/" + std::to_string(pid) + "/comm");
  if (!s) return "";
  while (!s->empty() && s->back() == '\n') s->pop_back();
  return *s;
}

MachineCpu machine_cpu() {
  MachineCpu m;
  auto s = read_file("/proc/stat");
  if (!s) return m;
  const unsigned long long tick =
      1'000'000'000ULL / static_cast<unsigned long long>(sysconf(_SC_CLK_TCK));
  std::istringstream lines(*s);
  std::string line;
  while (std::getline(lines, line) && line.rfind("cpu", 0) == 0) {
    std::istringstream in(line);
    std::string cpu;
    unsigned long long v[10] = {};
    in >> cpu;
    for (auto& x : v) in >> x;
    // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    if (cpu == "cpu") {
      m.busy_ns = busy * tick;
      m.steal_ns = v[7] * tick;
      continue;
    }
    const auto n = static_cast<std::size_t>(std::atoi(cpu.c_str() + 3));
    if (m.cpu_busy_ns.size() <= n) m.cpu_busy_ns.resize(n + 1, 0);
    m.cpu_busy_ns[n] = (busy - v[7]) * tick;
  }
  return m;
}

std::optional<double> pinned_cpus_busy_s(int pid, const MachineCpu& m0, const MachineCpu& m1) {
  if (pid <= 0) return std::nullopt;
  const std::vector<int> scpus = affinity_cpus(pid);
  const std::vector<int> mine = affinity_cpus(0);
  if (scpus.empty() || static_cast<int>(scpus.size()) >= online_cpus()) return std::nullopt;
  double busy = 0;
  for (int c : scpus) {
    for (int m : mine) {
      if (m == c) return std::nullopt;
    }
    const auto i = static_cast<std::size_t>(c);
    if (i < m0.cpu_busy_ns.size() && i < m1.cpu_busy_ns.size()) {
      busy += static_cast<double>(m1.cpu_busy_ns[i] - m0.cpu_busy_ns[i]) / 1e9;
    }
  }
  return busy;
}

double loadavg_1m() {
  auto s = read_file("/proc/loadavg");
  return s ? std::atof(s->c_str()) : 0.0;
}

std::string utc_now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace bench
