#include "curl/usable_cpus.h"

#include <sched.h>

#include <fstream>
#include <cstdlib>
#include <string>

namespace urlsession {
namespace {

double ReadNumber(const std::string& file) {
  std::ifstream in(file);
  double value = 0;
  return in >> value ? value : 0;
}

// cgroup v2: "<quota> <period>" in cpu.max, or "max <period>" for none.
double V2Quota(const std::string& directory) {
  std::ifstream file(directory + "/cpu.max");
  std::string quota;
  double period = 0;
  if (!(file >> quota >> period) || quota == "max" || period <= 0) return 0;
  return std::atof(quota.c_str()) / period;
}

// cgroup v1: cpu.cfs_quota_us (-1 for none) over cpu.cfs_period_us.
double V1Quota(const std::string& directory) {
  double quota = ReadNumber(directory + "/cpu.cfs_quota_us");
  double period = ReadNumber(directory + "/cpu.cfs_period_us");
  return quota > 0 && period > 0 ? quota / period : 0;
}

// The smallest quota on the way from this process's cgroup up to the root; 0 for none.
double CgroupQuotaCpus() {
  std::ifstream cgroups("/proc/self/cgroup");
  std::string line;
  double smallest = 0;
  while (std::getline(cgroups, line)) {
    // "0::/path" (v2) or "N:cpu,cpuacct:/path" (v1).
    size_t first = line.find(':');
    size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    bool v2 = controllers.empty();
    bool v1_cpu = (',' + controllers + ',').find(",cpu,") != std::string::npos;
    if (!v2 && !v1_cpu) continue;
    std::string root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/" + controllers;
    for (std::string at = path.empty() ? "/" : path;;) {
      std::string directory = root + (at == "/" ? "" : at);
      double quota = v2 ? V2Quota(directory) : V1Quota(directory);
      if (quota > 0 && (smallest == 0 || quota < smallest)) smallest = quota;
      if (at == "/") break;
      size_t slash = at.find_last_of('/');
      at = slash == 0 || slash == std::string::npos ? "/" : at.substr(0, slash);
    }
  }
  return smallest;
}

}  // namespace

double UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  double cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
  double quota = CgroupQuotaCpus();
  return quota > 0 && quota < cpus ? quota : cpus;
}

}  // namespace urlsession
