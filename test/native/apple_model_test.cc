// Scripted NSURLSession callback sequences against the Apple engine's portable model
// (native/apple/apple_session_model.h), run on Linux by test/apple/apple-model.test.ts. Each case
// plays what apple_engine.mm would feed in, in an order Apple permits, performs the returned
// Commands on a fake task, and checks the events the model posts. Prints "PASS <case>" or
// "FAIL <case>: <file>:<line>: <condition>" per case; exits 1 when any failed. One thread.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "native_cases.h"
#include "apple/apple_configuration.h"
#include "apple/apple_session_model.h"
#include "apple/cookie_jar_file.h"
#include "apple/spki_der.h"
#include "apple/task_tag.h"
#include "core/error_codes.h"
#include "core/file_ops.h"

using namespace urlsession;

namespace {

// --- a tiny harness: CHECK stops the case at the first failed condition ---

struct Recorder : EventSink {
  std::vector<Event> events;
  void Post(Event event) override { events.push_back(std::move(event)); }
  size_t Count(EventType type) const {
    size_t n = 0;
    for (const Event& e : events) n += e.type == type;
    return n;
  }
  const Event* Last(EventType type) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->type == type) return &*it;
    }
    return nullptr;
  }
  int IndexOf(EventType type) const {
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i].type == type) return static_cast<int>(i);
    }
    return -1;
  }
};

// NSURLSessionTask's suspend/resume as documented: they nest (a counter), resume at zero is a no-op.
struct FakeTask {
  int suspendCount = 0;
  bool cancelled = false, cancelledForResumeData = false;
};
struct Fakes {
  std::map<NsTaskId, FakeTask> tasks;
  void Perform(const Commands& commands) {
    for (const Command& c : commands) {
      FakeTask& t = tasks[c.task];
      switch (c.action) {
        case TaskAction::Suspend: ++t.suspendCount; break;
        case TaskAction::Resume:
          if (t.suspendCount > 0) --t.suspendCount;
          break;
        case TaskAction::Cancel: t.cancelled = true; break;
        case TaskAction::CancelProducingResumeData: t.cancelledForResumeData = true; break;
      }
    }
  }
};

// A private folder per case, removed at its end.
struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/urlsession-apple-model-XXXXXX";
    path = mkdtemp(name);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string File(const std::string& name, const std::string& contents) const {
    std::string file = path + "/" + name;
    FILE* f = std::fopen(file.c_str(), "wb");
    std::fwrite(contents.data(), 1, contents.size(), f);
    std::fclose(f);
    return file;
  }
};

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string Read(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) out.append(buffer, n);
  std::fclose(f);
  return out;
}

// The names in `folder` but "." and "..", joined with spaces ("" when empty or missing).
std::string Entries(const std::string& folder) {
  std::string names;
  DIR* d = opendir(folder.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names += (names.empty() ? "" : " ") + name;
  }
  closedir(d);
  return names;
}

SessionConfig Config() {
  SessionConfig config;
  config.identifier = "test";
  config.progressIntervalMs = 0;
  return config;
}

// What most cases start from: a private folder, the recorded events, the fake NSURLSessionTasks
// and a model (a background session or not) posting into the recorder. Members in that order:
// the model uses the folder and the recorder.
struct Scene {
  TempDir dir;
  Recorder sink;
  Fakes fakes;
  AppleSessionModel m;
  explicit Scene(bool background, const SessionConfig& config = Config()) : m(config, background, dir.path, &sink) {}
};

TaskRequest Data(uint64_t id, const std::string& url = "http://example.test/data") {
  TaskRequest r;
  r.taskIdentifier = id;
  r.kind = TaskKind::Data;
  r.url = url;
  return r;
}

TaskRequest Download(uint64_t id, const std::string& dir, const std::string& url = "http://example.test/file.bin") {
  TaskRequest r = Data(id, url);
  r.kind = TaskKind::Download;
  r.downloadDirectory = dir;
  r.downloadFileName = "file.bin";
  return r;
}

ResponseHead Head(int status, const std::string& url, int64_t length = -1) {
  ResponseHead head;
  head.status = status;
  head.url = url;
  head.expectedLength = length;
  return head;
}

Completion Done(int code = 0) {
  Completion c;
  c.code = code;
  return c;
}

// What apple_engine.mm's -enter: does before every callback.
void Enter(AppleSessionModel& m, Fakes& fakes, NsTaskId ns, const std::string& tag, bool suspended = false) {
  if (m.NeedsAdoption(ns)) fakes.Perform(m.OnRecoveredTask(ns, tag, "http://example.test/file.bin", "GET", suspended));
}

// Plans and "creates" a task, as apple_engine.mm's StartTask block does.
StartPlan Start(AppleSessionModel& m, TaskRequest r, NsTaskId ns) {
  StartPlan plan = m.PlanStart(std::move(r));
  if (plan.create) m.TaskCreated(plan.taskIdentifier, ns);
  return plan;
}

// A file as nsurlsessiond leaves a finished download: a regular file of ours.
std::string DaemonFile(const TempDir& dir, const std::string& contents) {
  return dir.File("CFNetworkDownload_x.tmp", contents);
}

// --- the cases ---

// Item 5. Old rule (apple_engine.mm:520-546 at 6a842ca): every callback ran FindOrAdopt, so
// metrics arriving after didCompleteWithError: re-adopted the finished background task from its
// tag: a spurious TaskRecovered and a task entry that never went away.
CASE(metrics_after_completion) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  StartPlan plan = Start(m, Data(1), 10);
  CHECK(plan.create);
  Enter(m, fakes, 10, plan.tag);
  m.OnFinishedDownload(10, DaemonFile(dir, "body"), Head(200, "http://example.test/data"));
  m.OnComplete(10, Done());
  Enter(m, fakes, 10, plan.tag);  // the late metrics callback
  TaskMetrics late;
  late.totalMs = 5;
  m.OnMetrics(10, late);
  CHECK(sink.Count(EventType::TaskRecovered) == 0);
  CHECK(sink.Count(EventType::TaskCompleted) == 1);
  CHECK(sink.Last(EventType::TaskCompleted)->responseBody == "body");
  CHECK(m.TaskCount() == 0);
}

// Item 5: twice before completion keeps the latest; once more after it is dropped.
CASE(metrics_twice) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  StartPlan plan = Start(m, Data(1), 10);
  TaskMetrics first, second;
  first.totalMs = 1;
  second.totalMs = 2;
  second.redirectCount = 0;
  m.OnMetrics(10, first);
  m.OnMetrics(10, second);
  m.OnFinishedDownload(10, DaemonFile(dir, "x"), Head(200, "http://example.test/data"));
  m.OnComplete(10, Done());
  Enter(m, fakes, 10, plan.tag);
  m.OnMetrics(10, first);
  CHECK(sink.Count(EventType::TaskCompleted) == 1);
  CHECK(sink.Last(EventType::TaskCompleted)->metrics.totalMs == 2);
  CHECK(sink.Count(EventType::TaskRecovered) == 0);
  CHECK(m.TaskCount() == 0);
}

// Old rule: FindOrAdopt adopted any unknown background task carrying our tag, so a second
// completion of a finished task (or one the table dropped) posted TaskRecovered and a second
// TaskCompleted for an identifier JS had already finished.
CASE(completion_of_unknown_task) {
  TempDir dir;
  Recorder sink;
  Fakes fakes;
  AppleSessionModel defaults(Config(), false, dir.path, &sink);
  defaults.OnComplete(99, Done(kNSURLErrorCancelled));
  CHECK(sink.events.empty());
  AppleSessionModel m(Config(), true, dir.path, &sink);
  StartPlan plan = Start(m, Data(1), 10);
  m.OnComplete(10, Done(kNSURLErrorTimedOut));
  Enter(m, fakes, 10, plan.tag);
  m.OnComplete(10, Done(kNSURLErrorTimedOut));
  CHECK(sink.Count(EventType::TaskCompleted) == 1);
  CHECK(sink.Count(EventType::TaskRecovered) == 0);
}

// Old rule (:440-467): didFinishDownloadingToURL: posted DownloadCompleted at once, and a
// completion that then carried an error posted TaskCompleted with that error: JS saw a finished
// file and a failed task. Now the completion decides, and a placed file means success.
CASE(finished_download_then_error) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  StartPlan plan = Start(m, Download(1, dir.path), 10);
  CHECK(plan.type == NsTaskType::Download);
  m.OnFinishedDownload(10, DaemonFile(dir, "0123456789"), Head(200, "http://example.test/file.bin", 10));
  CHECK(sink.Count(EventType::DownloadCompleted) == 0);
  m.OnComplete(10, Done(kNSURLErrorNetworkConnectionLost));
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == 0);
  CHECK(sink.Count(EventType::DownloadCompleted) == 1);
  CHECK(sink.IndexOf(EventType::DownloadCompleted) < sink.IndexOf(EventType::TaskCompleted));
  CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == "0123456789");
}

// A cancel that arrives after the last byte (didFinishDownloadingToURL: ran) comes too late:
// no -cancel is sent and the task reports success, as the curl engine does. Old rule: -cancel
// was sent and the -999 completion followed the DownloadCompleted already posted.
CASE(cancel_racing_finish) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  Start(m, Download(1, dir.path), 10);
  m.OnFinishedDownload(10, DaemonFile(dir, "abc"), Head(200, "http://example.test/file.bin"));
  fakes.Perform(m.Cancel(1));
  CHECK(!fakes.tasks[10].cancelled && !fakes.tasks[10].cancelledForResumeData);
  m.OnComplete(10, Done(kNSURLErrorCancelled));
  CHECK(sink.Last(EventType::TaskCompleted)->errorCode == 0);
  CHECK(sink.Count(EventType::DownloadCompleted) == 1);
  CHECK(m.Cancel(1).empty());  // completed: unknown now
}

// Item 2's backstop. Old rule (:313): byId[tag id] was overwritten by a recovered task with the
// identifier of a task this process had created: cancel(1) then cancelled the wrong transfer and
// both tasks' events went out under id 1.
CASE(recovered_after_new_task) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  StartPlan mine = Start(m, Download(1, dir.path), 10);
  TaskTag old;
  old.taskIdentifier = 1;
  old.kind = TaskKind::Download;
  Enter(m, fakes, 5, EncodeTaskTag(old));
  CHECK(sink.Count(EventType::TaskRecovered) == 0);
  CHECK(fakes.tasks[5].cancelled);
  fakes.Perform(m.Cancel(1));
  CHECK(fakes.tasks[10].cancelled || fakes.tasks[10].cancelledForResumeData);
  m.OnComplete(5, Done(kNSURLErrorCancelled));  // the stray one's completion is not ours any more
  CHECK(sink.Count(EventType::TaskCompleted) == 0);
  // A recovered task with a fresh identifier is adopted and announced.
  old.taskIdentifier = 7;
  old.taskDescription = "nightly backup";
  Enter(m, fakes, 6, EncodeTaskTag(old));
  CHECK(sink.Count(EventType::TaskRecovered) == 1);
  CHECK(sink.Last(EventType::TaskRecovered)->taskIdentifier == 7);
  CHECK(sink.Last(EventType::TaskRecovered)->taskDescription == "nightly backup");  // item 11
  CHECK(sink.Last(EventType::TaskRecovered)->kind == TaskKind::Download);
  (void)mine;
}

// Item 18. Old rule: a task an earlier process left suspended was adopted as it was and never
// resumed (JS shows it running and holds nothing on it).
CASE(suspended_recovered_task) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  fakes.tasks[3].suspendCount = 1;
  TaskTag tag;
  tag.taskIdentifier = 4;
  tag.kind = TaskKind::Download;
  Enter(m, fakes, 3, EncodeTaskTag(tag), true);
  CHECK(sink.Count(EventType::TaskRecovered) == 1);
  CHECK(fakes.tasks[3].suspendCount == 0);
  // A user suspend/resume afterwards still nests correctly.
  fakes.Perform(m.Suspend(4));
  CHECK(fakes.tasks[3].suspendCount == 1);
  fakes.Perform(m.Resume(4));
  CHECK(fakes.tasks[3].suspendCount == 0);
}

// Item 17. Old rule (:301-309): tag values went through unsignedLongLongValue / intValue /
// boolValue / ToStd unchecked: an NSArray or NSNumber where a string was expected raised an
// unrecognized-selector exception on the delegate queue and killed the process.
CASE(malformed_task_tag) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  const char* bad[] = {
      "",
      "not json",
      "[1,2]",
      "{\"urlsession\":1,\"id\":\"7\",\"kind\":0}",
      "{\"urlsession\":1,\"id\":[7],\"kind\":0}",
      "{\"urlsession\":1,\"id\":7.5,\"kind\":0}",
      "{\"urlsession\":1,\"id\":-7,\"kind\":0}",
      "{\"urlsession\":1,\"id\":7,\"kind\":9}",
      "{\"urlsession\":1,\"id\":7,\"kind\":0,\"dir\":42}",
      "{\"urlsession\":1,\"id\":7,\"kind\":0,\"name\":{\"a\":1}}",
      "{\"urlsession\":1,\"id\":7,\"kind\":0,\"fromResponse\":\"yes\"}",
      "{\"urlsession\":1,\"id\":7,\"kind\":0,\"description\":null}",
      "{\"urlsession\":\"1\",\"id\":7,\"kind\":0}",
      "{\"id\":7,\"kind\":0}",
      "{\"urlsession\":1,\"id\":7,\"kind\":0",
      "{\"urlsession\":1,\"id\":7,\"kind\":0,\"dir\":\"\\ud800\"}",
  };
  NsTaskId ns = 100;
  for (const char* tag : bad) {
    TaskTag decoded;
    CHECK(!DecodeTaskTag(tag, &decoded));
    Enter(m, fakes, ns, tag);
    m.OnComplete(ns, Done());
    ++ns;
  }
  CHECK(sink.events.empty());
  CHECK(m.TaskCount() == 0);
  // Tags written by NSJSONSerialization before this model (true/false, "\/", unicode) still parse.
  TaskTag legacy;
  CHECK(
      DecodeTaskTag("{\"urlsession\":1,\"id\":12,\"kind\":0,\"dir\":\"\\/Users\\/a\",\"name\":\"caf\\u00e9.bin\","
                    "\"fromResponse\":true,\"overwrite\":false,\"discardOnHttpError\":false,\"description\":\"\"}",
                    &legacy));
  CHECK(legacy.taskIdentifier == 12 && legacy.downloadDirectory == "/Users/a" &&
        legacy.downloadFileName == "caf\xc3\xa9.bin");
  CHECK(legacy.nameFromResponse && !legacy.overwrite);
  // Round trip, with the characters JSON must escape.
  TaskTag tag;
  tag.taskIdentifier = 9007199254740992ull;
  tag.kind = TaskKind::Upload;
  tag.taskDescription = "quote \" backslash \\ newline \n tab \t \x01 \xe2\x82\xac";
  tag.temporaryBody = "/tmp/x";
  tag.streamBody = true;
  TaskTag back;
  CHECK(DecodeTaskTag(EncodeTaskTag(tag), &back));
  CHECK(back.taskIdentifier == tag.taskIdentifier && back.kind == TaskKind::Upload);
  CHECK(back.taskDescription == tag.taskDescription && back.temporaryBody == "/tmp/x" && back.streamBody);
}

