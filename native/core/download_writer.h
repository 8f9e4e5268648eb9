// Everything a download does with its file, shared by both engines: the partial file next to
// the destination (or an earlier attempt's, to resume), the headers that resume it and the
// resume decision once the response head is known (a fitting 206 continues, 200 starts over in
// place, an answer that cannot continue the file asks for the request again from zero),
// writing, the integrity digest, capturing an HTTP error page instead of writing it, and the
// final move with its naming rules.
// Engine-agnostic and single-threaded: one writer per download, used on one engine thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/digest.h"
#include "core/file_ops.h"
#include "core/segment_plan.h"
#include "engine/engine.h"

namespace urlsession {

class DownloadWriter {
 public:
  explicit DownloadWriter(const TaskRequest& request);
  ~DownloadWriter();
  DownloadWriter(const DownloadWriter&) = delete;
  DownloadWriter& operator=(const DownloadWriter&) = delete;

  // Creates (or reopens, to resume: only a file inside downloadDirectory) the partial file, and
  // holds the download folder open until the outcome. Returns 0 or an NSURLError code.
  int Open();
  // Bytes kept from an earlier attempt: the request then carries AddResumeHeaders().
  int64_t ResumeOffset() const { return resume_base_; }
  // What a request for the rest of the file sets (nothing when no bytes are kept), replacing
  // any header of these names already in `headers`: Range from the kept bytes, If-Range with
  // the earlier response's validator, and Accept-Encoding: identity. The kept bytes are decoded
  // content, and a range of a coded representation counts its coded bytes (caddy's
  // `precompressed`, h2o's `send-compressed`), so only identity bytes can continue them.
  void AddResumeHeaders(HeaderList* headers) const;

  // The final response head, before the first body byte. `contentLength` < 0 when unknown.
  // Returns false when the response cannot continue the file: then RestartWanted().
  bool BeginResponse(int statusCode, const HeaderList& headers, int64_t contentLength);
  // Total size the finished file will have; 0 when unknown (no Content-Length, or a coded body:
  // its Content-Length counts coded bytes, the file holds decoded ones).
  int64_t ExpectedBytes() const { return expected_; }
  // BeginResponse refused an answer to the Range request that cannot continue the kept bytes
  // (416; a 206 that is coded, for another range, or whose validators differ from If-Range's,
  // as a server that ignores If-Range sends for a changed file). Resuming is the download's own
  // business and never fails it: the engine calls RestartFromZero() and sends the request again.
  // Until then the kept bytes stay as they are.
  bool RestartWanted() const { return restart_wanted_; }
  // Empties the partial file in place (the same file: the journal and resume data name it) and
  // forgets the kept bytes and the refused head, so the request goes again without
  // AddResumeHeaders(). False when the file cannot be emptied (WriteFailureCode() says why).
  bool RestartFromZero();

  // Gathers body bytes into `bytes`-sized write(2)s (0: one write per Write call). libcurl hands
  // over at most 16 KiB per callback, so without this a 512 KiB read becomes 32 system calls.
  // Staged bytes reach the file before any outcome (Commit, Fail) is decided.
  void SetWriteBuffer(size_t bytes);
  // Stores body bytes: into the file, or (for an HTTP error the caller does not want as a file)
  // into the first 64 KiB of ErrorBody(). Returns false when the disk refuses them.
  bool Write(const char* data, size_t length);
  // Writes what is staged. Called before every progress event, so that the bytes a progress
  // event reports are in the file (a process killed after it resumes from at least there).
  bool Flush();
  // Bytes accepted so far (in the file after Flush()); for a segmented download, every
  // segment's together.
  int64_t BytesOnDisk() const { return segmented_ ? plan_.Written() : resume_base_ + written_; }

