#include "core/download_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/content_disposition.h"
#include "core/error_codes.h"
#include "core/file_ops.h"
#include "core/headers.h"

namespace urlsession {
namespace {

constexpr size_t kErrorBodyLimit = 64 * 1024;  // what an HTTP error keeps of its body

}  // namespace

DownloadWriter::DownloadWriter(const TaskRequest& request)
    : request_(request),
      file_name_(request.downloadFileName.empty() ? DefaultDownloadName(request.url) : request.downloadFileName) {}

DownloadWriter::~DownloadWriter() {
  CloseFile();
  folder_.Close();
}

void DownloadWriter::CloseFile() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

namespace {

// Whether the folder part of `partialPath` is `dir` (either may end in slashes).
bool InFolder(const std::string& partialPath, const std::string& dir) {
  std::string folder = FolderName(partialPath);
  std::string given = dir;
  while (given.size() > 1 && given.back() == '/') given.pop_back();
  return folder == given;
}

}  // namespace

int DownloadWriter::Open() {
  if (!request_.resumePartialPath.empty()) {
    FileIdentity expected = FileIdentity::Parse(request_.resumeIdentity);
    // The folder first, then the file through it; lib/ only ever names a partial file inside
    // the download folder.
    if (InFolder(request_.resumePartialPath, request_.downloadDirectory) &&
        OpenFolder(request_.downloadDirectory, &folder_, /*create=*/false) == 0) {
      int fd = ReopenPartialFileAt(folder_, LeafName(request_.resumePartialPath), request_.resumeOffset, expected);
      if (fd >= 0) {
        fd_ = fd;
        partial_path_ = request_.resumePartialPath;
        identity_ = expected;
        resume_base_ = request_.resumeOffset;
        if (!request_.resumeSegments.empty() && ResumeSegments()) return 0;
        if (StartDigest()) return 0;
        CloseFile();
        resume_base_ = 0;
      }
      // Unusable: start over in a new file. The old one goes only if it is still ours; anything
      // else at that name (a link, a FIFO, somebody's file) is not touched.
      DiscardPartialFileAt(folder_, LeafName(request_.resumePartialPath), expected);
    } else {
      DiscardPartialFile(request_.resumePartialPath, expected);
    }
    folder_.Close();
    partial_path_.clear();
    identity_ = FileIdentity();
  }
  // Held from here to the end: discard and commit reach the partial file through this folder
  // even after it was renamed away (see Commit).
  int err = OpenFolder(request_.downloadDirectory, &folder_);
  if (err != 0) return NSURLErrorFromErrno(err, /*writing=*/true);
  int fd = CreatePartialFileAt(folder_, file_name_, &partial_path_, &identity_);
  if (fd < 0) return NSURLErrorFromErrno(-fd, /*writing=*/true);
  fd_ = fd;
  return StartDigest() ? 0 : kNSURLErrorUnknown;
}

// A segmented download resumed from its plan: usable when it parses, a validator makes the
// Range requests safe, something is left to fetch, and the file holds every byte the plan says
// was written (resumeOffset is the file's size). Otherwise the file starts over from zero.
bool DownloadWriter::ResumeSegments() {
  SegmentPlan plan;
  bool fits =
      SegmentPlan::Parse(request_.resumeSegments, -1, &plan) && !request_.resumeValidator.empty() && !plan.Complete();
  for (const Segment& segment : plan.segments()) {
    if (segment.next > segment.start && segment.next > resume_base_) fits = false;
  }
  if (!fits) {
    StartOver();  // the holes of an unknown plan cannot be continued in order
    return false;
  }
  segmented_ = true;
  resumed_segments_ = true;
  plan_ = std::move(plan);
  resume_base_ = 0;
  for (const Segment& segment : plan_.segments()) {
    if (segment.Done()) continue;
    resumed_segment_ = segment.start;
    break;
  }
  return true;
}

// A resumed segment's answer continues the file: a 206 for exactly its rest, of the whole
// body's length, in identity bytes, of the representation If-Range named.
bool DownloadWriter::SegmentAnswerContinues(int statusCode, const HeaderList& headers) const {
  const Segment* segment = plan_.Find(resumed_segment_);
  if (statusCode != 206 || segment == nullptr || IsContentCoded(headers)) return false;
  const std::string* range = FindHeader(headers, "Content-Range");
  std::string wanted = "bytes " + std::to_string(segment->next) + "-" + std::to_string(segment->end - 1) + "/" +
                       std::to_string(plan_.length());
  if (range == nullptr || *range != wanted) return false;
  const std::string& sent = request_.resumeValidator;
  bool entityTag = sent[0] == '"' || sent.compare(0, 2, "W/") == 0;
  const std::string* own = FindHeader(headers, entityTag ? "ETag" : "Last-Modified");
  return own == nullptr || *own == sent;
}

// A resumed download's digest must cover the bytes already in the partial file.
bool DownloadWriter::StartDigest() {
  if (!request_.integrity.Enabled()) return true;
  digest_ = CreateDigest(request_.integrity.algorithm);
  if (digest_ == nullptr) return false;
  return resume_base_ == 0 || HashFilePrefix(partial_path_, resume_base_, digest_.get()) == 0;
}

void DownloadWriter::AddResumeHeaders(HeaderList* headers) const {
  const Segment* segment = ResumedSegments() ? plan_.Find(resumed_segment_) : nullptr;
  if (resume_base_ == 0 && segment == nullptr) return;
  headers->erase(std::remove_if(headers->begin(), headers->end(),
                                [](const auto& h) {
                                  return HeaderNameEquals(h.first, "Range") || HeaderNameEquals(h.first, "If-Range") ||
                                         HeaderNameEquals(h.first, "Accept-Encoding");
                                }),
                 headers->end());
  if (segment != nullptr)  // the rest of the resumed segment only: the engine fetches the others
    headers->emplace_back("Range", "bytes=" + std::to_string(segment->next) + "-" + std::to_string(segment->end - 1));
  else
    headers->emplace_back("Range", "bytes=" + std::to_string(resume_base_) + "-");
  if (!request_.resumeValidator.empty()) headers->emplace_back("If-Range", request_.resumeValidator);
  headers->emplace_back("Accept-Encoding", "identity");
}

bool DownloadWriter::BeginResponse(int statusCode, const HeaderList& headers, int64_t contentLength) {
  status_ = statusCode;
  headers_ = headers;
  int64_t length = DeliveredLength(headers, contentLength);
  expected_ = length > 0 ? resume_base_ + length : 0;
  if (ResumedSegments()) {
    expected_ = plan_.length();
    if (SegmentAnswerContinues(statusCode, headers) || CapturingErrorBody()) return true;
    if (statusCode == 200) {
      // The whole body (a changed resource, or If-Range refused): it starts over in place.
      expected_ = length > 0 ? length : 0;
      return StartOver();
    }
    restart_wanted_ = true;
    return false;
  }
  if (resume_base_ == 0) return true;
  if (statusCode == 416 || (statusCode == 206 && !ContinuesFile(headers))) {
    restart_wanted_ = true;
    return false;
  }
  if (statusCode == 206 || CapturingErrorBody()) return true;
  // 200: the server ignored the range or the resource changed (If-Range): start over.
  expected_ = length > 0 ? length : 0;
  return StartOver();
}

// A 206 continues the file when it is the range asked for, of identity bytes, and of the
// version If-Range named as far as its own validator tells (h2o 2.2 does not evaluate If-Range
// and answers 206 for a changed file too).
bool DownloadWriter::ContinuesFile(const HeaderList& headers) const {
  const std::string* range = FindHeader(headers, "Content-Range");
  std::string expected_prefix = "bytes " + std::to_string(resume_base_) + "-";
  if (range == nullptr || range->compare(0, expected_prefix.size(), expected_prefix) != 0) return false;
  if (IsContentCoded(headers)) return false;
  const std::string& sent = request_.resumeValidator;
  if (sent.empty()) return true;
  bool entityTag = sent[0] == '"' || sent.compare(0, 2, "W/") == 0;
  const std::string* own = FindHeader(headers, entityTag ? "ETag" : "Last-Modified");
  return own == nullptr || *own == sent;
}

// The kept bytes go; the file is emptied in place (and a resumed plan with them).
bool DownloadWriter::StartOver() {
  segmented_ = false;
  resumed_segments_ = false;
  plan_ = SegmentPlan();
  staged_ = 0;
  written_ = 0;
  resume_base_ = 0;
  if (ftruncate(fd_, 0) != 0 || lseek(fd_, 0, SEEK_SET) < 0) write_errno_ = errno;
  if (request_.integrity.Enabled()) digest_ = CreateDigest(request_.integrity.algorithm);
  return write_errno_ == 0;
}

bool DownloadWriter::RestartFromZero() {
  restart_wanted_ = false;
  status_ = 0;
  headers_.clear();
  expected_ = 0;
  error_body_.clear();
  return StartOver();
}

bool DownloadWriter::CapturingErrorBody() const { return request_.discardOnHttpError && status_ >= 400; }

void DownloadWriter::SetWriteBuffer(size_t bytes) {
  staging_.reset();
  staging_capacity_ = bytes;
  staged_ = 0;
}

// The download hot path: a memcpy into the staging buffer, a write(2) when it is full; no
// allocation.
bool DownloadWriter::Write(const char* data, size_t length) {
  if (CapturingErrorBody()) {
    size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, error_body_.size());
    error_body_.append(data, std::min(room, length));
    return true;
  }
  if (write_errno_ != 0) return false;
  // The buffer is allocated once a download has written a buffer's worth directly: a trickling
  // or tiny download never pays for it (its RSS: bench/ANALYSIS.md, figures moved from comments).
  if (!staging_ && staging_capacity_ > 0 && written_ >= static_cast<int64_t>(staging_capacity_)) {
    staging_.reset(new char[staging_capacity_]);
  }
  if (!staging_) {
    if (!WriteAll(data, length)) return false;
  } else if (staged_ + length > staging_capacity_ && !Flush()) {
    return false;
  } else if (length >= staging_capacity_) {
    if (!WriteAll(data, length)) return false;
  } else {
    std::memcpy(staging_.get() + staged_, data, length);
    staged_ += length;
  }
  if (digest_) digest_->Update(data, length);
  written_ += static_cast<int64_t>(length);
  return true;
}