// Item 16. Old rule (:920-948): ResetCompleted/FlushCompleted were posted only from
// NSURLSession's completion handler; an invalidation that overtook it left reset() hanging,
// and a reset after invalidation asked a session that never answers.
CASE(invalidation_overtakes_reset) {
  TempDir dir;
  Recorder sink;
  AppleSessionModel m(Config(), false, dir.path, &sink);
  CHECK(m.Reset(7));
  CHECK(m.Flush(8));
  CHECK(m.InvalidateAndCancel());
  m.OnInvalidated();
  CHECK(sink.Count(EventType::ResetCompleted) == 1 && sink.Last(EventType::ResetCompleted)->token == 7);
  CHECK(sink.Count(EventType::FlushCompleted) == 1 && sink.Last(EventType::FlushCompleted)->token == 8);
  CHECK(sink.IndexOf(EventType::ResetCompleted) < sink.IndexOf(EventType::SessionInvalidated));
  m.OnResetDone(7);  // the handler, late
  m.OnFlushDone(8);
  CHECK(sink.Count(EventType::ResetCompleted) == 1 && sink.Count(EventType::FlushCompleted) == 1);
  CHECK(!m.Reset(9));  // after invalidation: answered at once
  CHECK(sink.Last(EventType::ResetCompleted)->token == 9);
  // The happy order still answers once.
  AppleSessionModel n(Config(), false, dir.path, &sink);
  CHECK(n.Flush(3));
  n.OnFlushDone(3);
  n.OnFlushDone(3);
  size_t threes = 0;
  for (const Event& e : sink.events) threes += e.type == EventType::FlushCompleted && e.token == 3;
  CHECK(threes == 1);
}

// Item 3. Old rule (:418-421, :846-883): user suspend and stream backpressure each sent
// -suspend, and each resume was skipped while the other flag was set; -suspend nests, so after
// "backpressure, user suspend, user resume, drain" one -resume was missing and the task stayed
// suspended for good (the 16 MiB stream that stopped at ~3 MB).
CASE(suspend_holds_nest) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  TaskRequest r = Data(1);
  r.streamBody = true;
  Start(m, r, 10);
  CHECK(m.OnResponse(10, Head(200, "http://example.test/data")));
  std::string chunk(kStreamHighWaterBytes, 'x');
  fakes.Perform(m.OnData(10, chunk.data(), chunk.size()));
  CHECK(fakes.tasks[10].suspendCount == 1);  // backpressure: the first hold suspends
  fakes.Perform(m.Suspend(1));
  CHECK(fakes.tasks[10].suspendCount == 1);  // a second hold does not suspend again
  fakes.Perform(m.Resume(1));
  CHECK(fakes.tasks[10].suspendCount == 1);  // backpressure still holds
  fakes.Perform(m.Acknowledge(1, kStreamHighWaterBytes));
  CHECK(fakes.tasks[10].suspendCount == 0);  // the last hold went: resumed
  // The other nesting: user first, backpressure inside, user resume last.
  fakes.Perform(m.Suspend(1));
  CHECK(fakes.tasks[10].suspendCount == 1);
  fakes.Perform(m.OnData(10, chunk.data(), chunk.size()));
  CHECK(fakes.tasks[10].suspendCount == 1);
  fakes.Perform(m.Acknowledge(1, kStreamHighWaterBytes));
  CHECK(fakes.tasks[10].suspendCount == 1);  // the user still holds it
  fakes.Perform(m.Resume(1));
  CHECK(fakes.tasks[10].suspendCount == 0);
  fakes.Perform(m.Resume(1));  // an extra resume changes nothing
  CHECK(fakes.tasks[10].suspendCount == 0);
  CHECK(sink.Count(EventType::BodyData) == 2);
}

// A partial file of `bytes` kept from an earlier response (a resume continues it).
struct KeptPartial {
  std::string path;
  FileIdentity identity;
};
KeptPartial Keep(const TempDir& dir, const std::string& bytes) {
  KeptPartial kept;
  int fd = CreatePartialFile(dir.path, "file.bin", &kept.path, &kept.identity);
  if (fd >= 0) {
    if (write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) kept.path.clear();
    close(fd);
  }
  return kept;
}
TaskRequest ResumeOf(uint64_t id, const TempDir& dir, const KeptPartial& kept, int64_t offset,
                     const std::string& validator = "Tue, 01 Dec 2026 12:19:44 GMT") {
  TaskRequest r = Download(id, dir.path);
  r.keepPartialOnFailure = true;
  r.resumePartialPath = kept.path;
  r.resumeIdentity = kept.identity.ToString();
  r.resumeOffset = offset;
  r.resumeValidator = validator;
  return r;
}

// Item 15. Old rule (:707-779): a task that could not be created after its download had opened
// (resumed) its partial file called DownloadWriter::Abandon, deleting the partial a resume
// needed, and failures before the writer existed skipped DownloadWriter::FailUnopened.
CASE(failure_before_start_keeps_partial) {
  TempDir dir;
  Recorder sink;
  KeptPartial kept = Keep(dir, "12345");
  CHECK(!kept.path.empty());
  const std::string& partial = kept.path;
  TaskRequest r = ResumeOf(1, dir, kept, 5, "\"etag\"");
  AppleSessionModel m(Config(), false, dir.path, &sink);
  StartPlan plan = m.PlanStart(r);
  CHECK(plan.create);
  bool ranged = false;
  for (const auto& h : plan.headers) ranged |= h.first == "Range" && h.second == "bytes=5-";
  CHECK(ranged);
  m.TaskCreationFailed(1, kNSURLErrorUnknown);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == kNSURLErrorUnknown);
  CHECK(done->partialPath == partial && done->partialBytes == 5);
  CHECK(Read(partial) == "12345");
  // Refused before the writer exists (an invalidated session): FailUnopened keeps it too.
  CHECK(m.FinishTasksAndInvalidate());
  r.taskIdentifier = 2;
  CHECK(!m.PlanStart(r).create);
  done = sink.Last(EventType::TaskCompleted);
  CHECK(done->taskIdentifier == 2 && done->errorCode == kNSURLErrorCancelled && done->partialPath == partial);
  CHECK(Exists(partial));
}

// Issue 15, item 13. Old rule (DownloadWriter at 20fdcde): a default session's download addressed
// its partial file by path, so a download folder renamed away mid-transfer kept the partial
// file forever (commit and discard looked for it at the old path, and the commit re-created
// the old path as an empty folder). Now the writer holds the folder: the commit fails with
// -3000, a cancellation gives no partial path, and the moved folder is left empty either way.
CASE(default_download_folder_renamed) {
  TempDir dir;
  Recorder sink;
  Fakes fakes;
  const std::string downloads = dir.path + "/downloads", moved = dir.path + "/moved";
  AppleSessionModel m(Config(), false, dir.path, &sink);
  for (int round = 0; round < 2; ++round) {
    CHECK(mkdir(downloads.c_str(), 0700) == 0);
    TaskRequest r = Download(1 + round, downloads);
    r.keepPartialOnFailure = true;
    NsTaskId ns = 10 + round;
    StartPlan plan = Start(m, r, ns);
    CHECK(plan.create);
    Enter(m, fakes, ns, plan.tag);
    CHECK(m.OnResponse(ns, Head(200, "http://example.test/file.bin", 10)));
    fakes.Perform(m.OnData(ns, "01234", 5));
    CHECK(Entries(downloads).find(".partial") != std::string::npos);
    CHECK(rename(downloads.c_str(), moved.c_str()) == 0);
    fakes.Perform(m.OnData(ns, "56789", 5));
    m.OnComplete(ns, Done(round == 0 ? 0 : kNSURLErrorCancelled));
    CHECK(Entries(moved).empty());
    CHECK(!Exists(downloads));
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->taskIdentifier == r.taskIdentifier);
    CHECK(done->errorCode == (round == 0 ? kNSURLErrorCannotCreateFile : kNSURLErrorCancelled));
    CHECK(done->partialPath.empty());
    CHECK(sink.Count(EventType::DownloadCompleted) == 0);
    CHECK(rmdir(moved.c_str()) == 0);
  }
}

// Issue 15, item 5. Old rule (Shutdown at 20fdcde): env teardown (a worker's end, a reload)
// deleted every running download's partial file, also the one a persistent session's journal
// names, so the next session with that identifier downloaded everything again. A partial file
// the engine made itself (the journal does not know it) still goes, as do a plain session's.
CASE(shutdown_keeps_journaled_partial) {
  for (bool persistent : {true, false}) {
    TempDir dir;
    Recorder sink;
    Fakes fakes;
    KeptPartial kept = Keep(dir, "12345");
    CHECK(!kept.path.empty());
    const std::string& journaled = kept.path;
    SessionConfig config = Config();
    config.persistent = persistent;
    AppleSessionModel m(config, false, dir.path, &sink);
    TaskRequest given = ResumeOf(1, dir, kept, 5, "\"etag\"");
    CHECK(Start(m, given, 10).create);
    CHECK(Start(m, Download(2, dir.path), 11).create);        // makes its own partial file
    CHECK(Entries(dir.path).find(' ') != std::string::npos);  // two partial files
    CHECK(m.Shutdown());
    CHECK(sink.Count(EventType::TaskCompleted) == 0);
    CHECK(Entries(dir.path) == (persistent ? journaled.substr(journaled.rfind('/') + 1) : std::string()));
    if (persistent) CHECK(Read(journaled) == "12345");
  }
}

// Issue 15, item 8. Old rule: expected bytes were the response's Content-Length even for a coded
// body, whose Content-Length counts the coded bytes while the file (and totalBytesWritten)
// counts decoded ones: 500 of 100 bytes. Now a coded body's size is unknown (0), as NSURLSession
// itself reports NSURLResponseUnknownLength for gzip responses; identity bodies keep theirs.
CASE(coded_body_size_unknown) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  ResponseHead coded = Head(200, "http://example.test/file.bin", 100);
  coded.headers = {{"Content-Encoding", "gzip"}, {"Content-Length", "100"}};
  Start(m, Download(1, dir.path), 10);
  CHECK(m.OnResponse(10, coded));
  CHECK(sink.Last(EventType::Response)->expectedBytes == 0);
  std::string decoded(500, 'x');
  fakes.Perform(m.OnData(10, decoded.data(), decoded.size()));
  m.OnComplete(10, Done());
  CHECK(sink.Count(EventType::DownloadProgress) > 0);
  for (const Event& e : sink.events) {
    if (e.type == EventType::DownloadProgress) CHECK(e.expectedBytes == 0 || e.totalBytes <= e.expectedBytes);
  }
  CHECK(sink.Last(EventType::TaskCompleted)->errorCode == 0);
  // A data task's Response says the same; an identity body keeps its length.
  Start(m, Data(2), 20);
  CHECK(m.OnResponse(20, coded));
  CHECK(sink.Last(EventType::Response)->expectedBytes == 0);
  Start(m, Download(3, dir.path), 30);
  CHECK(m.OnResponse(30, Head(200, "http://example.test/file.bin", 100)));
  CHECK(sink.Last(EventType::Response)->expectedBytes == 100);
  // Background download tasks: NSURLSession's own totalBytesExpectedToWrite is not trusted for a
  // coded body either.
  Recorder bgSink;
  AppleSessionModel bg(Config(), true, dir.path, &bgSink);
  StartPlan plan = Start(bg, Download(4, dir.path), 40);
  Enter(bg, fakes, 40, plan.tag);
  CHECK(bg.ResponsePending(40));
  fakes.Perform(bg.OnDownloadProgress(40, 500, 100, &coded));
  CHECK(bgSink.Last(EventType::DownloadProgress)->expectedBytes == 0);
  fakes.Perform(bg.OnDownloadProgress(40, 600, 100, nullptr));
  CHECK(bgSink.Last(EventType::DownloadProgress)->expectedBytes == 0);
}

const std::string* PlanHeader(const StartPlan& plan, const std::string& name) {
  const std::string* found = nullptr;
  for (const auto& h : plan.headers)
    if (h.first == name) found = found == nullptr ? &h.second : nullptr;  // exactly once
  return found;
}

// NSURLSessionTask.priority (NSURLSession.h: 0.0-1.0, NSURLSessionTaskPriorityDefault 0.5) is
// planned from the request's, clamped to that range.
CASE(priority_planned) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  TaskRequest high = Data(1);
  high.priority = 0.9;
  CHECK(m.PlanStart(high).priority == 0.9f);
  CHECK(m.PlanStart(Data(2)).priority == 0.5f);
  TaskRequest wild = Data(3);
  wild.priority = 7;
  CHECK(m.PlanStart(wild).priority == 1.0f);
}

