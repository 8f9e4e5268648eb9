#include "curl/curl_transfer.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "core/error_codes.h"
#include "core/headers.h"
#include "core/redirect_policy.h"
#include "core/timeouts.h"
#include "curl/curl_errors.h"
#include "curl/curl_segments.h"

namespace urlsession {
namespace {

// Receive and send buffers come out of one budget per session (see TransferBuffers::ForRunning).
// A lone download runs faster and with less CPU with libcurl's largest receive buffer, while a
// crowd of transfers with large buffers costs RSS; so a lone transfer gets libcurl's maximum and
// a crowd shares the budget (figures: bench/ANALYSIS.md, "Engine changes measured here").
constexpr long kBufferBudget = 8 * 1024 * 1024;
constexpr long kMinBuffer = 16 * 1024;              // libcurl's default
constexpr long kMaxDownloadBuffer = 512 * 1024;     // CURL_MAX_READ_SIZE in libcurl 7.88
constexpr long kMaxUploadBuffer = 2 * 1024 * 1024;  // libcurl 7.88's upload maximum
// Downloads whose receive buffer is at least this large also gather their writes into buffers of
// this size (up to ~128 at once, so at most another 8 MiB) instead of one write(2) per 16 KiB
// callback. Below it the 16 KiB buffers would double the memory for no measured gain.
// Not larger: this is the largest write that kept the JS thread's event-loop delay within the
// performance target during a 1 GiB download on the benchmark machine, where the JS thread waits
// for a core while nginx and the engine thread keep both busy, so its delay grows with the
// download's speed whatever raises the speed; larger writes are faster and cost less CPU per
// byte. The JS thread's responsiveness is the engine's purpose (figures: bench/ANALYSIS.md, (a)).
constexpr long kGatheredWrite = 64 * 1024;

std::string Trim(const char* data, size_t length) {
  size_t begin = 0;
  while (begin < length && (data[begin] == ' ' || data[begin] == '\t')) ++begin;
  while (length > begin && (data[length - 1] == '\r' || data[length - 1] == '\n' || data[length - 1] == ' ' ||
                            data[length - 1] == '\t')) {
    --length;
  }
  return std::string(data + begin, length - begin);
}

double MillisFromMicros(curl_off_t micros) { return micros < 0 ? -1 : static_cast<double>(micros) / 1000.0; }

// Seconds as a duration; zero (none) when IsTimeout says so.
CurlTransfer::Clock::duration TimeoutOf(double seconds) {
  if (!IsTimeout(seconds)) return CurlTransfer::Clock::duration::zero();
  auto duration = std::chrono::duration_cast<CurlTransfer::Clock::duration>(std::chrono::duration<double>(seconds));
  return std::max(duration, CurlTransfer::Clock::duration(1));
}

// `location` (a Location header) resolved against `base`, as libcurl resolves it when it follows
// a redirect itself; "" when it cannot be.
std::string ResolveUrl(const std::string& base, const std::string& location) {
  std::string resolved;
  CURLU* url = curl_url();
  char* text = nullptr;
  if (url != nullptr && curl_url_set(url, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
      curl_url_set(url, CURLUPART_URL, location.c_str(), CURLU_URLENCODE | CURLU_ALLOW_SPACE) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_URL, &text, 0) == CURLUE_OK) {
    resolved = text;
  }
  curl_free(text);
  curl_url_cleanup(url);
  return resolved;
}

// "scheme://host:port" of a URL (lower case, the scheme's port when none is given); "" when it
// cannot be parsed.
std::string OriginOf(const std::string& text) {
  std::string origin;
  CURLU* url = curl_url();
  char *scheme = nullptr, *host = nullptr, *port = nullptr;
  if (url != nullptr && curl_url_set(url, CURLUPART_URL, text.c_str(), 0) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    origin = std::string(scheme) + "://" + host + ":" + port;
    for (char& c : origin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(url);
  return origin;
}

long ShareOfBudget(size_t running, long maximum) {
  long share = kBufferBudget / static_cast<long>(std::max<size_t>(running, 1));
  share -= share % (16 * 1024);  // whole 16 KiB blocks: libcurl's own default granule
  return std::clamp(share, kMinBuffer, maximum);
}

}  // namespace

TransferBuffers TransferBuffers::ForRunning(size_t running) {
  return TransferBuffers{ShareOfBudget(running, kMaxDownloadBuffer), ShareOfBudget(running, kMaxUploadBuffer)};
}

CurlTransfer::CurlTransfer(TaskRequest request, const CurlSessionContext& context)
    : request_(std::move(request)),
      context_(context),
      download_throttle_(context.config->progressIntervalMs),
      upload_throttle_(context.config->progressIntervalMs) {}

CurlTransfer::~CurlTransfer() {
  DropSegmentRequests();
  // First: the reset detaches the handle from header_list_ and error_buffer_ before they go.
  if (easy_ != nullptr) context_.easyPool->Release(easy_);
  if (header_list_ != nullptr) curl_slist_free_all(header_list_);
  if (body_fd_ >= 0) close(body_fd_);
  if (request_.bodySource == BodySource::Stream) DropStreamedBody();
}

bool CurlTransfer::Prepare(TransferBuffers buffers) {
  const SessionConfig& config = *context_.config;
  if (request_.cacheMode == "only-if-cached") {
    // This engine keeps no HTTP cache: nothing could answer, and the network must not be asked.
    failure_code_ = kNSURLErrorResourceUnavailable;
    return false;
  }
  easy_ = context_.easyPool->Acquire();
  if (easy_ == nullptr) {
    failure_code_ = NSURLErrorFromCurl(CURLE_FAILED_INIT, 0);  // what curl_easy_init's NULL means
    return false;
  }
  if (request_.kind == TaskKind::Download) {
    download_ = std::make_unique<DownloadWriter>(request_);
    failure_code_ = download_->Open();
    if (failure_code_ != 0) return false;
    curl_easy_setopt(easy_, CURLOPT_BUFFERSIZE, buffers.download);
    if (buffers.download >= kGatheredWrite) download_->SetWriteBuffer(static_cast<size_t>(kGatheredWrite));
  }
  if (!OpenBody()) return false;
  upload_buffer_ = buffers.upload;

  curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
  curl_easy_setopt(easy_, CURLOPT_URL, request_.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_);
  // http and https only. Redirects are followed by FollowRedirect, with redirect_policy.h's
  // rules, not by libcurl (CURLOPT_FOLLOWLOCATION stays off: it would follow every 3xx).
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  const bool https = request_.url.compare(0, 8, "https://") == 0;
  origin_ = OriginOf(request_.url);
  curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  // Tasks started together towards an HTTPS host wait for the first connection's ALPN answer
  // and, when it is h2, share that one connection instead of opening one each (8 downloads
  // opened 6 connections before). Plain http never multiplexes here, so it never waits.
  if (https) curl_easy_setopt(easy_, CURLOPT_PIPEWAIT, 1L);
  // The task's priority as its h2 stream's weight (1-256; libcurl's default is 16).
  curl_easy_setopt(easy_, CURLOPT_STREAM_WEIGHT, 1L + std::lround(std::clamp(request_.priority, 0.0, 1.0) * 255.0));
  // NSURLSession advertises and decodes compressed responses; do the same.
  curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, "");
  UseCookies();
  if (config.proxyMode == ProxyMode::Direct) {
    curl_easy_setopt(easy_, CURLOPT_PROXY, "");  // "" also ignores the *_proxy variables
  } else if (config.proxyMode == ProxyMode::Explicit) {
    curl_easy_setopt(easy_, CURLOPT_PROXY, config.proxyUrl.c_str());
    if (!config.noProxy.empty()) curl_easy_setopt(easy_, CURLOPT_NOPROXY, config.noProxy.c_str());
  }
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, context_.userAgent.c_str());

