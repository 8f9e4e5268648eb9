#include "core/headers.h"

#include <cctype>

namespace urlsession {

bool HeaderNameEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

const std::string* FindHeader(const HeaderList& headers, const std::string& name) {
  for (const auto& header : headers) {
    if (HeaderNameEquals(header.first, name)) return &header.second;
  }
  return nullptr;
}

bool IsContentCoded(const HeaderList& headers) {
  const std::string* coding = FindHeader(headers, "Content-Encoding");
  if (coding == nullptr) return false;
  std::string value;
  for (char c : *coding) {
    if (c != ' ' && c != '\t') value.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return !value.empty() && value != "identity";
}

std::string ResumeValidator(const HeaderList& headers) {
  const std::string* etag = FindHeader(headers, "ETag");
  const std::string* modified = FindHeader(headers, "Last-Modified");
  if (modified != nullptr && IsContentCoded(headers)) return *modified;
  if (etag != nullptr && etag->compare(0, 2, "W/") != 0) return *etag;
  return modified != nullptr ? *modified : std::string();
}

int64_t DeliveredLength(const HeaderList& headers, int64_t contentLength) {
  return contentLength < 0 || IsContentCoded(headers) ? -1 : contentLength;
}

HeaderList MergeHeaders(const HeaderList& sessionHeaders, const HeaderList& requestHeaders) {
  HeaderList merged;
  merged.reserve(sessionHeaders.size() + requestHeaders.size());
  for (const auto& header : sessionHeaders) {
    if (FindHeader(requestHeaders, header.first) == nullptr) merged.push_back(header);
  }
  merged.insert(merged.end(), requestHeaders.begin(), requestHeaders.end());
  return merged;
}

}  // namespace urlsession
