// libFuzzer target: the default download name taken from a URL (percent-decoded, so any byte
// can appear). The result must be one safe path component.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/file_ops.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string url(reinterpret_cast<const char*>(data), size);
  std::string name = urlsession::DefaultDownloadName(url);
  if (name.empty() || name.size() > 204 || name[0] == '.') abort();
  for (unsigned char c : name) {
    if (c == '/' || c == '\\' || c == '\0' || c < 0x20) abort();
  }
  return 0;
}