  // Both timeouts are Tick's, not libcurl's: LOW_SPEED_LIMIT/TIME average over seconds (a stall
  // after a burst failed seconds late), and CURLOPT_TIMEOUT would start again at every redirect.
  // libcurl reports every byte it moves to OnTransferInfo, which resets the idle timer.
  idle_limit_ = TimeoutOf(request_.timeout > 0 ? request_.timeout : config.timeoutIntervalForRequest);
  last_activity_ = Clock::now();
  Clock::duration resource = TimeoutOf(config.timeoutIntervalForResource);
  if (resource != Clock::duration::zero()) resource_deadline_ = last_activity_ + resource;
  WakeBy(NextTick());
  curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, &CurlTransfer::OnTransferInfo);
  curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, this);
  if (!context_.caBundle.empty()) {
    curl_blob blob{const_cast<char*>(context_.caBundle.data()), context_.caBundle.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(easy_, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!context_.pinnedKeys.empty()) curl_easy_setopt(easy_, CURLOPT_PINNEDPUBLICKEY, context_.pinnedKeys.c_str());

  SetRequestHeaders();

  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &CurlTransfer::OnHeader);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &CurlTransfer::OnWrite);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  ConfigureMethodAndBody();
  return true;
}

// The session's cookie store, or none for a task that omits credentials. Engine thread, in Prepare.
void CurlTransfer::UseCookies() {
  curl_easy_setopt(easy_, CURLOPT_SHARE, Share());
  if (!request_.omitCredentials && context_.config->cookieAcceptPolicy != CookieAcceptPolicy::Never) {
    curl_easy_setopt(easy_, CURLOPT_COOKIEFILE, "");  // cookie engine on; the jar lives in the share
  }
}

CURLSH* CurlTransfer::Share() const { return request_.omitCredentials ? context_.cookielessShare : context_.share; }