// Issue 19. Old rule: fetch's credentials and cache were dropped in JS; every request handled
// cookies and took the session's cache policy. Now credentials: 'omit' plans
// NSURLRequest.HTTPShouldHandleCookies = NO and each cache mode the NSURLRequestCachePolicy of
// the same meaning (NSURLRequest.h); without one the session's policy stays. The sessions have
// no URLCache, so "only-if-cached" fails before any task with -1008, as on Linux. A server's
// authentication challenge to an omitting task rejects the protection space: no stored credential.
CASE(credentials_and_cache_planned) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  TaskRequest omit = Data(1);
  omit.omitCredentials = true;
  StartPlan omitted = m.PlanStart(omit);
  CHECK(omitted.create && !omitted.handleCookies && omitted.cachePolicy == RequestCachePolicy::Session);
  StartPlan plain = m.PlanStart(Data(2));
  CHECK(plain.create && plain.handleCookies && plain.cachePolicy == RequestCachePolicy::Session);
  const std::pair<const char*, RequestCachePolicy> modes[] = {
      {"default", RequestCachePolicy::UseProtocolCachePolicy},
      {"no-store", RequestCachePolicy::ReloadIgnoringLocalCacheData},
      {"reload", RequestCachePolicy::ReloadIgnoringLocalCacheData},
      {"no-cache", RequestCachePolicy::ReloadRevalidatingCacheData},
      {"force-cache", RequestCachePolicy::ReturnCacheDataElseLoad},
  };
  uint64_t id = 3;
  for (const auto& [mode, policy] : modes) {
    TaskRequest r = Data(id++);
    r.cacheMode = mode;
    StartPlan plan = m.PlanStart(r);
    CHECK(plan.create && plan.handleCookies && plan.cachePolicy == policy);
  }
  // A server's challenge gets no stored credential for the omitting task, default handling else.
  TaskRequest omitting = Data(30);
  omitting.omitCredentials = true;
  CHECK(Start(m, omitting, 50).create);
  CHECK(Start(m, Data(31), 51).create);
  CHECK(m.RefusesServerCredentials(50));
  CHECK(!m.RefusesServerCredentials(51));
  CHECK(!m.RefusesServerCredentials(52));  // not a task of ours
  CHECK(CachePolicyOf("only-if-cached") == RequestCachePolicy::ReturnCacheDataDontLoad);
  TaskRequest offline = Data(20);
  offline.cacheMode = "only-if-cached";
  CHECK(!m.PlanStart(offline).create);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->taskIdentifier == 20 && done->errorCode == kNSURLErrorResourceUnavailable);
}

// Issue 15, item 7. Old rule: the resume's Range request went out with NSURLSession's own
// Accept-Encoding (gzip, deflate, br), so caddy and h2o answered with a range of the gzip bytes
// while the kept bytes were decoded ones. The resume asks for identity (replacing the caller's
// Accept-Encoding), and a coded body's validator is its Last-Modified.
CASE(resume_asks_identity) {
  TempDir dir;
  Recorder sink;
  Fakes fakes;
  KeptPartial kept = Keep(dir, "12345");
  CHECK(!kept.path.empty());
  TaskRequest r = ResumeOf(1, dir, kept, 5);
  r.headers = {{"Accept-Encoding", "gzip"}, {"X-App", "1"}};
  AppleSessionModel m(Config(), false, dir.path, &sink);
  StartPlan plan = Start(m, r, 10);
  CHECK(plan.create && plan.type == NsTaskType::Data);
  CHECK(PlanHeader(plan, "Range") != nullptr && *PlanHeader(plan, "Range") == "bytes=5-");
  CHECK(PlanHeader(plan, "If-Range") != nullptr && *PlanHeader(plan, "If-Range") == "Tue, 01 Dec 2026 12:19:44 GMT");
  CHECK(PlanHeader(plan, "Accept-Encoding") != nullptr && *PlanHeader(plan, "Accept-Encoding") == "identity");
  CHECK(PlanHeader(plan, "X-App") != nullptr);
  // A fresh download leaves Accept-Encoding to NSURLSession (and to the caller).
  StartPlan fresh = Start(m, Download(2, dir.path), 20);
  CHECK(PlanHeader(fresh, "Accept-Encoding") == nullptr && PlanHeader(fresh, "Range") == nullptr);
  // A coded response that then fails keeps its bytes with its Last-Modified, not its ETag.
  ResponseHead coded = Head(200, "http://example.test/file.bin", 40);
  coded.headers = {
      {"Content-Encoding", "gzip"}, {"ETag", "\"gz-1\""}, {"Last-Modified", "Wed, 02 Dec 2026 08:00:00 GMT"}};
  TaskRequest keepIt = Download(3, dir.path);
  keepIt.keepPartialOnFailure = true;
  Start(m, keepIt, 30);
  CHECK(m.OnResponse(30, coded));
  // The Response event carries the same validator (lib/persistence.ts journals it from there).
  CHECK(sink.Last(EventType::Response)->validator == "Wed, 02 Dec 2026 08:00:00 GMT");
  fakes.Perform(m.OnData(30, "decoded", 7));
  m.OnComplete(30, Done(kNSURLErrorNetworkConnectionLost));
  const Event* failed = sink.Last(EventType::TaskCompleted);
  CHECK(failed->taskIdentifier == 3 && failed->partialBytes == 7 &&
        failed->validator == "Wed, 02 Dec 2026 08:00:00 GMT");
  DiscardPartialFile(failed->partialPath, FileIdentity::Parse(failed->partialIdentity));
}

// Issue 15, item 7. Old rule: a 206 that could not continue the kept bytes (here: coded, although
// identity was asked) failed the task with -1011 and deleted the partial file; a 416 failed it as
// an HTTP error. Resuming is the download's own business: the same request goes again from
// zero as a new NSURLSessionTask, under the same identifier, into the same (emptied) file.
CASE(refused_resume_restarts) {
  TempDir dir;
  const std::vector<std::pair<std::string, ResponseHead>> refusals = [] {
    ResponseHead coded = Head(206, "http://example.test/file.bin", 30);
    coded.headers = {{"Content-Encoding", "gzip"}, {"Content-Range", "bytes 5-34/35"}};
    ResponseHead refused = Head(416, "http://example.test/file.bin", 0);
    refused.headers = {{"Content-Range", "bytes */35"}};
    ResponseHead changed = Head(206, "http://example.test/file.bin", 30);  // h2o 2.2 ignores If-Range
    changed.headers = {{"Content-Range", "bytes 5-34/35"}, {"Last-Modified", "Thu, 03 Dec 2026 09:00:00 GMT"}};
    ResponseHead elsewhere = Head(206, "http://example.test/file.bin", 30);
    elsewhere.headers = {{"Content-Range", "bytes 0-29/30"}};
    return std::vector<std::pair<std::string, ResponseHead>>{
        {"coded", coded}, {"416", refused}, {"changed", changed}, {"elsewhere", elsewhere}};
  }();
  NsTaskId ns = 100;
  for (const auto& [what, head] : refusals) {
    [&, &head = head] {  // CHECK leaves the lambda: the refusal is named below
      Recorder sink;
      Fakes fakes;
      KeptPartial kept = Keep(dir, "12345");
      CHECK(!kept.path.empty());
      AppleSessionModel m(Config(), false, dir.path, &sink);
      Start(m, ResumeOf(1, dir, kept, 5), ++ns);
      CHECK(!m.OnResponse(ns, head));     // NSURLSessionResponseCancel
      CHECK(Read(kept.path) == "12345");  // untouched until the restart
      StartPlan again = m.OnComplete(ns, Done(kNSURLErrorCancelled));
      CHECK(again.create && again.taskIdentifier == 1 && again.type == NsTaskType::Data && !again.startSuspended);
      CHECK(PlanHeader(again, "Range") == nullptr && PlanHeader(again, "If-Range") == nullptr &&
            PlanHeader(again, "Accept-Encoding") == nullptr);
      CHECK(sink.Count(EventType::Response) == 0 && sink.Count(EventType::TaskCompleted) == 0);
      CHECK(Exists(kept.path) && Read(kept.path).empty());  // the same file, emptied
      m.TaskCreated(1, ++ns);
      m.OnComplete(ns - 1, Done(kNSURLErrorCancelled));  // a late callback of the refused task: dropped
      CHECK(sink.Count(EventType::TaskCompleted) == 0);
      CHECK(m.OnResponse(ns, Head(200, "http://example.test/file.bin", 10)));
      fakes.Perform(m.OnData(ns, "0123456789", 10));
      m.OnComplete(ns, Done());
      const Event* done = sink.Last(EventType::TaskCompleted);
      CHECK(done != nullptr && done->taskIdentifier == 1 && done->errorCode == 0);
      CHECK(sink.Count(EventType::Response) == 1 && sink.Last(EventType::Response)->statusCode == 200);
      CHECK(sink.Count(EventType::DownloadCompleted) == 1 &&
            Read(sink.Last(EventType::DownloadCompleted)->location) == "0123456789");
      CHECK(!Exists(kept.path));
      unlink(sink.Last(EventType::DownloadCompleted)->location.c_str());
    }();
    if (!native_cases::Failure().empty()) return void(native_cases::Failure() += " (" + what + ")");
  }
  // A user's cancel during the refusal is final: -999, and the kept bytes stay for a resume.
  Recorder sink;
  Fakes fakes;
  KeptPartial kept = Keep(dir, "12345");
  AppleSessionModel m(Config(), false, dir.path, &sink);
  Start(m, ResumeOf(1, dir, kept, 5), 200);
  CHECK(!m.OnResponse(200, refusals[1].second));
  fakes.Perform(m.Cancel(1));
  CHECK(!m.OnComplete(200, Done(kNSURLErrorCancelled)).create);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == kNSURLErrorCancelled);
  CHECK(done->partialPath == kept.path && done->partialBytes == 5 &&
        done->validator == "Tue, 01 Dec 2026 12:19:44 GMT");
  CHECK(Read(kept.path) == "12345");
  // A suspended task is recreated suspended, and its user's resume starts it.
  Recorder sink2;
  KeptPartial kept2 = Keep(dir, "abcde");
  AppleSessionModel m2(Config(), false, dir.path, &sink2);
  Start(m2, ResumeOf(1, dir, kept2, 5), 300);
  fakes.Perform(m2.Suspend(1));
  CHECK(!m2.OnResponse(300, refusals[0].second));
  StartPlan held = m2.OnComplete(300, Done(kNSURLErrorCancelled));
  CHECK(held.create && held.startSuspended);
  m2.TaskCreated(1, 301);
  Commands resume = m2.Resume(1);
  CHECK(resume.size() == 1 && resume[0].action == TaskAction::Resume && resume[0].task == 301);
  m2.Cancel(1);
  m2.OnComplete(301, Done(kNSURLErrorCancelled));
  const Event* cancelled = sink2.Last(EventType::TaskCompleted);
  CHECK(cancelled != nullptr && cancelled->errorCode == kNSURLErrorCancelled);
}

// Item 14. Old rule: Shutdown unlinked every temporary upload body, also of background tasks
// nsurlsessiond was still uploading, and a recovered upload never deleted its body.
CASE(temporary_body_lifetime) {
  TempDir dir;
  Recorder sink;
  Fakes fakes;
  std::string uploadFile, tag;
  {
    AppleSessionModel first(Config(), true, dir.path + "/", &sink);
    TaskRequest r = Data(1, "http://example.test/upload");
    r.kind = TaskKind::Upload;
    r.method = "POST";
    r.bodySource = BodySource::Memory;
    r.bodyBytes = "payload";
    StartPlan plan = Start(first, r, 10);
    CHECK(plan.type == NsTaskType::UploadFromFile);
    uploadFile = plan.uploadFile;
    tag = plan.tag;
    CHECK(Read(uploadFile) == "payload");
    CHECK(!first.Shutdown());  // background: never invalidated
    CHECK(Exists(uploadFile));
  }
  AppleSessionModel relaunched(Config(), true, dir.path, &sink);
  Enter(relaunched, fakes, 10, tag);
  CHECK(sink.Count(EventType::TaskRecovered) == 1);
  relaunched.OnComplete(10, Done());
  CHECK(!Exists(uploadFile));
  // A tag naming some other file never gets it deleted.
  std::string victim = dir.File("precious", "keep me");
  TaskTag forged;
  forged.taskIdentifier = 2;
  forged.kind = TaskKind::Upload;
  forged.temporaryBody = victim;
  Enter(relaunched, fakes, 11, EncodeTaskTag(forged));
  relaunched.OnComplete(11, Done());
  CHECK(Read(victim) == "keep me");
  // Default sessions: the body is uploaded from memory, nothing on disk.
  AppleSessionModel plain(Config(), false, dir.path, &sink);
  TaskRequest p = Data(3, "http://example.test/upload");
  p.kind = TaskKind::Upload;
  p.bodySource = BodySource::Memory;
  p.bodyBytes = "abc";
  StartPlan direct = plain.PlanStart(p);
  CHECK(direct.type == NsTaskType::UploadFromData && direct.uploadBytes == "abc");
}

