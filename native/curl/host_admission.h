// Per-host admission for the curl engine: like NSURLSession, at most
// HTTPMaximumConnectionsPerHost tasks run per host; the rest wait here as plain requests, holding
// no buffer, no file and no socket. Once a host answers over h2/h3 its tasks are streams sharing
// connections, and many more of them run at once. It also says how many connections libcurl's
// pool must keep for the hosts in use (ConnectionsToKeep). Engine thread only (CurlEngine's), like
// every request it holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "curl/warm_hosts.h"
#include "engine/engine.h"

namespace urlsession {

class HostAdmission {
 public:
  // Gives one task what it needs to run. `expectedConcurrency`: how many transfers run at once
  // right after this admission (for TransferBuffers::ForRunning); `suspended`: the task was
  // suspended while it waited. Returns whether the task now runs (false: it already completed,
  // e.g. its file could not be opened, and holds no slot).
  using AdmitFunction = std::function<bool(TaskRequest request, size_t expectedConcurrency, bool suspended)>;

  HostAdmission(int maximumConnectionsPerHost, AdmitFunction admit);

  // Every task waits first; AdmitAll runs after the whole batch of commands, so a burst of starts
  // is admitted knowing its own size (see TransferBuffers).
  void Wait(TaskRequest request);
  // Every turn of the engine loop: admits what the free slots allow. No allocation.
  void AdmitAll();
  // A running task ended for good (not a redirect on the same handle): its slot goes to the
  // next waiting task of its host.
  void Finished(uint64_t taskIdentifier);
  // Response heads that arrived over h2/h3 since the last call (emptied here): their hosts
  // multiplex, and the tasks waiting for them start at once instead of one connection's worth.
  void LearnMultiplexed(std::vector<uint64_t>& taskIdentifiers);

  // A waiting task leaves the queue (to be cancelled); nothing when it is not waiting.
  std::optional<TaskRequest> TakeWaiting(uint64_t taskIdentifier);
  std::optional<TaskRequest> TakeFirstWaiting();
  // Suspend/resume of a task that is not running yet: remembered until it is admitted.
  void SetSuspendedWhileWaiting(uint64_t taskIdentifier, bool suspended);
  bool HasWaiting() const { return waiting_count_ > 0; }
  // How many connections libcurl's pool must be able to hold so that none a host may still use
  // is closed: the limit for every warm host (WarmHosts). For CURLMOPT_MAXCONNECTS; never 0,
  // which would mean libcurl's own bound.
  size_t ConnectionsToKeep(WarmHosts::Clock::time_point now);
  // A waiting task's request, to change before it runs (its speed limit); null when not waiting.
  TaskRequest* FindWaiting(uint64_t taskIdentifier);

 private:
  void AdmitWaiting(const std::string& host);
  size_t ExpectedConcurrency(const std::string& host) const;
  int TaskLimit(const std::string& host) const;

  int maximum_connections_per_host_;
  AdmitFunction admit_;
  std::map<std::string, std::deque<TaskRequest>> waiting_;
  size_t waiting_count_ = 0;
  std::map<std::string, int> running_per_host_;
  std::unordered_map<uint64_t, std::string> host_of_;  // every running task's host
  std::unordered_set<uint64_t> suspended_while_waiting_;
  std::unordered_set<std::string> multiplexed_hosts_;
  WarmHosts warm_hosts_;  // told whenever a host's entry in running_per_host_ appears or goes
};

}  // namespace urlsession
