// libFuzzer target: Content-Disposition parsing plus sanitising, the path by which a server
// chooses a file name. Whatever the input, the name must be one safe path component.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/content_disposition.h"
#include "core/file_ops.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string header(reinterpret_cast<const char*>(data), size);
  std::string name = urlsession::SanitizeFileName(urlsession::FileNameFromContentDisposition(header));
  if (name.empty() || name.size() > 204) abort();
  if (name == "." || name == ".." || name[0] == '.') abort();
  for (unsigned char c : name) {
    if (c == '/' || c == '\\' || c == '\0' || c < 0x20 || c == 0x7f) abort();
  }
  return 0;
}