// Item 4. Old rule (:485-518): CA and pin checks ran only inside the server-trust challenge; a
// TLS session resumed from the per-process cache skips it, so a pinned session accepted a
// response over a connection only another session had verified.
CASE(trust_checked_per_session) {
  TempDir dir;
  Recorder sinkA, sinkB;
  Fakes fakes;
  AppleSessionModel a(Config(), false, dir.path, &sinkA);  // no CA, no pins: default handling
  SessionConfig pinned = Config();
  pinned.tls.pinnedSpkiSha256 = {"pin-of-the-real-server"};
  AppleSessionModel b(pinned, false, dir.path, &sinkB);
  TrustEvaluation seen;
  seen.host = "secure.test";
  seen.port = 443;
  seen.trusted = true;
  seen.spkiPin = "pin-of-an-impostor";
  Start(a, Data(1, "https://secure.test/x"), 1);
  CHECK(a.OnServerTrust(1, seen) == TrustVerdict::DefaultHandling);
  CHECK(a.OnResponse(1, Head(200, "https://secure.test/x")));
  // Session B's request rides the resumed TLS session: no challenge reaches B.
  Start(b, Data(1, "https://secure.test/x"), 1);
  CHECK(!b.OnResponse(1, Head(200, "https://secure.test/x")));
  b.OnComplete(1, Done(kNSURLErrorCancelled));
  CHECK(sinkB.Last(EventType::TaskCompleted)->errorCode == kNSURLErrorServerCertificateUntrusted);
  CHECK(sinkB.Count(EventType::Response) == 0);
  // A challenge with the wrong pin is rejected; with the right one the host counts as verified.
  Start(b, Data(2, "https://secure.test/y"), 2);
  CHECK(b.OnServerTrust(2, seen) == TrustVerdict::Reject);
  b.OnComplete(2, Done(kNSURLErrorCancelled));
  CHECK(sinkB.Last(EventType::TaskCompleted)->errorCode == kNSURLErrorServerCertificateUntrusted);
  seen.spkiPin = "pin-of-the-real-server";
  Start(b, Data(3, "https://SECURE.test:443/z"), 3);
  CHECK(b.OnServerTrust(3, seen) == TrustVerdict::UseCredential);
  CHECK(b.OnResponse(3, Head(200, "https://SECURE.test:443/z")));
  // Another port is another server.
  Start(b, Data(4, "https://secure.test:8443/z"), 4);
  CHECK(!b.OnResponse(4, Head(200, "https://secure.test:8443/z")));
  // Plain http is not a TLS question.
  Start(b, Data(5, "http://secure.test/z"), 5);
  CHECK(b.OnResponse(5, Head(200, "http://secure.test/z")));
}

// Item 6. Background sessions never call willPerformHTTPRedirection: (NSURLSession.h). Old
// rule: the policy lived only there, so background tasks followed https->http, non-http schemes
// and any number of redirects.
CASE(background_redirect_policy) {
  SessionConfig config = Config();
  config.maximumRedirects = 3;
  Scene scene(true, config);
  auto& [dir, sink, fakes, m] = scene;
  Start(m, Download(1, dir.path, "https://example.test/file.bin"), 10);
  m.OnFinishedDownload(10, DaemonFile(dir, "downgraded"), Head(200, "http://example.test/file.bin"));
  m.OnComplete(10, Done());
  CHECK(sink.Last(EventType::TaskCompleted)->errorCode == kNSURLErrorAppTransportSecurityRequiresSecureConnection);
  CHECK(sink.Count(EventType::DownloadCompleted) == 0);
  CHECK(!Exists(dir.path + "/file.bin"));
  Start(m, Download(2, dir.path), 11);
  m.OnFinishedDownload(11, DaemonFile(dir, "hops"), Head(200, "http://example.test/file.bin"));
  TaskMetrics metrics;
  metrics.redirectCount = 4;
  m.OnMetrics(11, metrics);
  m.OnComplete(11, Done());
  CHECK(sink.Last(EventType::TaskCompleted)->errorCode == kNSURLErrorHTTPTooManyRedirects);
  CHECK(sink.Count(EventType::DownloadCompleted) == 0);
  CHECK(!Exists(dir.path + "/file.bin"));
  // Within the policy: delivered.
  Start(m, Download(3, dir.path), 12);
  m.OnFinishedDownload(12, DaemonFile(dir, "fine"), Head(200, "https://example.test/file.bin"));
  metrics.redirectCount = 3;
  m.OnMetrics(12, metrics);
  m.OnComplete(12, Done());
  CHECK(sink.Last(EventType::TaskCompleted)->errorCode == 0);
  CHECK(Read(dir.path + "/file.bin") == "fine");
  // Default sessions decide per redirect.
  AppleSessionModel d(config, false, dir.path, &sink);
  Start(d, Data(4, "https://example.test/"), 20);
  Commands commands;
  CHECK(!d.OnRedirect(20, 302, "https://example.test/", "http://example.test/", &commands));
  CHECK(commands.size() == 1 && commands[0].action == TaskAction::Cancel);
}

// Issue 16, item 2. Old rule: every redirect NSURLSession offered was followed (within the policy).
// Now the same statuses as the curl engine (core/redirect_policy.h): 301, 302, 303, 307, 308. Any
// other is declined without a cancel, so NSURLSession delivers it, body and all, as the answer
// (test_httpRedirectDontFollowUsingNil).
// fetch's redirect: 'manual' (TaskRequest::manualRedirects): willPerformHTTPRedirection: is
// declined without a cancel for every status, so the 3xx is the task's response and body.
CASE(manual_redirects_declined) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  NsTaskId ns = 40;
  for (int status : {301, 302, 303, 307, 308}) {
    TaskRequest r = Data(ns, "https://example.test/from");
    r.manualRedirects = true;
    Start(m, r, ns);
    Commands commands;
    CHECK(!m.OnRedirect(ns, status, "https://example.test/from", "https://example.test/to", &commands));
    CHECK(commands.empty());
    CHECK(m.OnResponse(ns, Head(status, "https://example.test/from")));
    m.OnData(ns, "moved", 5);
    m.OnComplete(ns, Done());
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == 0 && done->statusCode == status && done->responseBody == "moved");
    ++ns;
  }
}

CASE(redirect_statuses) {
  TempDir dir;
  Recorder sink;
  AppleSessionModel m(Config(), false, dir.path, &sink);
  NsTaskId ns = 30;
  for (int status : {300, 301, 302, 303, 304, 305, 306, 307, 308}) {
    Start(m, Data(ns, "https://example.test/from"), ns);
    Commands commands;
    bool follow = m.OnRedirect(ns, status, "https://example.test/from", "https://example.test/to", &commands);
    CHECK(commands.empty());
    bool followable = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    CHECK(follow == followable);
    ResponseHead head = Head(follow ? 200 : status, follow ? "https://example.test/to" : "https://example.test/from");
    CHECK(m.OnResponse(ns, head));
    m.OnData(ns, "body", 4);
    m.OnComplete(ns, Done());
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done->taskIdentifier == ns && done->errorCode == 0 && done->statusCode == head.status &&
          done->responseBody == "body");
    ++ns;
  }
  // The policy still refuses a followable redirect, with a cancel and its own code.
  Start(m, Data(ns, "https://example.test/from"), ns);
  Commands commands;
  CHECK(!m.OnRedirect(ns, 302, "https://example.test/from", "ftp://example.test/to", &commands));
  CHECK(commands.size() == 1 && commands[0].action == TaskAction::Cancel);
  m.OnComplete(ns, Done(kNSURLErrorCancelled));
  CHECK(sink.Last(EventType::TaskCompleted)->errorCode == kNSURLErrorUnsupportedURL);
}

// Issue 16, item 5. Old rule: progress the throttle held back went out only with the next
// callback, so a burst followed by a stall left its last bytes unreported. Now the model asks
// the adapter for a timer (TakeProgressTimer) and reports them when it fires (OnProgressTimer).
CASE(held_progress_flushed_by_timer) {
  TempDir dir;
  Recorder sink;
  SessionConfig config = Config();
  config.progressIntervalMs = 60000;  // every second report inside one callback burst is held
  AppleSessionModel m(config, false, dir.path, &sink);
  int64_t delay = -1;
  CHECK(!m.TakeProgressTimer(&delay));  // nothing held
  Start(m, Download(1, dir.path), 10);
  CHECK(m.OnResponse(10, Head(200, "http://example.test/file.bin", 20)));
  m.OnData(10, "0123456789", 10);
  m.OnData(10, "0123456789", 10);
  CHECK(sink.Count(EventType::DownloadProgress) == 1 && sink.Last(EventType::DownloadProgress)->totalBytes == 10);
  CHECK(m.TakeProgressTimer(&delay) && delay > 0 && delay <= 60000);
  CHECK(!m.TakeProgressTimer(&delay));                  // armed already
  m.OnProgressTimer(std::chrono::steady_clock::now());  // too early: still held, a new timer
  CHECK(sink.Count(EventType::DownloadProgress) == 1);
  CHECK(m.TakeProgressTimer(&delay));
  m.OnProgressTimer(std::chrono::steady_clock::now() + std::chrono::seconds(61));
  CHECK(sink.Count(EventType::DownloadProgress) == 2 && sink.Last(EventType::DownloadProgress)->totalBytes == 20);
  CHECK(!m.TakeProgressTimer(&delay));
  // Upload progress alike.
  TaskRequest up = Data(2);
  up.kind = TaskKind::Upload;
  up.method = "POST";
  up.bodySource = BodySource::Memory;
  up.bodyBytes = std::string(10, 'u');
  Start(m, up, 11);
  m.OnBodySent(11, 4, 10);
  m.OnBodySent(11, 8, 10);
  CHECK(sink.Last(EventType::UploadProgress)->totalBytes == 4);
  CHECK(m.TakeProgressTimer(&delay));
  m.OnProgressTimer(std::chrono::steady_clock::now() + std::chrono::seconds(61));
  CHECK(sink.Last(EventType::UploadProgress)->totalBytes == 8);
  m.OnComplete(10, Done());
  m.OnComplete(11, Done());
}

// Item 7. Old rule: a stream: true data task became a download task in background sessions and
// its body was read into responseBody (where a streamed task never looks): an empty stream.
CASE(background_stream) {
  TempDir dir;
  Recorder sink;
  AppleSessionModel m(Config(), true, dir.path, &sink);
  TaskRequest r = Data(1);
  r.streamBody = true;
  StartPlan plan = Start(m, r, 10);
  CHECK(plan.type == NsTaskType::Download);
  std::string body(200000, 'b');
  m.OnFinishedDownload(10, DaemonFile(dir, body), Head(200, "http://example.test/data"));
  m.OnComplete(10, Done());
  std::string streamed;
  for (const Event& e : sink.events) {
    if (e.type == EventType::BodyData) streamed += e.responseBody;
  }
  CHECK(streamed == body);
  CHECK(sink.IndexOf(EventType::Response) < sink.IndexOf(EventType::BodyData));
  CHECK(sink.Last(EventType::TaskCompleted)->errorCode == 0 &&
        sink.Last(EventType::TaskCompleted)->responseBody.empty());
}

// Item 12. Old rule: cancel used -cancel, so cancelByProducingResumeData() resolved null in
// background mode, and stored resume data (:77-80) was never handed to downloadTaskWithResumeData:.
CASE(background_resume_data) {
  for (int order = 0; order < 2; ++order) {
    TempDir dir;
    Recorder sink;
    Fakes fakes;
    AppleSessionModel m(Config(), true, dir.path, &sink);
    TaskRequest r = Download(1, dir.path);
    r.keepPartialOnFailure = true;
    Start(m, r, 10);
    fakes.Perform(m.OnDownloadProgress(10, 100, 1000, nullptr));
    fakes.Perform(m.Cancel(1));
    CHECK(fakes.tasks[10].cancelledForResumeData);
    CHECK(m.Cancel(1).empty());  // a second cancel while the resume data is produced: nothing
    // cancelByProducingResumeData:'s handler and didCompleteWithError: in either order.
    if (order == 0) {
      m.OnComplete(10, Done(kNSURLErrorCancelled));
      CHECK(sink.Count(EventType::TaskCompleted) == 0);
      m.OnResumeDataProduced(10, "opaque-blob");
    } else {
      m.OnResumeDataProduced(10, "opaque-blob");
      m.OnComplete(10, Done(kNSURLErrorCancelled));
    }
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == kNSURLErrorCancelled);
    CHECK(done->validator == kAppleResumeDataValidator && done->partialBytes > 0);
    CHECK(Read(done->partialPath) == "opaque-blob");
    // JS resumes: downloadTaskWithResumeData: with the blob; the file is spent once created.
    TaskRequest again = Download(2, dir.path);
    again.resumePartialPath = done->partialPath;
    again.resumeIdentity = done->partialIdentity;
    again.resumeValidator = done->validator;
    again.resumeOffset = done->partialBytes;
    std::string path = done->partialPath;
    StartPlan plan = Start(m, again, 11);
    CHECK(plan.type == NsTaskType::DownloadWithResumeData && plan.resumeData == "opaque-blob");
    CHECK(!Exists(path));
  }
  // A failure (not a cancel) carries NSURLSessionDownloadTaskResumeData in the error.
  TempDir dir;
  Recorder sink;
  AppleSessionModel m(Config(), true, dir.path, &sink);
  TaskRequest r = Download(1, dir.path);
  r.keepPartialOnFailure = true;
  Start(m, r, 10);
  Completion lost = Done(kNSURLErrorNetworkConnectionLost);
  lost.resumeData = "from-userInfo";
  m.OnComplete(10, lost);
  CHECK(Read(sink.Last(EventType::TaskCompleted)->partialPath) == "from-userInfo");
  // A default session given such resume data starts over instead of appending to the blob.
  std::string blob = sink.Last(EventType::TaskCompleted)->partialPath;
  AppleSessionModel d(Config(), false, dir.path, &sink);
  TaskRequest again = Download(2, dir.path);
  again.resumePartialPath = blob;
  again.resumeIdentity = sink.Last(EventType::TaskCompleted)->partialIdentity;
  again.resumeValidator = kAppleResumeDataValidator;
  again.resumeOffset = 1;
  StartPlan plan = d.PlanStart(again);
  CHECK(plan.create && plan.type == NsTaskType::Data);
  for (const auto& h : plan.headers) CHECK(h.first != "Range");
  CHECK(!Exists(blob));
  // The other way: a portable partial file given to a background session is not continued by
  // nsurlsessiond, so it is removed instead of left behind; a resume-data file that is no longer
  // the one named (swapped for another file) is never read.
  KeptPartial kept = Keep(dir, "");
  CHECK(!kept.path.empty());
  const std::string& partial = kept.path;
  const FileIdentity& identity = kept.identity;
  TaskRequest portable = ResumeOf(3, dir, kept, 10, "\"etag\"");
  portable.keepPartialOnFailure = false;
  CHECK(m.PlanStart(portable).type == NsTaskType::Download);
  CHECK(!Exists(partial));
  std::string swapped = dir.File("swapped", "not resume data");
  TaskRequest forged = Download(4, dir.path);
  forged.resumePartialPath = swapped;
  forged.resumeIdentity = identity.ToString();
  forged.resumeValidator = kAppleResumeDataValidator;
  StartPlan refused = m.PlanStart(forged);
  CHECK(refused.type == NsTaskType::Download && refused.resumeData.empty());
  CHECK(Read(swapped) == "not resume data");
}

