// Files kept around nsurlsessiond's work (see background_files.h).
#include "apple/background_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/error_codes.h"

namespace urlsession {

const char kAppleResumeDataValidator[] = "urlsession:nsurlsession-resume-data";

namespace {

constexpr char kBodyName[] = "urlsession-body";  // CreatePartialFile makes ".<name>.<hex>.partial"

bool WriteAll(int fd, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// NSTemporaryDirectory() ends with a slash; paths are compared without it.
std::string WithoutTrailingSlash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

int WriteTemporaryBody(const std::string& temporaryDirectory, const std::string& bytes, std::string* path) {
  FileIdentity identity;
  int fd = CreatePartialFile(WithoutTrailingSlash(temporaryDirectory), kBodyName, path, &identity);
  if (fd < 0) return kNSURLErrorCannotCreateFile;
  bool written = WriteAll(fd, bytes);
  if (close(fd) != 0) written = false;
  if (written) return 0;
  DiscardPartialFile(*path, identity);
  path->clear();
  return kNSURLErrorCannotWriteToFile;
}

void RemoveTemporaryBody(const std::string& temporaryDirectory, const std::string& path) {
  const std::string prefix = WithoutTrailingSlash(temporaryDirectory) + "/." + kBodyName + ".";
  if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return;
  if (path.find('/', prefix.size()) != std::string::npos) return;
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && IsOwnPartialFile(st)) unlink(path.c_str());
}

bool KeepResumeData(const TaskRequest& request, const std::string& resumeData, int64_t received, Event* completion) {
  std::string path;
  FileIdentity identity;
  std::string name = request.downloadFileName.empty() ? DefaultDownloadName(request.url) : request.downloadFileName;
  int fd = CreatePartialFile(request.downloadDirectory, name + ".resumedata", &path, &identity);
  if (fd < 0) return false;
  bool written = WriteAll(fd, resumeData);
  if (close(fd) != 0) written = false;
  if (!written) {
    DiscardPartialFile(path, identity);
    return false;
  }
  completion->partialPath = path;
  completion->partialIdentity = identity.ToString();
  completion->partialBytes = std::max<int64_t>(received, 1);  // JS resumes only from > 0 bytes
  completion->validator = kAppleResumeDataValidator;
  return true;
}

bool ReadOwnFile(const std::string& path, const FileIdentity* expected, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  FileIdentity identity = FileIdentity::OfDescriptor(fd, &st);
  if (!identity.Known() || !IsOwnPartialFile(st) || (expected != nullptr && identity != *expected)) {
    close(fd);
    return false;
  }
  char buffer[65536];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out->append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return n == 0;
}

}  // namespace urlsession