// The session's and the request's headers and, for a resume, DownloadWriter's (Range as a plain
// header, not libcurl's resume logic, which fails when a server ignores it: a 200 instead of a
// 206 restarts the file from zero in DownloadWriter::BeginResponse). Engine thread; also when a
// refused resume goes again from zero, and for every redirect.
void CurlTransfer::SetRequestHeaders() {
  HeaderList headers = MergeHeaders(context_.config->additionalHeaders, request_.headers);
  if (redirects_ > 0 && OriginOf(request_.url) != origin_) {
    // Credentials stay with their origin: redirected to another scheme, host or port, the
    // caller's Authorization and Cookie are not sent (libcurl's rule when it follows redirects
    // itself; the cookie store adds the new host's own cookies).
    headers.erase(std::remove_if(headers.begin(), headers.end(),
                                 [](const auto& h) {
                                   return strcasecmp(h.first.c_str(), "Authorization") == 0 ||
                                          strcasecmp(h.first.c_str(), "Cookie") == 0;
                                 }),
                  headers.end());
  }
  if (download_) download_->AddResumeHeaders(&headers);
  curl_slist* list = nullptr;
  for (const auto& header : headers) {
    // "Name;" is libcurl's spelling of a header with an empty value; "Name:" would remove it.
    std::string line = header.second.empty() ? header.first + ";" : header.first + ": " + header.second;
    list = curl_slist_append(list, line.c_str());
  }
  // libcurl would send "Expect: 100-continue" for large bodies; NSURLSession does not.
  if (FindHeader(headers, "Expect") == nullptr) list = curl_slist_append(list, "Expect:");
  // A POST without body bytes carries no Content-Type (test_postWithEmptyBody); libcurl would add
  // application/x-www-form-urlencoded, which a POST with bytes keeps, as NSURLSession sends it.
  // A streamed body has no Content-Type of its own either (Node's fetch sends none for a stream).
  if (request_.method == "POST" && (body_size_ == 0 || request_.bodySource == BodySource::Stream) &&
      FindHeader(headers, "Content-Type") == nullptr) {
    list = curl_slist_append(list, "Content-Type:");
  }
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
  if (header_list_ != nullptr) curl_slist_free_all(header_list_);
  header_list_ = list;
}

bool CurlTransfer::OpenBody() {
  if (request_.bodySource == BodySource::Stream) {
    body_stream_ = context_.bodyStreams->Find(request_.taskIdentifier);  // opened by CurlEngine::StartTask
    if (!body_stream_) {
      failure_code_ = kNSURLErrorRequestBodyStreamExhausted;
      return false;
    }
    body_size_ = std::max<int64_t>(0, request_.streamedBodyLength);
    return true;
  }
  if (request_.bodySource == BodySource::Memory) {
    body_size_ = static_cast<int64_t>(request_.bodyBytes.size());
    return true;
  }
  if (request_.bodySource != BodySource::File) return true;
  // O_NONBLOCK: a FIFO given as the source must not stall this thread (and every other transfer
  // of the session) waiting for a writer; only regular files are sent.
  body_fd_ = open(request_.bodyPath.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (body_fd_ < 0) {
    failure_code_ = NSURLErrorFromErrno(errno, /*writing=*/false);
    return false;
  }
  struct stat st;
  if (fstat(body_fd_, &st) != 0) {
    failure_code_ = NSURLErrorFromErrno(errno, false);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    failure_code_ = kNSURLErrorFileIsDirectory;
    return false;
  }
  int flags = fcntl(body_fd_, F_GETFL);
  if (!S_ISREG(st.st_mode) || flags < 0 || fcntl(body_fd_, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    failure_code_ = kNSURLErrorCannotOpenFile;
    return false;
  }
  body_size_ = static_cast<int64_t>(st.st_size);
  return true;
}

// Engine thread; again for every redirect (which may have turned the request into a GET).
void CurlTransfer::ConfigureMethodAndBody() {
  const std::string& method = request_.method;
  curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, static_cast<char*>(nullptr));
  if (request_.bodySource == BodySource::None) {
    if (method == "GET") {
      curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    } else if (method == "POST") {
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, "");
    } else {
      curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    return;
  }
  // Fewer, larger reads and sends: libcurl's 64 KiB default caps upload speed on fast links.
  curl_easy_setopt(easy_, CURLOPT_UPLOAD_BUFFERSIZE, upload_buffer_);
  curl_easy_setopt(easy_, CURLOPT_READFUNCTION, &CurlTransfer::OnRead);
  curl_easy_setopt(easy_, CURLOPT_READDATA, this);
  // Rewinding lets 307/308 redirects and auth retries send the body again.
  curl_easy_setopt(easy_, CURLOPT_SEEKFUNCTION, &CurlTransfer::OnSeek);
  curl_easy_setopt(easy_, CURLOPT_SEEKDATA, this);
  // A streamed body of unknown length is -1: libcurl sends it chunked on HTTP/1.1 and as DATA
  // frames until END_STREAM on h2; a declared one goes as Content-Length.
  curl_off_t size = request_.bodySource == BodySource::Stream ? static_cast<curl_off_t>(request_.streamedBodyLength)
                                                              : static_cast<curl_off_t>(body_size_);
  if (method == "POST") {
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, size);
  } else {
    curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, size);
    if (method != "PUT") curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
}

// Engine thread. A status line starts a new header block (redirects, 100 Continue).
size_t CurlTransfer::OnHeader(char* data, size_t size, size_t count, void* self_ptr) {
  auto* self = static_cast<CurlTransfer*>(self_ptr);
  size_t length = size * count;
  self->last_activity_ = Clock::now();  // head bytes are activity too (OnTransferInfo counts the body's)
  // libcurl stores the cookie as it passes this header on (the same test: checkprefix).
  if (self->context_.setCookieSeen != nullptr && length > 11 && strncasecmp(data, "Set-Cookie:", 11) == 0) {
    *self->context_.setCookieSeen = true;
  }
  if (length >= 5 && std::memcmp(data, "HTTP/", 5) == 0) {
    self->response_headers_.clear();
    return length;
  }
  if (length > 0 && length <= 2 && (data[0] == '\r' || data[0] == '\n'))
    return self->HeadEnded() ? length : 0;  // end of a head
  const char* colon = static_cast<const char*>(std::memchr(data, ':', length));
  if (colon != nullptr) {
    self->response_headers_.emplace_back(Trim(data, colon - data), Trim(colon + 1, length - (colon + 1 - data)));
  }
  return length;
}