// Item 1. Old rule (:967-971): Shutdown called finishTasksAndInvalidate on background sessions
// and dropped every task, so a download finishing after the environment went away was deleted.
CASE(background_shutdown_keeps_placing) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  StartPlan plan = Start(m, Download(1, dir.path), 10);
  CHECK(!m.Shutdown());  // not invalidated
  size_t before = sink.events.size();
  Enter(m, fakes, 10, plan.tag);
  m.OnFinishedDownload(10, DaemonFile(dir, "late"), Head(200, "http://example.test/file.bin"));
  m.OnComplete(10, Done());
  CHECK(Read(dir.path + "/file.bin") == "late");
  CHECK(sink.events.size() == before);  // silent: nobody listens any more
  AppleSessionModel d(Config(), false, dir.path, &sink);
  CHECK(d.Shutdown());   // default sessions are cancelled
  CHECK(!d.Shutdown());  // once
}

// Items 8, 9, 20, 21: the configuration decisions.
CASE(configuration_plan) {
  SessionConfig config = Config();
  config.persistent = true;
  CHECK(UsesBackgroundConfiguration(config, true));
  CHECK(!UsesBackgroundConfiguration(config, false));  // plain node: emulated
  config.persistent = false;
  CHECK(!UsesBackgroundConfiguration(config, true));
  config.timeoutIntervalForRequest = 0;
  config.timeoutIntervalForResource = 0;
  AppleConfigurationPlan plan = PlanConfiguration(config, false);
  CHECK(plan.kind == AppleSessionKind::Ephemeral);
  CHECK(plan.requestTimeout == kAppleNoTimeoutSeconds);  // item 20: 0 is "none", as on Linux
  CHECK(plan.resourceTimeout == kAppleNoTimeoutSeconds);
  plan = PlanConfiguration(config, true);
  CHECK(plan.kind == AppleSessionKind::Background);
  CHECK(plan.resourceTimeout == kBackgroundResourceTimeoutSeconds);  // item 8: finite
  config.timeoutIntervalForRequest = 5;
  config.timeoutIntervalForResource = 30;
  plan = PlanConfiguration(config, true);
  CHECK(plan.requestTimeout == 5 && plan.resourceTimeout == 30);
  // Issue 16, item 4: Infinity and values past about three years are "none" too, never handed
  // to NSURLSession as they are (core/timeouts.h); fractions stay as they are.
  config.timeoutIntervalForRequest = std::numeric_limits<double>::infinity();
  config.timeoutIntervalForResource = 1e12;
  plan = PlanConfiguration(config, false);
  CHECK(plan.requestTimeout == kAppleNoTimeoutSeconds && plan.resourceTimeout == kAppleNoTimeoutSeconds);
  config.timeoutIntervalForRequest = 0.25;
  CHECK(PlanConfiguration(config, false).requestTimeout == 0.25);
  {
    TempDir dir;
    Recorder sink;
    AppleSessionModel m(Config(), false, dir.path, &sink);
    TaskRequest r = Data(1);
    r.timeout = std::numeric_limits<double>::infinity();
    CHECK(m.PlanStart(r).timeout == kAppleNoTimeoutSeconds);  // the task's own: none
    r.taskIdentifier = 2;
    r.timeout = 0.5;
    CHECK(m.PlanStart(r).timeout == 0.5);
    r.taskIdentifier = 3;
    r.timeout = 0;
    CHECK(m.PlanStart(r).timeout == 0);  // 0: the session's
  }
  // Item 21: the reserved headers leave HTTPAdditionalHeaders and go onto each request.
  config.additionalHeaders = {{"Authorization", "Bearer t"}, {"X-Trace", "1"}, {"host", "h"}};
  plan = PlanConfiguration(config, false);
  CHECK(plan.additionalHeaders.size() == 1 && plan.additionalHeaders[0].first == "X-Trace");
  TempDir dir;
  Recorder sink;
  AppleSessionModel m(config, false, dir.path, &sink);
  TaskRequest r = Data(1);
  r.headers = {{"HOST", "mine"}};
  StartPlan start = m.PlanStart(r);
  CHECK(start.headers.size() == 2);
  CHECK(start.headers[0].first == "HOST" && start.headers[1].first == "Authorization");
  // Item 9: credentials, an https: proxy, curl's NO_PROXY semantics.
  config.proxyMode = ProxyMode::Explicit;
  config.proxyUrl = "http://us%40er:p%3Ass@proxy.test";
  config.noProxy = "example.com, .internal ,";
  plan = PlanConfiguration(config, false);
  CHECK(plan.refusal == 0 && plan.proxy.explicitly && plan.proxy.host == "proxy.test" && plan.proxy.port == 1080);
  CHECK(plan.proxy.user == "us@er" && plan.proxy.password == "p:ss");
  CHECK(AnswersProxyChallenge(plan.proxy, 0) && !AnswersProxyChallenge(plan.proxy, 1));
  CHECK((plan.proxy.exceptions == std::vector<std::string>{"example.com", "*.example.com", "internal", "*.internal"}));
  config.noProxy = "*";
  CHECK(PlanConfiguration(config, false).proxy.direct);
  config.proxyUrl = "https://proxy.test:443";
  plan = PlanConfiguration(config, false);
  CHECK(plan.refusal == kNSURLErrorUnsupportedURL);
  AppleSessionModel refused(config, false, dir.path, &sink);
  CHECK(!refused.PlanStart(Data(2)).create);
  CHECK(sink.Last(EventType::TaskCompleted)->errorCode == kNSURLErrorUnsupportedURL);
}

// Item 10. Old rule (:666): cookies went to sharedCookieStorageForGroupContainerIdentifier:
// <session identifier>, an app-group store outside stateDirectory shared with anything naming
// that string. Now the session's own store lives in stateDirectory/cookies.txt, in the format
// the curl engine's jar has: a jar libcurl wrote is read, and what is written reads back.
CASE(cookie_jar_file) {
  TempDir dir;
  SessionConfig config = Config();
  CHECK(CookieJarFile(config).empty());  // no stateDirectory: in memory only
  config.stateDirectory = dir.path;
  CHECK(CookieJarFile(config) == dir.path + "/cookies.txt");
  CHECK(PlanConfiguration(config, false).cookieJar == dir.path + "/cookies.txt");
  config.cookieAcceptPolicy = CookieAcceptPolicy::Never;
  CHECK(CookieJarFile(config).empty());
  const std::string curl =
      "# Netscape HTTP Cookie File\n# https://curl.se/docs/http-cookies.html\n"
      "# This file was generated by libcurl! Edit at your own risk.\n\n"
      "#HttpOnly_.example.test\tTRUE\t/\tTRUE\t4102444800\tsid\tabc=1\n"
      "127.0.0.1\tFALSE\t/api\tFALSE\t0\tsession\tv\n"
      "old.test\tFALSE\t/\tFALSE\t1000\tgone\tx\n"
      "broken line without tabs\n"
      "bad.test\tMAYBE\t/\tFALSE\t0\tn\tv\r\n";
  std::vector<JarCookie> cookies = ParseCookieJar(curl, 2000000000);
  CHECK(cookies.size() == 2);
  CHECK(cookies[0].httpOnly && cookies[0].includeSubdomains && cookies[0].secure &&
        cookies[0].domain == "example.test");
  CHECK(cookies[0].expires == 4102444800 && cookies[0].name == "sid" && cookies[0].value == "abc=1");
  CHECK(!cookies[1].httpOnly && !cookies[1].includeSubdomains && cookies[1].path == "/api" && cookies[1].expires == 0);
  std::string written = WriteCookieJar(cookies);
  std::vector<JarCookie> back = ParseCookieJar(written, 2000000000);
  CHECK(back.size() == 2 && back[0].name == "sid" && back[0].httpOnly && back[1].path == "/api");
  CHECK(written.find("#HttpOnly_.example.test\tTRUE\t/\tTRUE\t4102444800\tsid\tabc=1\n") != std::string::npos);
  std::string jar = dir.path + "/cookies.txt";
  CHECK(ReplaceFile(jar, written) == 0);
  struct stat st;
  CHECK(stat(jar.c_str(), &st) == 0 && (st.st_mode & 0777) == 0600);
  CHECK(Read(jar) == written);
  // A value with a tab or newline cannot be written safely: it is left out, not split.
  JarCookie evil;
  evil.domain = "x.test";
  evil.name = "n";
  evil.value = "a\nb.test\tFALSE";
  CHECK(ParseCookieJar(WriteCookieJar({evil}), 0).empty());
}

// The pin's input, moved out of the .mm into spki_der.cc: the DER SubjectPublicKeyInfo built
// around the raw key Security.framework gives must be byte for byte what OpenSSL writes (these
// vectors: `openssl ec|rsa -pubout -outform DER` and `-RSAPublicKey_out` of generated keys), or
// no pin would ever match. 2048-bit RSA exercises DER's two-byte lengths.
CASE(spki_der) {
  auto hex = [](const char* text) {
    std::string out;
    for (size_t i = 0; text[i] != '\0' && text[i + 1] != '\0'; i += 2)
      out.push_back(static_cast<char>(std::stoi(std::string(text + i, 2), nullptr, 16)));
    return out;
  };
  const std::string ecSpki =
      hex("3059301306072a8648ce3d020106082a8648ce3d030107034200044e58c348eb8213079b96443dcd7d18f722581d7394"
          "74a189df1345fd1a580eb8d1e6a31afc3613fe6d5cfbc50f816610646f9315aefca95b3826caff03389ad9");
  const std::string ec384Spki =
      hex("3076301006072a8648ce3d020106052b81040022036200042643e0d18800c31e4cd6fa723b5a6bc0d21f8e391bc7a9c7"
          "47f9455c0e611f71adb6c246475175d8008445badfa4f5586d72a0b1b1e0e04fdb532e73463a62d778ae724791ae469d"
          "0c0623f00a7a40d8cf5e561b4a44aa9b419fb2060ebd41dc");
  const std::string rsaPkcs1 =
      hex("3082010a0282010100d644c85c8395018b2cf964796d23eced77790823b2c62e43403e1f75a18fb3f2455923fb92303a"
          "8c435635209957676be8ff73511f860f092363e33f6a041dbedeaed6432e1981a6b87e8e1c4c20db01317d021703225a"
          "d7a7a01d8a539777d9d9d0c7d250b08b5fa40b35369f4b01b15068dae367f3806bbb67e845b260ebda3c98f53f151728"
          "be63a1421efe02a8ceef3436df644010b22ef284dcde981bd37e9c6b6a3871845d29ab80c658b1e2f6b9a851e67c1ac4"
          "df5aad18b2db80d3c554635d10a93ef0032883bb60af590aef37ff09746584e4ce592df36822f2a79e1469b8224bfee7"
          "f3817dfb1b4281895ca5208e7b726d8b04184f7fbfea7a5eed0203010001");
  const std::string rsaSpki =
      hex("30820122300d06092a864886f70d01010105000382010f003082010a0282010100d644c85c8395018b2cf964796d23ec"
          "ed77790823b2c62e43403e1f75a18fb3f2455923fb92303a8c435635209957676be8ff73511f860f092363e33f6a041d"
          "bedeaed6432e1981a6b87e8e1c4c20db01317d021703225ad7a7a01d8a539777d9d9d0c7d250b08b5fa40b35369f4b01"
          "b15068dae367f3806bbb67e845b260ebda3c98f53f151728be63a1421efe02a8ceef3436df644010b22ef284dcde981b"
          "d37e9c6b6a3871845d29ab80c658b1e2f6b9a851e67c1ac4df5aad18b2db80d3c554635d10a93ef0032883bb60af590a"
          "ef37ff09746584e4ce592df36822f2a79e1469b8224bfee7f3817dfb1b4281895ca5208e7b726d8b04184f7fbfea7a5e"
          "ed0203010001");
  CHECK(SubjectPublicKeyInfo(SpkiKeyType::Ec, 256, ecSpki.substr(ecSpki.size() - 65)) == ecSpki);
  CHECK(SubjectPublicKeyInfo(SpkiKeyType::Ec, 384, ec384Spki.substr(ec384Spki.size() - 97)) == ec384Spki);
  CHECK(SubjectPublicKeyInfo(SpkiKeyType::Rsa, 2048, rsaPkcs1) == rsaSpki);
  CHECK(SubjectPublicKeyInfo(SpkiKeyType::Ec, 224, std::string(57, '\x04')).empty());  // a curve we cannot name
  CHECK(SubjectPublicKeyInfo(SpkiKeyType::Other, 256, "x").empty());
}

// Speed limits (issue 18): a default-session task that got ahead of its limit is suspended, and
// the progress timer resumes it once its pacer allows; never earlier.
CASE(speed_limit_suspends_until_the_pacer_allows) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  TaskRequest r = Data(1);
  r.maximumBytesPerSecond = 100'000;
  Start(m, r, 10);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(m.OnResponse(10, Head(200, "http://example.test/data")));
  std::string chunk(50'000, 'x');  // half a second's worth
  fakes.Perform(m.OnData(10, chunk.data(), chunk.size(), t0));
  CHECK(fakes.tasks[10].suspendCount == 1);
  int64_t delayMs = 0;
  CHECK(m.TakeProgressTimer(&delayMs));
  CHECK(delayMs > 300 && delayMs <= 500);
  fakes.Perform(m.OnProgressTimer(t0 + std::chrono::milliseconds(300)));
  CHECK(fakes.tasks[10].suspendCount == 1);  // too early: still held, and another timer asked
  CHECK(m.TakeProgressTimer(&delayMs));
  fakes.Perform(m.OnProgressTimer(t0 + std::chrono::milliseconds(520)));
  CHECK(fakes.tasks[10].suspendCount == 0);
  // The user's suspend outlives the pacer's hold.
  fakes.Perform(m.OnData(10, chunk.data(), chunk.size(), t0 + std::chrono::milliseconds(520)));
  CHECK(fakes.tasks[10].suspendCount == 1);
  fakes.Perform(m.Suspend(1));
  fakes.Perform(m.OnProgressTimer(t0 + std::chrono::seconds(2)));
  CHECK(fakes.tasks[10].suspendCount == 1);
  fakes.Perform(m.Resume(1));
  CHECK(fakes.tasks[10].suspendCount == 0);
}