bool DownloadWriter::Flush() {
  if (staged_ == 0) return write_errno_ == 0;
  bool ok = WriteAll(staging_.get(), staged_);
  staged_ = 0;
  return ok;
}

bool DownloadWriter::WriteAll(const char* data, size_t length) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = write(fd_, data + done, length - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      write_errno_ = errno;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

void DownloadWriter::BeginSegments(SegmentPlan plan) {
  Flush();
  segmented_ = true;
  plan_ = std::move(plan);
  digest_.reset();  // HashSegmentedFile, once every segment is written
}

// Engine thread, in a segment's write callback.
int64_t DownloadWriter::WriteSegment(int64_t segmentStart, const char* data, size_t length) {
  if (write_errno_ != 0) return -1;
  const Segment* segment = plan_.Find(segmentStart);
  if (segment == nullptr) return 0;
  size_t fits = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(length), segment->end - segment->next));
  size_t done = 0;
  while (done < fits) {
    ssize_t n = pwrite(fd_, data + done, fits - done, static_cast<off_t>(segment->next + static_cast<int64_t>(done)));
    if (n < 0) {
      if (errno == EINTR) continue;
      write_errno_ = errno;
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  plan_.Advance(segmentStart, static_cast<int64_t>(fits));
  return static_cast<int64_t>(fits);
}

// The digest of a segmented download, over the whole file as it is on disk. The file is
// opened again for reading through the held folder (the download's own descriptor is
// write-only), never through a link, and only when it is the very file written to.
bool DownloadWriter::HashSegmentedFile() {
  if (!request_.integrity.Enabled()) return true;
  digest_ = CreateDigest(request_.integrity.algorithm);
  if (digest_ == nullptr) return false;
  int fd = openat(folder_.fd, LeafName(partial_path_).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat read_st, written_st;
  bool same = fstat(fd, &read_st) == 0 && fstat(fd_, &written_st) == 0 && S_ISREG(read_st.st_mode) &&
              read_st.st_dev == written_st.st_dev && read_st.st_ino == written_st.st_ino;
  constexpr size_t kChunk = 256 * 1024;
  std::unique_ptr<char[]> buffer(new char[kChunk]);
  for (int64_t offset = 0; same && offset < plan_.length();) {
    size_t want = static_cast<size_t>(std::min<int64_t>(kChunk, plan_.length() - offset));
    ssize_t n = pread(fd, buffer.get(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) same = false;  // shorter than its plan, or unreadable
    if (n <= 0) break;
    digest_->Update(buffer.get(), static_cast<size_t>(n));
    offset += n;
  }
  close(fd);
  return same;
}

int DownloadWriter::WriteFailureCode() const {
  if (restart_wanted_) return kNSURLErrorBadServerResponse;  // an engine that did not restart
  return write_errno_ != 0 ? NSURLErrorFromErrno(write_errno_, /*writing=*/true) : 0;
}

int DownloadWriter::Commit(const std::string& effectiveUrl, std::string* location) {
  if (!Flush()) {
    int code = WriteFailureCode();
    Abandon();
    return code;
  }
  if (segmented_ && !HashSegmentedFile()) {
    Abandon();
    return kNSURLErrorCannotOpenFile;
  }
  if (digest_) {
    const auto& accepted = request_.integrity.digests;
    if (std::find(accepted.begin(), accepted.end(), digest_->Finish()) == accepted.end()) {
      Abandon();
      return kURLSessionErrorIntegrityMismatch;
    }
  }
  // Private while partial; the finished file gets the mode the user's umask gives new files.
  if (fchmod(fd_, FinishedFileMode()) != 0) {
    int code = NSURLErrorFromErrno(errno, /*writing=*/true);
    Abandon();
    return code;
  }
  if (close(fd_) != 0) {
    fd_ = -1;
    int code = NSURLErrorFromErrno(errno, /*writing=*/true);
    Abandon();
    return code;
  }
  fd_ = -1;
  // A folder renamed away (or removed, or replaced) meanwhile is no longer where the caller
  // looks: the download fails with -3000 and its partial file goes from wherever the folder is
  // now, rather than a finished file appearing somewhere the caller's path does not lead.
  int err = CommitPartialFileAt(folder_, LeafName(partial_path_), identity_, FinalName(effectiveUrl), location,
                                request_.overwrite);
  if (err != 0) {
    Abandon();
    return err == ESTALE ? kNSURLErrorCannotCreateFile : kNSURLErrorCannotMoveFile;
  }
  partial_path_.clear();
  folder_.Close();
  return 0;
}

std::string DownloadWriter::FinalName(const std::string& effectiveUrl) const {
  if (!request_.nameFromResponse) return file_name_;
  const std::string* disposition = FindHeader(headers_, "Content-Disposition");
  std::string proposed = disposition != nullptr ? FileNameFromContentDisposition(*disposition) : std::string();
  return !proposed.empty() ? SanitizeFileName(proposed)
                           : DefaultDownloadName(effectiveUrl.empty() ? request_.url : effectiveUrl);
}

int DownloadWriter::AdoptFinishedFile(const std::string& tempPath, int statusCode, const HeaderList& headers,
                                      const std::string& effectiveUrl, std::string* location) {
  status_ = statusCode;
  headers_ = headers;
  // The OS wrote this file in its own private temp folder; still, only a regular file of ours is
  // read, hashed or moved, and it must stay the same file until it is in place.
  int fd = open(tempPath.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  FileIdentity identity = fd < 0 ? FileIdentity() : FileIdentity::OfDescriptor(fd, &st);
  if (!identity.Known() || !IsOwnPartialFile(st)) {
    if (fd >= 0) close(fd);
    return kNSURLErrorCannotOpenFile;
  }
  if (CapturingErrorBody()) {
    char buffer[16384];
    ssize_t n;
    while (error_body_.size() < kErrorBodyLimit && (n = read(fd, buffer, sizeof(buffer))) > 0) {
      error_body_.append(buffer, std::min(static_cast<size_t>(n), kErrorBodyLimit - error_body_.size()));
    }
    close(fd);
    DiscardPartialFile(tempPath, identity);
    return 0;
  }
  bool modeSet = fchmod(fd, FinishedFileMode()) == 0;
  close(fd);
  if (!modeSet) {
    DiscardPartialFile(tempPath, identity);
    return kNSURLErrorCannotWriteToFile;
  }
  if (request_.integrity.Enabled()) {
    std::unique_ptr<Digest> digest = CreateDigest(request_.integrity.algorithm);
    const auto& accepted = request_.integrity.digests;
    if (digest == nullptr || HashFilePrefix(tempPath, st.st_size, digest.get()) != 0 ||
        std::find(accepted.begin(), accepted.end(), digest->Finish()) == accepted.end()) {
      DiscardPartialFile(tempPath, identity);
      return kURLSessionErrorIntegrityMismatch;
    }
  }
  if (CommitPartialFile(tempPath, identity, request_.downloadDirectory, FinalName(effectiveUrl), location,
                        request_.overwrite) != 0) {
    DiscardPartialFile(tempPath, identity);
    return kNSURLErrorCannotMoveFile;
  }
  return 0;
}

void DownloadWriter::Fail(int code, Event* completion) {
  // Staged bytes first, so a kept partial file holds every byte it is reported to hold. If they
  // cannot be written the file is not sound and goes.
  Flush();
  CloseFile();
  bool sound = write_errno_ == 0 && code != kURLSessionErrorIntegrityMismatch;
  // An error page written nowhere, or a refused answer to the Range request (the task ended
  // before its restart), leaves the bytes of earlier attempts intact.
  bool untouched = CapturingErrorBody() || restart_wanted_;
  // A segmented file has holes: only its gapless prefix continues without the plan.
  int64_t kept = untouched ? resume_base_ : segmented_ ? plan_.ContiguousPrefix() : BytesOnDisk();
  // Kept only while its folder is still at the path resume data will name.
  if (request_.keepPartialOnFailure && sound && !partial_path_.empty() && (!untouched || kept > 0) &&
      folder_.StillAtPath()) {
    completion->partialPath = partial_path_;
    completion->partialIdentity = identity_.ToString();
    completion->partialBytes = kept;
    completion->validator = untouched ? request_.resumeValidator : ResumeValidator(headers_);
    // The plan says which bytes past the gapless prefix are there too (resume data carries it).
    if (segmented_ && !untouched) completion->segments = plan_.ToString();
    partial_path_.clear();
    folder_.Close();
    return;
  }
  Abandon();
}

void DownloadWriter::FailUnopened(const TaskRequest& request, Event* completion) {
  if (request.resumePartialPath.empty()) return;
  // A file resumed from a plan has holes (resumeOffset is its size): the plan still places its
  // bytes, and only its gapless prefix continues without it.
  int64_t kept = request.resumeOffset;
  SegmentPlan plan;
  bool planned = !request.resumeSegments.empty();
  if (planned) kept = SegmentPlan::Parse(request.resumeSegments, -1, &plan) ? plan.ContiguousPrefix() : 0;
  if (request.keepPartialOnFailure && kept > 0) {
    completion->partialPath = request.resumePartialPath;
    completion->partialIdentity = request.resumeIdentity;
    completion->partialBytes = kept;
    completion->validator = request.resumeValidator;
    if (planned) completion->segments = request.resumeSegments;
    return;
  }
  DiscardPartialFile(request.resumePartialPath, FileIdentity::Parse(request.resumeIdentity));
}

void DownloadWriter::AbandonAtShutdown(bool sessionPersists) {
  if (!sessionPersists || partial_path_.empty() || partial_path_ != request_.resumePartialPath) return Abandon();
  Flush();
  CloseFile();
  partial_path_.clear();
  folder_.Close();
}

void DownloadWriter::Abandon() {
  staged_ = 0;
  CloseFile();
  if (!partial_path_.empty()) DiscardPartialFileAt(folder_, LeafName(partial_path_), identity_);
  partial_path_.clear();
  folder_.Close();
}

}  // namespace urlsession