// Engine thread, at the end of each response head. A redirect this task follows is not its
// answer: its body is dropped and FollowRedirect goes on; a refused one ends the transfer here
// (false). The answer to a resume's Range request (206 or 416: final, never followed) is judged
// before libcurl decodes a byte of its body: the coded 206 of a server that ignores
// Accept-Encoding: identity would fail decoding (-1016) before OnWrite could refuse it. False:
// refused (RestartFromZero runs next).
bool CurlTransfer::HeadEnded() {
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  if (PlanRedirect(status)) return redirect_refusal_ == 0;
  if (!download_ || (download_->ResumeOffset() == 0 && !download_->ResumedSegments()) || response_reported_)
    return true;
  if (status != 206 && status != 416) return true;
  ReportResponseOnce();
  return response_usable_;
}

// Engine thread; the download hot path: straight to DownloadWriter, no allocation.
size_t CurlTransfer::OnWrite(char* data, size_t size, size_t count, void* self_ptr) {
  auto* self = static_cast<CurlTransfer*>(self_ptr);
  size_t length = size * count;
  if (!self->redirect_to_.empty()) return length;  // the body of a redirect: not the task's
  if (!self->response_reported_) {
    self->ReportResponseOnce();
    if (!self->response_usable_) return 0;  // a refused resume: RestartFromZero runs next
    // A declared length over the limit fails before a byte is kept.
    if (!self->download_ && !self->request_.streamBody &&
        self->request_.BodyExceedsLimit(0, DeliveredLength(self->response_headers_, self->content_length_))) {
      self->body_over_limit_ = true;
      return 0;
    }
  }
  if (self->down_pacer_.Limited() && !self->PaceAllows(self->down_pacer_, &self->recv_paced_)) {
    return CURL_WRITEFUNC_PAUSE;  // offered again when Tick unpauses (ResumePaced)
  }
  if (self->request_.streamBody) {
    if (self->stream_unacknowledged_ >= kStreamHighWaterBytes) {
      self->backpressure_paused_ = true;
      return CURL_WRITEFUNC_PAUSE;  // libcurl keeps this chunk and offers it again on unpause
    }
    Event chunk;
    chunk.type = EventType::BodyData;
    chunk.taskIdentifier = self->request_.taskIdentifier;
    chunk.responseBody.assign(data, length);
    self->Post(std::move(chunk));
    self->stream_unacknowledged_ += static_cast<int64_t>(length);
  } else if (self->download_ && self->download_->Segmented() && !self->download_->CapturingErrorBody()) {
    return self->WriteFirstSegment(data, length);  // curl_segments.cc
  } else if (self->download_) {
    if (!self->download_->Write(data, length)) return 0;  // libcurl fails with CURLE_WRITE_ERROR
  } else if (self->request_.BodyExceedsLimit(static_cast<int64_t>(self->response_body_.size()),
                                             static_cast<int64_t>(length))) {
    // A body kept in memory is bounded (a gzip bomb inflates without limit): fail and free it.
    self->body_over_limit_ = true;
    std::string().swap(self->response_body_);
    return 0;
  } else {
    self->response_body_.append(data, length);
  }
  self->received_ += static_cast<int64_t>(length);
  if (self->down_pacer_.Limited()) self->down_pacer_.Consumed(static_cast<int64_t>(length), Clock::now());
  if (self->download_) self->PostProgress(false);
  return length;
}

constexpr size_t kSmallestPacedRead = 1024;
constexpr int64_t kPacedReadsPerSecond = 20;

// Engine thread. Streams the body from disk or memory; never holds a file in memory.
size_t CurlTransfer::OnRead(char* buffer, size_t size, size_t count, void* self_ptr) {
  auto* self = static_cast<CurlTransfer*>(self_ptr);
  size_t capacity = size * count;
  size_t produced = 0;
  if (self->up_pacer_.Limited()) {
    if (!self->PaceAllows(self->up_pacer_, &self->send_paced_)) return CURL_READFUNC_PAUSE;  // Tick asks again
    // libcurl's upload buffer may hold the whole body, which would then leave at the link's speed:
    // a paced read is a slice of the rate instead.
    capacity = std::min(capacity, std::max<size_t>(kSmallestPacedRead, self->up_pacer_.rate() / kPacedReadsPerSecond));
  }
  if (self->body_fd_ >= 0) {
    ssize_t n;
    do { n = read(self->body_fd_, buffer, capacity); } while (n < 0 && errno == EINTR);
    if (n < 0) {
      self->read_errno_ = errno;
      return CURL_READFUNC_ABORT;
    }
    // The file shrank under us: the promised Content-Length can never be sent, and the server
    // would wait for it until the timeout. Fail now instead.
    if (n == 0 && self->body_offset_ < self->body_size_) {
      self->read_errno_ = EIO;
      return CURL_READFUNC_ABORT;
    }
    produced = static_cast<size_t>(n);
  } else if (self->body_stream_) {
    size_t result = self->ReadStreamedBody(buffer, capacity);
    if (result == CURL_READFUNC_PAUSE || result == CURL_READFUNC_ABORT) return result;
    produced = result;
  } else {
    const std::string& bytes = self->request_.bodyBytes;
    size_t offset = static_cast<size_t>(self->body_offset_);
    produced = offset < bytes.size() ? std::min(capacity, bytes.size() - offset) : 0;
    std::memcpy(buffer, bytes.data() + offset, produced);
  }
  self->body_offset_ += static_cast<int64_t>(produced);
  if (self->up_pacer_.Limited()) self->up_pacer_.Consumed(static_cast<int64_t>(produced), Clock::now());
  // The body is all sent: the transfer moves from the session's upload budget to its download one.
  if (!self->Uploading() && self->context_.speedSharesStale != nullptr) *self->context_.speedSharesStale = true;
  self->PostProgress(false);
  return produced;
}