// The session's limit is shared: two tasks each get half of it; when one ends, the other gets all.
CASE(session_speed_limit_shared_by_running_tasks) {
  SessionConfig config = Config();
  config.maximumBytesPerSecond = 200'000;
  Scene scene(false, config);
  auto& [dir, sink, fakes, m] = scene;
  Start(m, Data(1), 10);
  Start(m, Data(2), 11);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(m.OnResponse(10, Head(200, "http://example.test/data")));
  CHECK(m.OnResponse(11, Head(200, "http://example.test/data")));
  std::string chunk(50'000, 'x');
  fakes.Perform(m.OnData(10, chunk.data(), chunk.size(), t0));
  fakes.Perform(m.OnData(11, chunk.data(), chunk.size(), t0));
  CHECK(fakes.tasks[10].suspendCount == 1 && fakes.tasks[11].suspendCount == 1);
  // 50 kB at 100 kB/s each: held for half a second, not the quarter 200 kB/s would allow.
  fakes.Perform(m.OnProgressTimer(t0 + std::chrono::milliseconds(300)));
  CHECK(fakes.tasks[10].suspendCount == 1 && fakes.tasks[11].suspendCount == 1);
  fakes.Perform(m.OnProgressTimer(t0 + std::chrono::milliseconds(520)));
  CHECK(fakes.tasks[10].suspendCount == 0 && fakes.tasks[11].suspendCount == 0);
  m.OnComplete(11, Done());
  // Alone now: 50 kB at the whole 200 kB/s is a quarter of a second.
  auto t1 = t0 + std::chrono::seconds(1);
  fakes.Perform(m.OnData(10, chunk.data(), chunk.size(), t1));
  CHECK(fakes.tasks[10].suspendCount == 1);
  fakes.Perform(m.OnProgressTimer(t1 + std::chrono::milliseconds(270)));
  CHECK(fakes.tasks[10].suspendCount == 0);
}

// A limit raised while a task is held shortens the wait; lifted, the task runs free.
CASE(speed_limit_changed_while_held) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  TaskRequest r = Data(1);
  r.maximumBytesPerSecond = 10'000;
  Start(m, r, 10);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(m.OnResponse(10, Head(200, "http://example.test/data")));
  std::string chunk(100'000, 'x');  // ten seconds' worth at 10 kB/s
  fakes.Perform(m.OnData(10, chunk.data(), chunk.size(), t0));
  CHECK(fakes.tasks[10].suspendCount == 1);
  m.SetSpeedLimit(1, 1'000'000, t0);  // ... a tenth of a second at 1 MB/s
  int64_t delayMs = 0;
  CHECK(m.TakeProgressTimer(&delayMs));
  CHECK(delayMs <= 100);
  fakes.Perform(m.OnProgressTimer(t0 + std::chrono::milliseconds(120)));
  CHECK(fakes.tasks[10].suspendCount == 0);
  m.SetSpeedLimit(1, 0, t0 + std::chrono::milliseconds(120));
  for (int i = 0; i < 20; ++i) fakes.Perform(m.OnData(10, chunk.data(), chunk.size(), t0));
  CHECK(fakes.tasks[10].suspendCount == 0);
  m.OnComplete(10, Done());
  CHECK(sink.Last(EventType::TaskCompleted)->responseBody.size() == 21 * chunk.size());
}

// Uploads are paced by the bytes NSURLSession reports sent.
CASE(speed_limit_paces_uploads) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  TaskRequest r = Data(1);
  r.method = "POST";
  r.bodySource = BodySource::Memory;
  r.bodyBytes = std::string(200'000, 'u');
  r.maximumBytesPerSecond = 100'000;
  Start(m, r, 10);
  auto t0 = std::chrono::steady_clock::now();
  fakes.Perform(m.OnBodySent(10, 20'000, 200'000, t0));  // a fifth of a second's worth
  CHECK(fakes.tasks[10].suspendCount == 1);
  fakes.Perform(m.OnProgressTimer(t0 + std::chrono::milliseconds(150)));
  CHECK(fakes.tasks[10].suspendCount == 1);
  fakes.Perform(m.OnProgressTimer(t0 + std::chrono::milliseconds(210)));
  CHECK(fakes.tasks[10].suspendCount == 0);
}

// Background sessions are not paced: nsurlsessiond moves their bytes, and a suspended
// background task may not continue soon (the README says so).
CASE(background_sessions_not_paced) {
  SessionConfig config = Config();
  config.maximumBytesPerSecond = 1'000;
  Scene scene(true, config);
  auto& [dir, sink, fakes, m] = scene;
  TaskRequest r = Data(1);
  r.maximumBytesPerSecond = 1'000;
  Start(m, r, 10);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(m.OnResponse(10, Head(200, "http://example.test/data")));
  std::string chunk(100'000, 'x');
  fakes.Perform(m.OnData(10, chunk.data(), chunk.size(), t0));
  CHECK(fakes.tasks[10].suspendCount == 0);
}

// --- Streamed request bodies (apple_body_stream.h) ---

// A streamed task as apple_engine.mm starts one: the engine opens its stream (JS thread) before
// the StartTask block plans it.
std::shared_ptr<BodyStream> StartStreamed(AppleSessionModel& m, uint64_t id, NsTaskId ns, int64_t length = -1,
                                          StartPlan* planned = nullptr) {
  std::shared_ptr<BodyStream> stream = m.bodyStreams().Open(id, length);
  TaskRequest r = Data(id);
  r.method = "POST";
  r.bodySource = BodySource::Stream;
  r.streamedBodyLength = length;
  StartPlan plan = Start(m, r, ns);
  if (planned != nullptr) *planned = plan;
  return stream;
}

// What the delegate's writer puts into the output end while it has room (`room` bytes per
// write, of which the output end takes at most `takes`), until the model says to stop.
AppleBodyStream::Step Drain(AppleSessionModel& m, Fakes& fakes, NsTaskId ns, std::string* written, size_t room = 8,
                            size_t takes = 8) {
  for (;;) {
    Commands commands;
    AppleBodyStream::Next next = m.OnBodySpace(ns, room, &commands);
    fakes.Perform(commands);
    if (next.step != AppleBodyStream::Step::Write) return next.step;
    size_t taken = std::min(next.length, takes);
    written->append(next.data, taken);
    m.OnBodyWritten(ns, taken);
  }
}

// The first needNewBodyStream gets the bound pair's input end; the second (NSURLSession.h: a
// 307/308 redirect or an authentication retry sends the body again) cannot be answered from
// bytes that are gone: the task is cancelled and completes with -1021, not -999.
CASE(streamed_body_second_stream_refused) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  StartPlan plan;
  StartStreamed(m, 1, 10, 11, &plan);
  CHECK(plan.create);
  CHECK(plan.type == NsTaskType::UploadStreamed);
  bool declared = false;
  for (const auto& h : plan.headers) declared |= h.first == "Content-Length" && h.second == "11";
  CHECK(declared);
  Commands commands;
  CHECK(m.OnNeedNewBodyStream(10, &commands));
  CHECK(commands.empty());
  CHECK(!m.OnNeedNewBodyStream(10, &commands));
  fakes.Perform(commands);
  CHECK(fakes.tasks[10].cancelled);
  m.OnComplete(10, Done(kNSURLErrorCancelled));
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == kNSURLErrorRequestBodyStreamExhausted);
  CHECK(!m.bodyStreams().Find(1));  // forgotten: JS's next write is dropped
}

// JS's chunks reach the output end in order, whole, also when it takes fewer bytes than offered;
// an empty queue waits until JS writes (BodyArrived names the task), the end closes the output
// end. BodyWanted comes once the queue JS filled to its high-water mark has drained.
CASE(streamed_body_data_flow) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  std::shared_ptr<BodyStream> stream = StartStreamed(m, 1, 10);
  Commands commands;
  CHECK(m.OnNeedNewBodyStream(10, &commands));
  std::string written;
  CHECK(Drain(m, fakes, 10, &written) == AppleBodyStream::Step::Wait);
  CHECK(m.BodyArrived(1) == 10);
  BodyStream::WriteResult w = stream->Write("first,", BodyStreamEnd::None);
  CHECK(w.wantsMore && w.wakeConsumer);
  CHECK(stream->Write("second,", BodyStreamEnd::None).wantsMore);
  CHECK(Drain(m, fakes, 10, &written, 8, 3) == AppleBodyStream::Step::Wait);
  CHECK(written == "first,second,");
  CHECK(sink.Count(EventType::BodyWanted) == 0);
  std::string big(static_cast<size_t>(kBodyStreamHighWaterBytes), 'b');
  CHECK(!stream->Write(big, BodyStreamEnd::None).wantsMore);  // full: JS waits for BodyWanted
  CHECK(Drain(m, fakes, 10, &written, 64 * 1024, 64 * 1024) == AppleBodyStream::Step::Wait);
  CHECK(sink.Count(EventType::BodyWanted) == 1);
  CHECK(written.size() == 13 + big.size());
  CHECK(stream->Write("end", BodyStreamEnd::Ended).wakeConsumer);
  CHECK(Drain(m, fakes, 10, &written) == AppleBodyStream::Step::Close);
  CHECK(written.substr(written.size() - 3) == "end");
  fakes.Perform(m.OnBodySent(10, static_cast<int64_t>(written.size()), -1));
  CHECK(m.OnResponse(10, Head(200, "http://example.test/data")));
  m.OnComplete(10, Done());
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == 0 && done->statusCode == 200);
}

// JS cancels mid-stream: NSURLSession's -999 is the answer, and the stream is closed.
CASE(streamed_body_cancel_mid_stream) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  std::shared_ptr<BodyStream> stream = StartStreamed(m, 1, 10);
  Commands commands;
  CHECK(m.OnNeedNewBodyStream(10, &commands));
  CHECK(stream->Write("some", BodyStreamEnd::None).wantsMore);
  std::string written;
  CHECK(Drain(m, fakes, 10, &written) == AppleBodyStream::Step::Wait);
  fakes.Perform(m.Cancel(1));
  CHECK(fakes.tasks[10].cancelled);
  m.OnComplete(10, Done(kNSURLErrorCancelled));
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == kNSURLErrorCancelled);
  CHECK(!stream->Write("more", BodyStreamEnd::None).wantsMore);  // dropped
  CHECK(m.BodyArrived(1) == 0);
}

// JS's stream failed, or ended short of its declared Content-Length: the task is cancelled and
// completes with -1021.
CASE(streamed_body_failure) {
  for (bool shortOfLength : {false, true}) {
    Scene scene(false);
    auto& [dir, sink, fakes, m] = scene;
    std::shared_ptr<BodyStream> stream = StartStreamed(m, 1, 10, shortOfLength ? 100 : -1);
    Commands commands;
    CHECK(m.OnNeedNewBodyStream(10, &commands));
    stream->Write("abc", BodyStreamEnd::None);
    stream->Write("", shortOfLength ? BodyStreamEnd::Ended : BodyStreamEnd::Failed);
    std::string written;
    CHECK(Drain(m, fakes, 10, &written) == AppleBodyStream::Step::Fail);
    CHECK(fakes.tasks[10].cancelled);
    m.OnComplete(10, Done(kNSURLErrorCancelled));
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == kNSURLErrorRequestBodyStreamExhausted);
  }
}

// Background sessions take file uploads only: a streamed body fails before a task is made.
CASE(streamed_body_background_refused) {
  Scene scene(true);
  auto& [dir, sink, fakes, m] = scene;
  StartPlan plan;
  StartStreamed(m, 1, 10, -1, &plan);
  CHECK(!plan.create);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == kNSURLErrorRequestBodyStreamExhausted);
  CHECK(!m.bodyStreams().Find(1));
}

// --- segmented downloads of default sessions (apple_segments.h) ---

constexpr int64_t kMiB = 1 << 20;

// Deterministic bytes, so that a byte written at the wrong offset shows.
std::string Body(size_t size) {
  std::string body(size, '\0');
  uint32_t x = 2463534242u;
  for (char& c : body) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return body;
}

const char* const kSegmentedUrl = "http://example.test/file.bin";

// The first task's answer: a body that may be fetched in ranges.
ResponseHead Whole(int64_t length) {
  ResponseHead head = Head(200, kSegmentedUrl, length);
  head.headers = {{"Accept-Ranges", "bytes"}, {"ETag", "\"v1\""}, {"Content-Length", std::to_string(length)}};
  return head;
}