  // Segmented downloads (core/segment_plan.h): the body is written in ranges at their own
  // offsets (pwrite) instead of in order, and the integrity digest is computed over the
  // finished file before Commit instead of over the stream. Before the first body byte.
  void BeginSegments(SegmentPlan plan);
  bool Segmented() const { return segmented_; }
  // A download resumed from a plan (TaskRequest::resumeSegments): the segment whose rest the
  // task's own request asks for (AddResumeHeaders); the other unfinished ones are the engine's.
  bool ResumedSegments() const { return segmented_ && resumed_segments_; }
  int64_t ResumedSegment() const { return resumed_segment_; }
  SegmentPlan& Segments() { return plan_; }
  // Writes up to `length` bytes at the next offset of the segment starting at `segmentStart`,
  // never past its end: returns how many it took (fewer: the segment is done), or -1 when the
  // disk refused them (WriteFailureCode()).
  int64_t WriteSegment(int64_t segmentStart, const char* data, size_t length);
  bool CapturingErrorBody() const;
  std::string& ErrorBody() { return error_body_; }

  // The transfer succeeded: verify integrity and move the file into place.
  // Returns 0 and the final path, or an NSURLError code (nothing is left at the destination).
  // A download folder that is no longer at its path (renamed away, removed, replaced) fails
  // with kNSURLErrorCannotCreateFile, and the partial file is removed from the moved folder.
  int Commit(const std::string& effectiveUrl, std::string* location);
  // The transfer failed with `code` (or an error page was refused): keep the partial file for a
  // resume when the request asked for it, it is sound and its folder is still at its path,
  // filling the event; else delete it.
  void Fail(int code, Event* completion);
  // Deletes the partial file without reporting anything.
  void Abandon();
  // Engine shutdown (env teardown: a worker's end, a reload; process exit): Abandon, except that
  // a persistent session keeps the partial file lib/ gave it (TaskRequest::resumePartialPath,
  // named in its journal), staged bytes written, for a later process to resume.
  void AbandonAtShutdown(bool sessionPersists);
  // The same outcome for a download that failed or was cancelled before it ever opened its file
  // (e.g. while waiting for a connection slot): a resumed task's partial file is kept and
  // reported when keepPartialOnFailure asks for it, removed otherwise.
  static void FailUnopened(const TaskRequest& request, Event* completion);

  // For engines whose OS writes the whole file itself (NSURLSession download tasks): verify and
  // move a finished temporary file into place with the same rules as Commit. An HTTP error the
  // caller does not want as a file is read into ErrorBody() instead. Returns 0 or a code.
  int AdoptFinishedFile(const std::string& tempPath, int statusCode, const HeaderList& headers,
                        const std::string& effectiveUrl, std::string* location);

  // The NSURLError code for a failed Write (disk full, folder removed, ...), or 0.
  int WriteFailureCode() const;

 private:
  bool StartDigest();
  bool ContinuesFile(const HeaderList& headers) const;
  bool StartOver();
  std::string FinalName(const std::string& effectiveUrl) const;
  void CloseFile();
  bool WriteAll(const char* data, size_t length);
  bool HashSegmentedFile();
  bool ResumeSegments();
  bool SegmentAnswerContinues(int statusCode, const HeaderList& headers) const;

  const TaskRequest& request_;
  std::string file_name_;
  int fd_ = -1;
  // The download folder, held from Open to the outcome: the partial file is discarded and
  // committed through it (core/file_ops.h HeldFolder).
  HeldFolder folder_;
  std::string partial_path_;
  FileIdentity identity_;  // of the partial file at partial_path_
  int64_t resume_base_ = 0;
  int64_t written_ = 0;
  std::unique_ptr<char[]> staging_;
  size_t staging_capacity_ = 0;
  size_t staged_ = 0;
  int64_t expected_ = 0;
  int status_ = 0;
  int write_errno_ = 0;
  bool restart_wanted_ = false;
  HeaderList headers_;
  std::string error_body_;
  std::unique_ptr<Digest> digest_;
  bool segmented_ = false;
  SegmentPlan plan_;
  bool resumed_segments_ = false;
  int64_t resumed_segment_ = 0;
};

}  // namespace urlsession