int CurlTransfer::OnSeek(void* self_ptr, curl_off_t offset, int origin) {
  auto* self = static_cast<CurlTransfer*>(self_ptr);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  // What JS streamed is gone once sent: only "from the start" before the first byte can be done.
  if (self->body_stream_)
    return offset == 0 && self->body_stream_->consumed() == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK;
  if (self->body_fd_ >= 0 && lseek(self->body_fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return CURL_SEEKFUNC_FAIL;
  }
  self->body_offset_ = static_cast<int64_t>(offset);
  // Sending the body again (a redirect that keeps it): back into the upload budget.
  if (self->context_.speedSharesStale != nullptr) *self->context_.speedSharesStale = true;
  return CURL_SEEKFUNC_OK;
}

// Engine thread: once per transfer, when the final response head is known.
void CurlTransfer::ReportResponseOnce() {
  if (response_reported_) return;
  response_reported_ = true;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status_);
  long version = 0;
  curl_easy_getinfo(easy_, CURLINFO_HTTP_VERSION, &version);
  // Only the task's own host counts: after a redirect the connection belongs to another one.
  if (version >= CURL_HTTP_VERSION_2_0 && redirects_ == 0 && context_.multiplexedResponses != nullptr) {
    context_.multiplexedResponses->push_back(request_.taskIdentifier);
  }
  curl_off_t length = -1;
  curl_easy_getinfo(easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  content_length_ = static_cast<int64_t>(length);
  if (download_)
    response_usable_ = download_->BeginResponse(static_cast<int>(status_), response_headers_, content_length_);
  // Not the task's answer: the same request goes again from zero, and its answer is reported.
  if (download_ && download_->RestartWanted()) return;
  if (download_) MaybePlanSegments();  // curl_segments.cc
  expected_ = download_ ? download_->ExpectedBytes()
                        : std::max<int64_t>(0, DeliveredLength(response_headers_, content_length_));
  Event event;
  event.type = EventType::Response;
  event.taskIdentifier = request_.taskIdentifier;
  event.statusCode = static_cast<int>(status_);
  event.expectedBytes = expected_;
  event.responseHeaders = response_headers_;
  if (download_) event.validator = ResumeValidator(response_headers_);
  char* url = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url != nullptr) event.url = url;
  Post(std::move(event));
}

// A total the throttle holds back is reported by Tick once its interval has passed (HeldUntil),
// even when no more bytes come to report it.
void CurlTransfer::PostProgress(bool final, bool heldOnly) {
  if (download_ && (!heldOnly || download_throttle_.Holding())) {
    int64_t total = download_->BytesOnDisk() + (download_->CapturingErrorBody() ? received_ : 0);
    if (download_throttle_.ShouldReport(total, final)) {
      download_->Flush();  // what progress reports is in the file
      PostProgressEvent(EventType::DownloadProgress, total, expected_);
    } else if (download_throttle_.Holding()) {
      WakeBy(download_throttle_.HeldUntil());
    }
  }
  if (request_.bodySource != BodySource::None && (!heldOnly || upload_throttle_.Holding())) {
    if (upload_throttle_.ShouldReport(body_offset_, final)) {
      PostProgressEvent(EventType::UploadProgress, body_offset_, body_size_);
    } else if (upload_throttle_.Holding()) {
      WakeBy(upload_throttle_.HeldUntil());
    }
  }
}

// Engine thread, whenever libcurl runs this transfer (every send and receive among others): a
// changed byte count in either direction is activity. Never aborts: Tick decides.
int CurlTransfer::OnTransferInfo(void* self_ptr, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* self = static_cast<CurlTransfer*>(self_ptr);
  if (dlnow != self->seen_down_ || ulnow != self->seen_up_) {
    self->seen_down_ = dlnow;
    self->seen_up_ = ulnow;
    self->last_activity_ = Clock::now();
  }
  return 0;
}

bool CurlTransfer::Tick(Clock::time_point now) {
  SegmentsTick();  // curl_segments.cc
  PostProgress(false, /*heldOnly=*/true);
  ResumePaced(now);
  // A paused transfer is not idle (the user or a slow consumer holds it): its timer starts again
  // when it continues (ApplyPause). The resource timeout runs regardless.
  if (idle_limit_ != Clock::duration::zero() && !Held() && now - last_activity_ >= idle_limit_) {
    timed_out_ = "no bytes in either direction for timeoutIntervalForRequest";
  } else if (now >= resource_deadline_) {
    timed_out_ = "timeoutIntervalForResource passed";
  }
  return timed_out_ != nullptr;
}

CurlTransfer::Clock::time_point CurlTransfer::NextTick() const {
  Clock::time_point next = std::min({download_throttle_.HeldUntil(), upload_throttle_.HeldUntil(), resource_deadline_});
  if (idle_limit_ != Clock::duration::zero() && !Held()) next = std::min(next, last_activity_ + idle_limit_);
  if (recv_paced_) next = std::min(next, down_pacer_.ReadyAt());
  if (send_paced_) next = std::min(next, up_pacer_.ReadyAt());
  return next;
}