// A Range task's answer for [from, to).
ResponseHead Part(int64_t from, int64_t to, int64_t length, const std::string& etag = "\"v1\"") {
  ResponseHead head = Head(206, kSegmentedUrl, to - from);
  head.headers = {
      {"Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(to - 1) + "/" + std::to_string(length)},
      {"ETag", etag},
      {"Content-Length", std::to_string(to - from)}};
  return head;
}

TaskRequest Segmented(uint64_t id, const std::string& dir, int segments) {
  TaskRequest r = Download(id, dir, kSegmentedUrl);
  r.segments = segments;
  return r;
}

// A Range task the model asked for, as the adapter created it.
struct RangeTask {
  NsTaskId ns = 0;
  int64_t from = -1, to = -1;
  StartPlan plan;
};

// What the adapter does after every call into the model: creates the planned Range tasks
// (identifiers counting up from *next) and performs the commands, until no work is left.
std::vector<RangeTask> Settle(AppleSessionModel& m, Fakes& fakes, NsTaskId* next) {
  std::vector<RangeTask> created;
  for (SegmentWork work = m.TakeSegmentWork(); !work.empty(); work = m.TakeSegmentWork()) {
    for (StartPlan& plan : work.starts) {
      NsTaskId ns = ++*next;
      if (!m.SegmentTaskCreated(plan.taskIdentifier, plan.segmentRequest, ns)) {
        fakes.tasks[ns].cancelled = true;
        continue;
      }
      fakes.tasks[ns].suspendCount = plan.startSuspended ? 1 : 0;
      RangeTask task;
      task.ns = ns;
      const std::string* range = PlanHeader(plan, "Range");
      long long from = -1, last = -2;
      if (range != nullptr) std::sscanf(range->c_str(), "bytes=%lld-%lld", &from, &last);
      task.from = from;
      task.to = last + 1;
      task.plan = std::move(plan);
      created.push_back(std::move(task));
    }
    fakes.Perform(work.commands);
  }
  return created;
}

// didReceiveData: with body[from, to), in pieces as NSURLSession hands them over, settling
// after each; Range tasks planned meanwhile are added to *created.
void Feed(AppleSessionModel& m, Fakes& fakes, NsTaskId ns, const std::string& body, int64_t from, int64_t to,
          NsTaskId* next, std::vector<RangeTask>* created = nullptr) {
  for (int64_t at = from; at < to; at += 65536) {
    size_t n = static_cast<size_t>(std::min<int64_t>(65536, to - at));
    fakes.Perform(m.OnData(ns, body.data() + at, n));
    std::vector<RangeTask> more = Settle(m, fakes, next);
    if (created != nullptr) created->insert(created->end(), more.begin(), more.end());
  }
}

// The only file in `folder`: a download's partial file while it runs.
std::string OnlyFile(const std::string& folder) {
  std::string name = Entries(folder);
  return name.empty() || name.find(' ') != std::string::npos ? std::string() : folder + "/" + name;
}

// The happy path: three Range tasks with the right headers, each writing at its own offsets;
// the first task cancelled at its segment's end (NSURLSession cannot short-write); progress is
// the sum and carries the plan; the file is byte-exact once the first task's completion (our
// cancel: its success) and every segment are in.
CASE(segments_planned_and_written) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  const int64_t size = 4 * kMiB + 3;
  const std::string body = Body(size);
  NsTaskId next = 100;
  StartPlan plan = Start(m, Segmented(1, dir.path, 4), 10);
  CHECK(plan.create && plan.segmentRequest == 0);
  CHECK(m.OnResponse(10, Whole(size)));
  std::vector<RangeTask> ranges = Settle(m, fakes, &next);
  CHECK(ranges.size() == 3);
  const int64_t quarter = size / 4;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const StartPlan& p = ranges[i].plan;
    CHECK(p.create && p.type == NsTaskType::Data && p.method == "GET" && p.url == kSegmentedUrl);
    CHECK(p.taskIdentifier == 1 && p.segmentRequest != 0 && !p.startSuspended);
    CHECK(ranges[i].from == quarter * static_cast<int64_t>(i + 1));
    CHECK(ranges[i].to == (i == 2 ? size : quarter * static_cast<int64_t>(i + 2)));
    CHECK(PlanHeader(p, "If-Range") != nullptr && *PlanHeader(p, "If-Range") == "\"v1\"");
    CHECK(PlanHeader(p, "Accept-Encoding") != nullptr && *PlanHeader(p, "Accept-Encoding") == "identity");
  }
  for (const RangeTask& r : ranges) CHECK(m.OnResponse(r.ns, Part(r.from, r.to, size)));
  // Every answer is known: at its segment's end the first task is cancelled, not suspended.
  Feed(m, fakes, 10, body, 0, quarter + 65536, &next);
  CHECK(fakes.tasks[10].cancelled && fakes.tasks[10].suspendCount == 0);
  for (const RangeTask& r : ranges) Feed(m, fakes, r.ns, body, r.from, r.to, &next);
  CHECK(sink.Count(EventType::TaskCompleted) == 0);  // the first task's completion is not in yet
  const Event* progress = sink.Last(EventType::DownloadProgress);
  CHECK(progress != nullptr && progress->totalBytes == size && progress->expectedBytes == size);
  CHECK(progress->segments ==
        "0-" + std::to_string(quarter) + "-" + std::to_string(quarter) + "," + std::to_string(quarter) + "-" +
            std::to_string(2 * quarter) + "-" + std::to_string(2 * quarter) + "," + std::to_string(2 * quarter) + "-" +
            std::to_string(3 * quarter) + "-" + std::to_string(3 * quarter) + "," + std::to_string(3 * quarter) + "-" +
            std::to_string(size) + "-" + std::to_string(size));
  m.OnComplete(10, Done(kNSURLErrorCancelled));
  Settle(m, fakes, &next);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->taskIdentifier == 1 && done->errorCode == 0 && done->statusCode == 200);
  CHECK(sink.Count(EventType::DownloadCompleted) == 1);
  CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
  for (const RangeTask& r : ranges) m.OnComplete(r.ns, Done());  // late: dropped
  CHECK(sink.Count(EventType::TaskCompleted) == 1 && m.TaskCount() == 0);
}

// A default session's download of `size` bytes asking for `segments`, as far as the first
// task's 200 (one a download may split) and the Range tasks the model then planned, created by
// the adapter (Settle). `answered`: the model took that response.
struct SegmentedDownload {
  int64_t size = 0;
  std::string body;
  NsTaskId next = 100;
  std::vector<RangeTask> ranges;
};
struct SegmentedScene {
  Scene base{false};
  SegmentedDownload download;
  bool answered = false;
  SegmentedScene(int64_t size, int segments) {
    download.size = size;
    download.body = Body(size);
    Start(base.m, Segmented(1, base.dir.path, segments), 10);
    answered = base.m.OnResponse(10, Whole(size));
    download.ranges = Settle(base.m, base.fakes, &download.next);
  }
};

// Apple allows what the happy path never shows: a Range task answered 200 (the body cannot be
// fetched in ranges: collapse), bytes for it and for a Range task the model has asked to cancel
// arriving anyway (never written), and the first task waiting, suspended, at its segment's end
// until that answer came (then it goes on alone with what it read past its end).
CASE(segment_answered_200_collapses) {
  SegmentedScene scene(3 * kMiB, 3);
  auto& [dir, sink, fakes, m] = scene.base;
  auto& [size, body, next, ranges] = scene.download;
  CHECK(scene.answered);
  CHECK(ranges.size() == 2);
  CHECK(m.OnResponse(ranges[1].ns, Part(ranges[1].from, ranges[1].to, size)));
  Feed(m, fakes, ranges[1].ns, body, ranges[1].from, ranges[1].from + 65536, &next);
  // Past its end, one answer unknown: suspended, what came past its end kept.
  Feed(m, fakes, 10, body, 0, kMiB + 131072, &next);
  CHECK(fakes.tasks[10].suspendCount == 1 && !fakes.tasks[10].cancelled);
  int64_t before = sink.Last(EventType::DownloadProgress)->totalBytes;
  CHECK(before == kMiB + 65536);
  CHECK(!m.OnResponse(ranges[0].ns, Whole(size)));  // 200: NSURLSessionResponseCancel
  const std::string garbage(65536, 'X');
  fakes.Perform(m.OnData(ranges[0].ns, garbage.data(), garbage.size()));  // not the range's bytes
  m.OnComplete(ranges[0].ns, Done(kNSURLErrorCancelled));
  Settle(m, fakes, &next);
  // Collapse: the other Range task is cancelled, the first task resumed with its bytes kept.
  CHECK(fakes.tasks[ranges[1].ns].cancelled && fakes.tasks[10].suspendCount == 0);
  fakes.Perform(m.OnData(ranges[1].ns, garbage.data(), garbage.size()));  // asked to cancel: dropped
  Settle(m, fakes, &next);
  CHECK(sink.Last(EventType::DownloadProgress)->totalBytes == before);  // the dropped bytes count nowhere
  std::string partial = Read(OnlyFile(dir.path));
  CHECK(partial.size() >= static_cast<size_t>(2 * kMiB + 65536));
  CHECK(partial.compare(0, kMiB + 131072, body, 0, kMiB + 131072) == 0);
  CHECK(partial.find('X') == std::string::npos || partial.find(garbage) == std::string::npos);
  Feed(m, fakes, 10, body, kMiB + 131072, size, &next);
  m.OnComplete(10, Done());
  m.OnComplete(ranges[1].ns, Done(kNSURLErrorCancelled));
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == 0);
  CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
  CHECK(sink.Last(EventType::DownloadProgress)->segments == "0-" + std::to_string(size) + "-" + std::to_string(size));
}

// A Range task that completes with an error before any response (connection refused): its
// segment cannot come that way, so the first task fetches everything (as the curl engine does).
CASE(segment_error_before_response) {
  SegmentedScene scene(2 * kMiB + 10, 2);
  auto& [dir, sink, fakes, m] = scene.base;
  auto& [size, body, next, ranges] = scene.download;
  CHECK(scene.answered);
  CHECK(ranges.size() == 1);
  m.OnComplete(ranges[0].ns, Done(kNSURLErrorCannotConnectToHost));
  Settle(m, fakes, &next);
  Feed(m, fakes, 10, body, 0, size, &next);
  CHECK(fakes.tasks[10].suspendCount == 0 && !fakes.tasks[10].cancelled);
  m.OnComplete(10, Done());
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == 0);
  CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
}

// The first task delivers its whole body and completes while it waits at its segment's end
// (bytes keep coming while suspending, NSURLSession.h -suspend): the download waits for the
// answers; with every 206 the Range tasks write the rest, with a 200 what it read is the rest.
CASE(first_completes_before_ranges) {
  for (bool refused : {false, true}) {
    SegmentedScene scene(2 * kMiB + 5, 2);
    auto& [dir, sink, fakes, m] = scene.base;
    auto& [size, body, next, ranges] = scene.download;
    CHECK(scene.answered);
    CHECK(ranges.size() == 1);
    Feed(m, fakes, 10, body, 0, size, &next);
    CHECK(fakes.tasks[10].suspendCount == 1);
    m.OnComplete(10, Done());
    Settle(m, fakes, &next);
    CHECK(sink.Count(EventType::TaskCompleted) == 0);
    if (refused) {
      CHECK(!m.OnResponse(ranges[0].ns, Part(ranges[0].from, ranges[0].to, size, "\"v2\"")));  // another ETag
      m.OnComplete(ranges[0].ns, Done(kNSURLErrorCancelled));
    } else {
      CHECK(m.OnResponse(ranges[0].ns, Part(ranges[0].from, ranges[0].to, size)));
      CHECK(sink.Count(EventType::TaskCompleted) == 0);
      Feed(m, fakes, ranges[0].ns, body, ranges[0].from, ranges[0].to, &next);
    }
    Settle(m, fakes, &next);
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == 0);
    CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
    CHECK(m.TaskCount() == 0);
  }
}

