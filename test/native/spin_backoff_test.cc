// The engine thread's poll window backs off under CPU contention (native/curl/epoll_multi_driver.cc,
// Wait): a real EpollMultiDriver on a real libcurl multi handle, waited on by this thread while a
// busy thread shares its one CPU. Run by test/native/spin-backoff.test.ts. Prints "PASS <case>" or
// "FAIL <case>: <line>: <condition>" per case; exits 1 when any failed. Linux only.
#include <curl/curl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "curl/epoll_multi_driver.h"
#include "native_cases.h"

using namespace urlsession;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kWindow{5};  // longer than a scheduler slice, so a busy neighbour preempts it

double ThreadCpuMs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

long InvoluntarySwitches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nivcsw;
}

// Pins the calling thread to `cpu`.
void Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int FirstCpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof(set), &set);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) return cpu;
  return 0;
}

// One window with nothing ready: polls until the deadline (or, backing off, sleeps 1 ms).
void OneWindow(EpollMultiDriver& driver) { driver.Wait(1, EpollMultiDriver::Clock::now() + kWindow); }

// Pins this thread and a thread spinning until Stop() to the same CPU.
class BusyNeighbour {
 public:
  BusyNeighbour() : cpu_(FirstCpu()) {
    Pin(cpu_);
    thread_ = std::thread([this] {
      Pin(cpu_);
      while (!stop_.load(std::memory_order_relaxed)) {}
    });
  }
  ~BusyNeighbour() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  const int cpu_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Polls windows until one was preempted (until the neighbour runs, one may not be); false when
// none of 50 was.
bool PollUntilPreempted(EpollMultiDriver& driver) {
  for (int i = 0; i < 50; ++i) {
    const long before = InvoluntarySwitches();
    OneWindow(driver);
    if (InvoluntarySwitches() != before) return true;
  }
  return false;
}

// While a busy thread shares this thread's CPU, the first window is preempted; the windows after it
// sleep instead of polling, so they cost almost no CPU.
CASE(preempted_window_backs_off) {
  CURLM* multi = curl_multi_init();
  {
    EpollMultiDriver driver(multi);
    BusyNeighbour neighbour;
    const bool preempted = PollUntilPreempted(driver);
    const double cpuBefore = ThreadCpuMs();
    const auto started = EpollMultiDriver::Clock::now();
    for (int i = 0; i < 10; ++i) OneWindow(driver);
    const double spent = ThreadCpuMs() - cpuBefore;
    const auto elapsed = EpollMultiDriver::Clock::now() - started;
    neighbour.Stop();
    CHECK(preempted);
    // Inside the back-off: polling ten windows would take a few ms of CPU each.
    CHECK(elapsed < milliseconds(100));
    CHECK(spent < 3.0);
  }
  curl_multi_cleanup(multi);
}

// The back-off ends: once it has passed, a window polls again (spends CPU) although the last one
// was preempted.
CASE(back_off_ends) {
  CURLM* multi = curl_multi_init();
  {
    EpollMultiDriver driver(multi);
    BusyNeighbour neighbour;
    const bool preempted = PollUntilPreempted(driver);
    neighbour.Stop();
    CHECK(preempted);
    std::this_thread::sleep_for(milliseconds(150));
    const double cpuBefore = ThreadCpuMs();
    OneWindow(driver);
    CHECK(ThreadCpuMs() - cpuBefore > 0.5);
  }
  curl_multi_cleanup(multi);
}

}  // namespace

int main(int argc, char** argv) { return native_cases::RunCases(argc, argv); }