void CurlTransfer::WakeBy(Clock::time_point when) const {
  if (context_.nextTick != nullptr && when < *context_.nextTick) *context_.nextTick = when;
}

void CurlTransfer::PostProgressEvent(EventType type, int64_t total, int64_t expected) {
  Event event;
  event.type = type;
  event.taskIdentifier = request_.taskIdentifier;
  event.totalBytes = total;
  event.expectedBytes = expected;
  // What the journal keeps to resume every segment from its own offset.
  if (type == EventType::DownloadProgress && download_ && download_->Segmented())
    event.segments = download_->Segments().ToString();
  Post(std::move(event));
}

void CurlTransfer::SetUserSuspended(bool suspended) {
  user_suspended_ = suspended;
  ApplyPause();
}

void CurlTransfer::AcknowledgeBody(int64_t bytes) {
  stream_unacknowledged_ = std::max<int64_t>(0, stream_unacknowledged_ - bytes);
  // Continue at half the high-water mark so a steady consumer does not toggle every chunk.
  if (backpressure_paused_ && stream_unacknowledged_ <= kStreamHighWaterBytes / 2) {
    backpressure_paused_ = false;
    ApplyPause();
  }
}

// Engine thread (a command from CurlEngine::WriteBody), outside libcurl's callbacks.
void CurlTransfer::BodyArrived() {
  if (!stream_starved_) return;
  stream_starved_ = false;
  ApplyPause();
}

// Engine thread, inside OnRead.
size_t CurlTransfer::ReadStreamedBody(char* buffer, size_t capacity) {
  BodyStream::ReadResult read = body_stream_->Read(buffer, capacity);
  if (read.postWanted) { Post(BodyWantedEvent(request_.taskIdentifier)); }
  switch (read.state) {
    case BodyStream::ReadState::Data: return read.produced;
    case BodyStream::ReadState::Empty:
      // Not Held: a producer silent for timeoutIntervalForRequest fails the task as a silent
      // server does (-1001), instead of keeping it forever.
      stream_starved_ = true;
      return CURL_READFUNC_PAUSE;
    case BodyStream::ReadState::Ended:
      stream_ended_ = true;
      if (context_.speedSharesStale != nullptr) *context_.speedSharesStale = true;
      return 0;
    case BodyStream::ReadState::Failed: break;
  }
  stream_failed_ = true;
  return CURL_READFUNC_ABORT;
}

// Engine thread: the body is not sent (any more): JS's later writes are dropped.
void CurlTransfer::DropStreamedBody() {
  std::shared_ptr<BodyStream> stream =
      body_stream_ ? body_stream_ : context_.bodyStreams->Find(request_.taskIdentifier);
  if (stream) stream->Close();
  context_.bodyStreams->Remove(request_.taskIdentifier);
  body_stream_.reset();
}

void CurlTransfer::ApplyPause() {
  if (!Held()) last_activity_ = Clock::now();  // the idle timer starts again (Tick skips held transfers)
  WakeBy(NextTick());
  PauseSegmentRequests(Paused());
  if (first_done_) return;  // a segmented download's own handle already left the multi handle
  // A segmented download's first handle also waits while first_waiting_ (curl_segments.cc).
  int mask = Paused() || first_waiting_
                 ? CURLPAUSE_ALL
                 : (recv_paced_ ? CURLPAUSE_RECV : 0) | (send_paced_ || stream_starved_ ? CURLPAUSE_SEND : 0);
  // May deliver buffered data synchronously (OnWrite runs inside this call).
  curl_easy_pause(easy_, mask);
}

// Engine thread, inside OnWrite/OnRead: whether the pacer lets bytes move now; if not, the
// direction is marked paced (the callback then returns libcurl's pause) and Tick comes back when
// the pacer is ready.
bool CurlTransfer::PaceAllows(SpeedPacer& pacer, bool* paced) {
  if (pacer.Ready(Clock::now())) return true;
  *paced = true;
  WakeBy(pacer.ReadyAt());
  return false;
}

// Engine thread (Tick, SetPaceRates): unpauses each paced direction whose pacer is ready.
void CurlTransfer::ResumePaced(Clock::time_point now) {
  bool changed = false;
  if (recv_paced_ && down_pacer_.Ready(now)) recv_paced_ = false, changed = true;
  if (send_paced_ && up_pacer_.Ready(now)) send_paced_ = false, changed = true;
  if (changed) ApplyPause();
}

// Engine thread (CurlEngine::RebalanceSpeeds): the rates this transfer keeps from now on.
void CurlTransfer::SetPaceRates(int64_t download, int64_t upload) {
  Clock::time_point now = Clock::now();
  // The pacer sees this handle's bytes only: a segmented download that gets a limit goes on as
  // its own request alone while that request still runs (the others are dropped, their bytes
  // kept). Once it has finished its segment, the others run to their ends unpaced (README).
  if (download > 0 && download_ && download_->Segmented() && !first_done_) CollapseSegments();
  down_pacer_.SetRate(download, now);
  up_pacer_.SetRate(upload, now);
  ResumePaced(now);                // an unlimited or higher rate may free a paced direction now
  if (Held()) WakeBy(NextTick());  // ... or later than before, or sooner
}

