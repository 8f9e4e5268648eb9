#include "curl/host_admission.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <utility>

namespace urlsession {
namespace {

// "https://Example.com:8443/path" -> "https://example.com:8443": what per-host limits count.
std::string HostKey(const std::string& url) {
  size_t scheme = url.find("://");
  size_t end = url.find_first_of("/?#", scheme == std::string::npos ? 0 : scheme + 3);
  std::string key = url.substr(0, end);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace

HostAdmission::HostAdmission(int maximumConnectionsPerHost, AdmitFunction admit)
    : maximum_connections_per_host_(maximumConnectionsPerHost), admit_(std::move(admit)) {}

// A host's queue is kept highest priority first, in arrival order among equals (NSURLSession's
// priority is a hint for the order tasks get a connection). Equal priorities, the usual case,
// append at the end without a search.
void HostAdmission::Wait(TaskRequest request) {
  std::deque<TaskRequest>& queue = waiting_[HostKey(request.url)];
  auto at = queue.end();
  if (!queue.empty() && queue.back().priority < request.priority) {
    at = std::upper_bound(queue.begin(), queue.end(), request.priority,
                          [](double priority, const TaskRequest& waiting) { return priority > waiting.priority; });
  }
  queue.insert(at, std::move(request));
  ++waiting_count_;
}

// AdmitWaiting may erase only its own entry.
void HostAdmission::AdmitAll() {
  for (auto entry = waiting_.begin(); entry != waiting_.end();) {
    auto next = std::next(entry);
    AdmitWaiting(entry->first);
    entry = next;
  }
}

void HostAdmission::AdmitWaiting(const std::string& host) {
  auto queue = waiting_.find(host);
  while (queue != waiting_.end() && !queue->second.empty() && running_per_host_[host] < TaskLimit(host)) {
    TaskRequest next = std::move(queue->second.front());
    queue->second.pop_front();
    --waiting_count_;
    uint64_t id = next.taskIdentifier;
    size_t expected = ExpectedConcurrency(host);
    bool suspended = suspended_while_waiting_.erase(id) > 0;
    if (!admit_(std::move(next), expected, suspended)) continue;
    if (++running_per_host_[host] == 1) warm_hosts_.Busy(host);
    host_of_[id] = host;
  }
  if (queue != waiting_.end() && queue->second.empty()) waiting_.erase(queue);
}

// How many transfers will run at once right after this admission: those running, this one, and
// the waiting ones of the same host that its free slots will admit in the same pass. Tasks that
// wait for a slot hold no buffer, so they do not count (a queue of 1,000 behind a limit of one
// still gets one large buffer). Called once the task has left its queue: it is the `1`.
size_t HostAdmission::ExpectedConcurrency(const std::string& host) const {
  auto queue = waiting_.find(host);
  size_t waiting = queue == waiting_.end() ? 0 : queue->second.size();
  auto running = running_per_host_.find(host);
  int used = running == running_per_host_.end() ? 0 : running->second;
  size_t free_slots = static_cast<size_t>(std::max(0, TaskLimit(host) - used - 1));
  return host_of_.size() + 1 + std::min(waiting, free_slots);
}

// HTTPMaximumConnectionsPerHost limits connections, as in NSURLSession. Over HTTP/1.1 a running
// task holds a connection; once the host answered over h2 or h3 its tasks are streams sharing
// connections, up to libcurl's 100 streams per connection (CURLMOPT_MAX_CONCURRENT_STREAMS);
// libcurl itself still caps the connections (CURLMOPT_MAX_HOST_CONNECTIONS).
int HostAdmission::TaskLimit(const std::string& host) const {
  constexpr int kStreamsPerConnection = 100;
  int connections = std::max(1, maximum_connections_per_host_);
  return multiplexed_hosts_.count(host) > 0 ? connections * kStreamsPerConnection : connections;
}

// libcurl's own bound, when none is set, is four per easy handle in the multi handle. Finished
// transfers leave the multi handle before their client starts the next ones, so at that moment
// it could hold fewer than a quarter as many handles as its host had connections: libcurl closed
// the oldest idle ones, and the next tasks opened new connections, more than the limit over the
// session's life.
size_t HostAdmission::ConnectionsToKeep(WarmHosts::Clock::time_point now) {
  size_t connections = static_cast<size_t>(std::max(1, maximum_connections_per_host_));
  return connections * std::max<size_t>(1, warm_hosts_.Count(now));
}

void HostAdmission::Finished(uint64_t taskIdentifier) {
  auto host = host_of_.find(taskIdentifier);
  if (host == host_of_.end()) return;
  std::string key = std::move(host->second);
  host_of_.erase(host);
  if (--running_per_host_[key] <= 0) {
    running_per_host_.erase(key);
    warm_hosts_.Idle(key, WarmHosts::Clock::now());
  }
  AdmitWaiting(key);
}

void HostAdmission::LearnMultiplexed(std::vector<uint64_t>& taskIdentifiers) {
  for (uint64_t id : taskIdentifiers) {
    auto found = host_of_.find(id);
    if (found == host_of_.end()) continue;
    std::string host = found->second;  // a copy: admitting inserts into host_of_
    if (multiplexed_hosts_.insert(host).second) AdmitWaiting(host);
  }
  taskIdentifiers.clear();
}

std::optional<TaskRequest> HostAdmission::TakeWaiting(uint64_t taskIdentifier) {
  for (auto entry = waiting_.begin(); entry != waiting_.end(); ++entry) {
    auto& queue = entry->second;
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      if (it->taskIdentifier != taskIdentifier) continue;
      TaskRequest request = std::move(*it);
      queue.erase(it);
      --waiting_count_;
      if (queue.empty()) waiting_.erase(entry);
      suspended_while_waiting_.erase(taskIdentifier);
      return request;
    }
  }
  return std::nullopt;
}

TaskRequest* HostAdmission::FindWaiting(uint64_t taskIdentifier) {
  for (auto& entry : waiting_) {
    for (TaskRequest& request : entry.second) {
      if (request.taskIdentifier == taskIdentifier) return &request;
    }
  }
  return nullptr;
}

std::optional<TaskRequest> HostAdmission::TakeFirstWaiting() {
  if (waiting_.empty()) return std::nullopt;
  return TakeWaiting(waiting_.begin()->second.front().taskIdentifier);
}

void HostAdmission::SetSuspendedWhileWaiting(uint64_t taskIdentifier, bool suspended) {
  if (suspended)
    suspended_while_waiting_.insert(taskIdentifier);
  else
    suspended_while_waiting_.erase(taskIdentifier);
}

}  // namespace urlsession