// A Range task cut mid-range (core/segment_rules.h): asked for again from its own next offset,
// not its start, three times; a fourth cut fails the task with the transfer's error, and the
// first task and the other Range task are cancelled.
CASE(cut_segment_retried_from_offset) {
  SegmentedScene scene(3 * kMiB, 3);
  auto& [dir, sink, fakes, m] = scene.base;
  auto& [size, body, next, ranges] = scene.download;
  CHECK(scene.answered);
  CHECK(ranges.size() == 2);
  for (const RangeTask& r : ranges) CHECK(m.OnResponse(r.ns, Part(r.from, r.to, size)));
  RangeTask cut = ranges[0];
  const int64_t end = cut.to;
  for (int retry = 1; retry <= 3; ++retry) {
    Feed(m, fakes, cut.ns, body, cut.from, cut.from + 100'000, &next);
    m.OnComplete(cut.ns, Done(kNSURLErrorNetworkConnectionLost));
    std::vector<RangeTask> again = Settle(m, fakes, &next);
    CHECK(again.size() == 1);
    CHECK(again[0].from == cut.from + 100'000 && again[0].to == end);
    CHECK(sink.Count(EventType::TaskCompleted) == 0);
    cut = again[0];
    CHECK(m.OnResponse(cut.ns, Part(cut.from, cut.to, size)));
  }
  // The bytes written so far are the body's, at their offsets.
  std::string partial = Read(OnlyFile(dir.path));
  CHECK(partial.compare(kMiB, 300'000, body, kMiB, 300'000) == 0);
  Feed(m, fakes, cut.ns, body, cut.from, cut.from + 100'000, &next);
  m.OnComplete(cut.ns, Done(kNSURLErrorNetworkConnectionLost));
  CHECK(Settle(m, fakes, &next).empty());
  CHECK(fakes.tasks[10].cancelled && fakes.tasks[ranges[1].ns].cancelled);
  m.OnComplete(10, Done(kNSURLErrorCancelled));
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == kNSURLErrorNetworkConnectionLost);
  CHECK(Entries(dir.path).empty());  // not asked to keep partial files
}

// The first task cut mid-range (core/segment_rules.h, the task's own request): its segment goes
// on as a Range task of its own from the cut offset, the other segments keep their bytes, and the
// task completes once, with the first task's response and metrics, when every segment is done.
CASE(first_task_cut_continues_as_range) {
  for (int code : {kNSURLErrorNetworkConnectionLost, kNSURLErrorTimedOut}) {
    SegmentedScene scene(3 * kMiB, 3);
    auto& [dir, sink, fakes, m] = scene.base;
    auto& [size, body, next, ranges] = scene.download;
    CHECK(scene.answered);
    CHECK(ranges.size() == 2);
    for (const RangeTask& r : ranges) CHECK(m.OnResponse(r.ns, Part(r.from, r.to, size)));
    Feed(m, fakes, 10, body, 0, 100'000, &next);
    TaskMetrics metrics;
    metrics.bytesReceived = 100'000;
    m.OnMetrics(10, metrics);
    m.OnComplete(10, Done(code));
    std::vector<RangeTask> rest = Settle(m, fakes, &next);
    CHECK(rest.size() == 1);
    CHECK(rest[0].from == 100'000 && rest[0].to == kMiB);
    CHECK(PlanHeader(rest[0].plan, "If-Range") != nullptr && *PlanHeader(rest[0].plan, "If-Range") == "\"v1\"");
    CHECK(sink.Count(EventType::TaskCompleted) == 0);
    CHECK(!fakes.tasks[ranges[0].ns].cancelled && !fakes.tasks[ranges[1].ns].cancelled);
    CHECK(m.OnResponse(rest[0].ns, Part(100'000, kMiB, size)));
    Feed(m, fakes, rest[0].ns, body, 100'000, kMiB, &next);
    for (const RangeTask& r : ranges) Feed(m, fakes, r.ns, body, r.from, r.to, &next);
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == 0 && done->statusCode == 200);
    CHECK(done != nullptr && done->metrics.bytesReceived == 100'000);  // the first task's
    CHECK(sink.Count(EventType::TaskCompleted) == 1 && sink.Count(EventType::DownloadCompleted) == 1);
    CHECK(sink.Count(EventType::Response) == 1);
    CHECK(sink.IndexOf(EventType::Response) < sink.IndexOf(EventType::DownloadCompleted));
    CHECK(sink.IndexOf(EventType::DownloadCompleted) < sink.IndexOf(EventType::TaskCompleted));
    CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
    CHECK(m.TaskCount() == 0);
  }
}

// The first task cut, and its segment's Range tasks cut three times more: the retries count
// against the segment's one budget (kSegmentRetries), the fourth cut fails the task with the
// transfer's error at once (its own NSURLSessionTask is over) and the other Range task is
// cancelled. An error that is no cut (a refused certificate) fails the task as before.
CASE(first_task_cut_budget) {
  {
    SegmentedScene scene(2 * kMiB, 2);
    auto& [dir, sink, fakes, m] = scene.base;
    auto& [size, body, next, ranges] = scene.download;
    CHECK(scene.answered);
    CHECK(ranges.size() == 1);
    CHECK(m.OnResponse(ranges[0].ns, Part(kMiB, size, size)));
    Feed(m, fakes, 10, body, 0, 100'000, &next);
    m.OnComplete(10, Done(kNSURLErrorNetworkConnectionLost));
    int64_t from = 100'000;
    for (int retry = 1; retry <= 3; ++retry) {
      std::vector<RangeTask> again = Settle(m, fakes, &next);
      CHECK(again.size() == 1);
      if (again.size() != 1) return;
      CHECK(again[0].from == from && again[0].to == kMiB);
      CHECK(sink.Count(EventType::TaskCompleted) == 0);
      CHECK(m.OnResponse(again[0].ns, Part(from, kMiB, size)));
      Feed(m, fakes, again[0].ns, body, from, from + 100'000, &next);
      from += 100'000;
      m.OnComplete(again[0].ns, Done(kNSURLErrorNetworkConnectionLost));
    }
    CHECK(Settle(m, fakes, &next).empty());
    CHECK(fakes.tasks[ranges[0].ns].cancelled);
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == kNSURLErrorNetworkConnectionLost);
    CHECK(sink.Count(EventType::TaskCompleted) == 1 && sink.Count(EventType::DownloadCompleted) == 0);
    CHECK(m.TaskCount() == 0);
  }
  {
    SegmentedScene scene(2 * kMiB, 2);
    auto& [dir, sink, fakes, m] = scene.base;
    auto& [size, body, next, ranges] = scene.download;
    CHECK(scene.answered);
    CHECK(ranges.size() == 1);
    Feed(m, fakes, 10, body, 0, 100'000, &next);
    m.OnComplete(10, Done(kNSURLErrorServerCertificateUntrusted));
    CHECK(Settle(m, fakes, &next).empty());
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == kNSURLErrorServerCertificateUntrusted);
    CHECK(fakes.tasks[ranges[0].ns].cancelled);
  }
}

// A download resumed from a plan whose own Range request is cut: the same, from its next offset.
CASE(resumed_first_request_cut_continues) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  const int64_t size = 2 * kMiB;
  const std::string body = Body(size);
  NsTaskId next = 100;
  std::string kept = body.substr(0, 65536) + std::string(kMiB - 65536, '\0') + body.substr(kMiB, 65536);
  KeptPartial partial = Keep(dir, kept);
  CHECK(!partial.path.empty());
  TaskRequest r = ResumeOf(1, dir, partial, static_cast<int64_t>(kept.size()), "\"v1\"");
  r.segments = 2;
  r.resumeSegments = "0-65536-1048576,1048576-1114112-2097152";
  Start(m, r, 10);
  CHECK(m.OnResponse(10, Part(65536, kMiB, size)));
  std::vector<RangeTask> ranges = Settle(m, fakes, &next);
  CHECK(ranges.size() == 1);
  CHECK(m.OnResponse(ranges[0].ns, Part(kMiB + 65536, size, size)));
  Feed(m, fakes, 10, body, 65536, 65536 + 100'000, &next);
  m.OnComplete(10, Done(kNSURLErrorNetworkConnectionLost));
  std::vector<RangeTask> rest = Settle(m, fakes, &next);
  CHECK(rest.size() == 1);
  if (rest.size() != 1) return;
  CHECK(rest[0].from == 65536 + 100'000 && rest[0].to == kMiB);
  CHECK(m.OnResponse(rest[0].ns, Part(rest[0].from, kMiB, size)));
  Feed(m, fakes, rest[0].ns, body, rest[0].from, kMiB, &next);
  Feed(m, fakes, ranges[0].ns, body, kMiB + 65536, size, &next);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == 0);
  CHECK(sink.Count(EventType::TaskCompleted) == 1);
  CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
}

// A segment done early takes over half of the largest remaining range (SegmentPlan::ProposeSplit):
// the donor's task is cancelled at the split, the new Range task writes the second half.
CASE(segments_rebalanced) {
  SegmentedScene scene(8 * kMiB, 2);
  auto& [dir, sink, fakes, m] = scene.base;
  auto& [size, body, next, ranges] = scene.download;
  CHECK(scene.answered);
  CHECK(ranges.size() == 1 && ranges[0].from == 4 * kMiB);
  CHECK(m.OnResponse(ranges[0].ns, Part(4 * kMiB, size, size)));
  std::vector<RangeTask> splits;
  Feed(m, fakes, 10, body, 0, 4 * kMiB + 65536, &next, &splits);
  CHECK(fakes.tasks[10].cancelled);
  CHECK(splits.size() == 1 && splits[0].from == 6 * kMiB && splits[0].to == size);
  CHECK(m.OnResponse(splits[0].ns, Part(6 * kMiB, size, size)));
  std::vector<RangeTask> again;
  Feed(m, fakes, ranges[0].ns, body, 4 * kMiB, 6 * kMiB + 65536, &next, &again);
  CHECK(fakes.tasks[ranges[0].ns].cancelled);  // at the split: the rest is the new task's
  // Done early, so the new segment's range is split in turn while twice the minimum is left.
  CHECK(again.size() == 1 && again[0].from == 7 * kMiB && again[0].to == size);
  CHECK(m.OnResponse(again[0].ns, Part(7 * kMiB, size, size)));
  Feed(m, fakes, splits[0].ns, body, 6 * kMiB, 7 * kMiB + 65536, &next);
  CHECK(fakes.tasks[splits[0].ns].cancelled);
  Feed(m, fakes, again[0].ns, body, 7 * kMiB, size, &next);
  CHECK(sink.Count(EventType::TaskCompleted) == 0);
  m.OnComplete(10, Done(kNSURLErrorCancelled));
  Settle(m, fakes, &next);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == 0);
  CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
  CHECK(sink.Last(EventType::DownloadProgress)->segments ==
        "0-4194304-4194304,4194304-6291456-6291456,6291456-7340032-7340032,7340032-8388608-8388608");
}

// Resumed from a journaled plan (TaskRequest::resumeSegments): the task's own request continues
// the first unfinished segment, and every other unfinished one gets a Range task from its own
// next offset, into the same file.
CASE(segments_resumed_from_plan) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  const int64_t size = 2 * kMiB;
  const std::string body = Body(size);
  NsTaskId next = 100;
  std::string kept = body.substr(0, 65536) + std::string(kMiB - 65536, '\0') + body.substr(kMiB, 65536);
  KeptPartial partial = Keep(dir, kept);
  CHECK(!partial.path.empty());
  TaskRequest r = ResumeOf(1, dir, partial, static_cast<int64_t>(kept.size()), "\"v1\"");
  r.segments = 2;
  r.resumeSegments = "0-65536-1048576,1048576-1114112-2097152";
  StartPlan plan = Start(m, r, 10);
  CHECK(PlanHeader(plan, "Range") != nullptr && *PlanHeader(plan, "Range") == "bytes=65536-1048575");
  CHECK(m.OnResponse(10, Part(65536, kMiB, size)));
  std::vector<RangeTask> ranges = Settle(m, fakes, &next);
  CHECK(ranges.size() == 1 && ranges[0].from == kMiB + 65536 && ranges[0].to == size);
  CHECK(m.OnResponse(ranges[0].ns, Part(kMiB + 65536, size, size)));
  Feed(m, fakes, 10, body, 65536, kMiB, &next);
  Feed(m, fakes, ranges[0].ns, body, kMiB + 65536, size, &next);
  m.OnComplete(10, Done());
  Settle(m, fakes, &next);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == 0);
  CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
}

// The user's suspend, resume and cancel apply to every Range task; a Range task planned while
// the user holds the task is created suspended; a cancel after the first task ended completes
// the task at once (its own NSURLSessionTask will never complete again).
CASE(segments_follow_the_user) {
  Scene scene(false);
  auto& [dir, sink, fakes, m] = scene;
  const int64_t size = 3 * kMiB;
  const std::string body = Body(size);
  NsTaskId next = 100;
  TaskRequest r = Segmented(1, dir.path, 3);
  r.keepPartialOnFailure = true;
  Start(m, r, 10);
  fakes.Perform(m.Suspend(1));
  CHECK(m.OnResponse(10, Whole(size)));  // delivered while suspending
  std::vector<RangeTask> ranges = Settle(m, fakes, &next);
  CHECK(ranges.size() == 2 && ranges[0].plan.startSuspended && fakes.tasks[ranges[0].ns].suspendCount == 1);
  fakes.Perform(m.Resume(1));
  Settle(m, fakes, &next);
  CHECK(fakes.tasks[10].suspendCount == 0);
  for (const RangeTask& t : ranges) CHECK(fakes.tasks[t.ns].suspendCount == 0);
  fakes.Perform(m.Suspend(1));
  Settle(m, fakes, &next);
  CHECK(fakes.tasks[10].suspendCount == 1);
  for (const RangeTask& t : ranges) CHECK(fakes.tasks[t.ns].suspendCount == 1);
  fakes.Perform(m.Resume(1));
  Settle(m, fakes, &next);
  for (const RangeTask& t : ranges) CHECK(m.OnResponse(t.ns, Part(t.from, t.to, size)));
  Feed(m, fakes, 10, body, 0, kMiB + 65536, &next);
  m.OnComplete(10, Done(kNSURLErrorCancelled));  // stopped at its end: the first segment is done
  Feed(m, fakes, ranges[0].ns, body, ranges[0].from, ranges[0].from + 65536, &next);
  CHECK(sink.Count(EventType::TaskCompleted) == 0);
  fakes.Perform(m.Cancel(1));
  Settle(m, fakes, &next);
  for (const RangeTask& t : ranges) CHECK(fakes.tasks[t.ns].cancelled);
  const Event* done = sink.Last(EventType::TaskCompleted);
  CHECK(done != nullptr && done->errorCode == kNSURLErrorCancelled);
  // What is kept for a resume: the bytes from 0 without a gap (the first segment and what the
  // second had written).
  CHECK(done->partialBytes == kMiB + 65536 && !done->partialPath.empty());
  CHECK(Read(done->partialPath).compare(0, kMiB + 65536, body, 0, kMiB + 65536) == 0);
  for (const RangeTask& t : ranges) m.OnComplete(t.ns, Done(kNSURLErrorCancelled));
  CHECK(sink.Count(EventType::TaskCompleted) == 1);
  unlink(done->partialPath.c_str());
}

// A speed limit at the start: one request (it is bounded by its limit, README); set mid-run:
// the Range tasks are cancelled and the first task goes on alone. Background sessions never
// segment: nsurlsessiond owns their one file.
CASE(segments_not_paced_nor_background) {
  {
    Scene scene(false);
    auto& [dir, sink, fakes, m] = scene;
    NsTaskId next = 100;
    TaskRequest r = Segmented(1, dir.path, 4);
    r.maximumBytesPerSecond = 1'000'000;
    Start(m, r, 10);
    CHECK(m.OnResponse(10, Whole(4 * kMiB)));
    CHECK(Settle(m, fakes, &next).empty());
  }
  {
    SegmentedScene scene(3 * kMiB, 3);
    auto& [dir, sink, fakes, m] = scene.base;
    auto& [size, body, next, ranges] = scene.download;
    CHECK(scene.answered);
    CHECK(ranges.size() == 2);
    Feed(m, fakes, 10, body, 0, 65536, &next);
    m.SetSpeedLimit(1, 100 * kMiB);
    Settle(m, fakes, &next);
    for (const RangeTask& t : ranges) CHECK(fakes.tasks[t.ns].cancelled);
    Feed(m, fakes, 10, body, 65536, size, &next);
    m.OnComplete(10, Done());
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == 0);
    CHECK(Read(sink.Last(EventType::DownloadCompleted)->location) == body);
  }
  {
    Scene scene(true);
    auto& [dir, sink, fakes, m] = scene;
    NsTaskId next = 100;
    StartPlan plan = Start(m, Segmented(1, dir.path, 4), 10);
    CHECK(plan.type == NsTaskType::Download && PlanHeader(plan, "Range") == nullptr);
    ResponseHead head = Whole(4 * kMiB);
    fakes.Perform(m.OnDownloadProgress(10, 65536, 4 * kMiB, &head));
    CHECK(Settle(m, fakes, &next).empty());
    std::string file = DaemonFile(dir, Body(4 * kMiB));
    m.OnFinishedDownload(10, file, head);
    m.OnComplete(10, Done());
    CHECK(Settle(m, fakes, &next).empty());
    const Event* done = sink.Last(EventType::TaskCompleted);
    CHECK(done != nullptr && done->errorCode == 0 && sink.Count(EventType::DownloadCompleted) == 1);
    CHECK(sink.Last(EventType::DownloadProgress)->segments.empty());
  }
}

}  // namespace

int main(int argc, char** argv) { return native_cases::RunCases(argc, argv); }