// Engine thread, at the end of a response head. True: a redirect this task follows (to
// redirect_to_) or one the policy refuses (redirect_refusal_). Any other response, and a
// followable status without a usable Location, is the task's answer.
bool CurlTransfer::PlanRedirect(long status) {
  redirect_to_.clear();
  if (request_.manualRedirects || !FollowsRedirectStatus(static_cast<int>(status))) return false;
  const std::string* location = FindHeader(response_headers_, "Location");
  if (location == nullptr) return false;
  std::string target = ResolveUrl(request_.url, *location);
  if (target.empty()) return false;
  redirect_refusal_ = RedirectRefusal(request_.url, target, redirects_ + 1, *context_.config);
  // A redirect that sends the body again (307, 308) cannot replay what JS streamed and is gone.
  if (redirect_refusal_ == 0 && request_.bodySource == BodySource::Stream &&
      !RedirectDropsBody(static_cast<int>(status), request_.method)) {
    redirect_refusal_ = kNSURLErrorRequestBodyStreamExhausted;
  }
  redirect_to_ = std::move(target);
  return true;
}

// 303 makes every method but HEAD a GET, 301 and 302 make a POST one, without the body (as
// browsers and NSURLSession do: test_httpRedirectionWithCode301_302, ...303); otherwise the
// same method and body go again (307 and 308 promise it).
bool CurlTransfer::RedirectDropsBody(int status, const std::string& method) {
  return (status == 303 && method != "HEAD") || ((status == 301 || status == 302) && method == "POST");
}

// Engine thread, after the handle left the multi handle with the whole redirect read.
bool CurlTransfer::FollowRedirect(CURLcode result) {
  if (redirect_to_.empty() || redirect_refusal_ != 0 || result != CURLE_OK) return false;
  long status = 0;
  curl_off_t hop = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &hop);
  earlier_hops_ms_ += MillisFromMicros(hop);
  ++redirects_;
  if (RedirectDropsBody(static_cast<int>(status), request_.method)) {
    if (request_.bodySource == BodySource::Stream) DropStreamedBody();
    request_.method = "GET";
    request_.bodySource = BodySource::None;
    std::string().swap(request_.bodyBytes);
    if (body_fd_ >= 0) close(body_fd_);
    body_fd_ = -1;
    body_size_ = 0;
  } else if (body_fd_ >= 0 && lseek(body_fd_, 0, SEEK_SET) < 0) {
    failure_code_ = NSURLErrorFromErrno(errno, /*writing=*/false);
    return false;
  }
  body_offset_ = 0;
  request_.url = std::move(redirect_to_);
  redirect_to_.clear();
  curl_easy_setopt(easy_, CURLOPT_URL, request_.url.c_str());
  response_headers_.clear();
  status_ = 0;
  content_length_ = -1;
  error_buffer_[0] = '\0';
  SetRequestHeaders();
  ConfigureMethodAndBody();
  return true;
}

void CurlTransfer::FillMetrics(TaskMetrics* metrics, std::string* effectiveUrl) {
  curl_off_t value = 0;
  curl_off_t namelookup = 0, connect = 0, appconnect = 0, starttransfer = 0, total = 0;
  curl_easy_getinfo(easy_, CURLINFO_NAMELOOKUP_TIME_T, &namelookup);
  curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(easy_, CURLINFO_APPCONNECT_TIME_T, &appconnect);
  curl_easy_getinfo(easy_, CURLINFO_STARTTRANSFER_TIME_T, &starttransfer);
  curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &total);
  // libcurl's times are cumulative from the start; report each phase's own duration.
  metrics->dnsMs = MillisFromMicros(namelookup);
  metrics->connectMs = connect > 0 ? MillisFromMicros(connect - namelookup) : 0;
  metrics->tlsMs = appconnect > 0 ? MillisFromMicros(appconnect - connect) : 0;
  // The redirects before the last request count in both: the task waited for them.
  metrics->firstByteMs = MillisFromMicros(starttransfer) + earlier_hops_ms_;
  metrics->totalMs = MillisFromMicros(total) + earlier_hops_ms_;
  if (curl_easy_getinfo(easy_, CURLINFO_SIZE_UPLOAD_T, &value) == CURLE_OK) metrics->bytesSent = value;
  if (curl_easy_getinfo(easy_, CURLINFO_SIZE_DOWNLOAD_T, &value) == CURLE_OK) metrics->bytesReceived = value;
  metrics->redirectCount = redirects_;
  long version = 0;
  curl_easy_getinfo(easy_, CURLINFO_HTTP_VERSION, &version);
  metrics->protocol = version == CURL_HTTP_VERSION_2_0   ? "h2"
                      : version == CURL_HTTP_VERSION_3   ? "h3"
                      : version == CURL_HTTP_VERSION_1_0 ? "http/1.0"
                      : version == 0                     ? ""
                                                         : "http/1.1";
  char* ip = nullptr;
  long port = 0;
  if (curl_easy_getinfo(easy_, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr && *ip != '\0') {
    curl_easy_getinfo(easy_, CURLINFO_PRIMARY_PORT, &port);
    bool v6 = std::strchr(ip, ':') != nullptr;
    metrics->remoteAddress = (v6 ? "[" + std::string(ip) + "]" : std::string(ip)) + ":" + std::to_string(port);
  }
  char* url = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url != nullptr) *effectiveUrl = url;
}

