// How many CPUs this process may actually run on at once (Linux): its affinity mask, further
// limited by a cgroup v2 CPU quota (`cpu.max`, as containers and systemd set it). Any thread.
#pragma once

namespace urlsession {

double UsableCpus();

}  // namespace urlsession