// Engine thread, after the easy handle left the multi handle.
void CurlTransfer::Complete(CURLcode result, bool cancelled) {
  DropSegmentRequests();
  int code = 0;
  if (cancelled) {
    code = kNSURLErrorCancelled;
  } else if (failure_code_ != 0) {
    code = failure_code_;
  } else if (timed_out_ != nullptr) {
    code = kNSURLErrorTimedOut;
  } else if (redirect_refusal_ != 0) {
    code = redirect_refusal_;
  } else if (body_over_limit_) {
    code = kNSURLErrorDataLengthExceedsMaximum;
  } else if (stream_failed_) {
    code = kNSURLErrorRequestBodyStreamExhausted;
  } else if (result == CURLE_WRITE_ERROR && download_ && download_->WriteFailureCode() != 0) {
    code = download_->WriteFailureCode();
  } else if ((result == CURLE_READ_ERROR || result == CURLE_ABORTED_BY_CALLBACK) && read_errno_ != 0) {
    code = NSURLErrorFromErrno(read_errno_, /*writing=*/false);
  } else if (result == CURLE_UNSUPPORTED_PROTOCOL) {
    // libcurl follows no redirect and JS checked the URL's scheme: the server answered with
    // something that is not HTTP (libcurl calls it HTTP/0.9).
    code = kNSURLErrorBadServerResponse;
  } else if (result != CURLE_OK) {
    long verify = 0;
    curl_easy_getinfo(easy_, CURLINFO_SSL_VERIFYRESULT, &verify);
    code = NSURLErrorFromCurl(result, verify);
  }

  Event done;
  done.type = EventType::TaskCompleted;
  done.taskIdentifier = request_.taskIdentifier;
  if (easy_ != nullptr && failure_code_ == 0) {
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    done.statusCode = static_cast<int>(status);
    if (code == 0) ReportResponseOnce();  // bodiless responses never reached OnWrite
    if (code == 0 && !response_usable_) code = kNSURLErrorBadServerResponse;
    // A segmented body with a range nobody fetched is not the file.
    if (code == 0 && download_ && download_->Segmented() && !download_->Segments().Complete())
      code = kNSURLErrorNetworkConnectionLost;
    FillMetrics(&done.metrics, &done.url);
  }

  if (code == 0) {
    if (received_ > 0 || !download_) PostProgress(true);
    if (download_ && download_->CapturingErrorBody()) {
      // An error page is not the file the caller asked for; earlier attempts' bytes stay for a retry.
      download_->Fail(0, &done);
      done.responseBody = std::move(download_->ErrorBody());
    } else if (download_) {
      std::string location;
      code = download_->Commit(done.url, &location);
      if (code == 0) {
        Event completed;
        completed.type = EventType::DownloadCompleted;
        completed.taskIdentifier = request_.taskIdentifier;
        completed.statusCode = done.statusCode;
        completed.location = std::move(location);
        Post(std::move(completed));
      }
    }
  }
  if (code != 0) {
    if (download_)
      download_->Fail(code, &done);
    else if (request_.kind == TaskKind::Download)
      DownloadWriter::FailUnopened(request_, &done);
    done.errorCode = code;
    done.message = DescribeNSURLError(code);
    if (body_over_limit_) {
      done.message += " (the response body is larger than maximumResponseSize, " +
                      std::to_string(request_.maximumResponseSize) + " bytes)";
    } else if (code == kNSURLErrorRequestBodyStreamExhausted && redirect_refusal_ != 0) {
      done.message +=
          " (a " + std::to_string(done.statusCode) + " redirect would send the streamed request body again)";
    } else if (stream_failed_) {
      done.message += " (the streamed request body failed, or was not the Content-Length it declared)";
    } else if (result == CURLE_SEND_FAIL_REWIND && request_.bodySource == BodySource::Stream) {
      // libcurl sends a request again on a new connection when the one it reused closed (or an h2
      // server refused the stream) before any answer: what JS streamed is gone (OnSeek).
      done.message +=
          " (the connection closed before answering and libcurl had to send the streamed request body again)";
    } else if (code == kNSURLErrorTimedOut && timed_out_ != nullptr) {
      done.message += std::string(" (") + timed_out_ + ")";
    } else if (code != kNSURLErrorCancelled && redirect_refusal_ == 0 && error_buffer_[0] != '\0') {
      done.message += std::string(" (") + error_buffer_ + ")";
    }
  }
  if (!download_) done.responseBody = std::move(response_body_);
  Post(std::move(done));
}

// Engine thread, after the handle left the multi handle. An answer to the Range request that
// cannot continue the kept bytes (DownloadWriter::RestartWanted) is the resume's own failure,
// never the task's: the file is emptied and the same request goes again without Range (at
// most once: it carries no Range). True: the engine adds the handle again.
bool CurlTransfer::RestartFromZero() {
  if (!download_ || !download_->RestartWanted() || !download_->RestartFromZero()) return false;
  response_headers_.clear();
  response_reported_ = false;
  response_usable_ = true;
  status_ = 0;
  content_length_ = -1;
  received_ = 0;
  expected_ = 0;
  error_buffer_[0] = '\0';
  SetRequestHeaders();
  return true;
}

void CurlTransfer::Abandon() {
  DropSegmentRequests();
  if (download_) download_->AbandonAtShutdown(context_.config->persistent);
}

}  // namespace urlsession
