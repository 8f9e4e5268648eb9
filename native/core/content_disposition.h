// File names from Content-Disposition (RFC 6266, with RFC 8187's filename*).
// Pure functions; any thread.
#pragma once

#include <string>

namespace urlsession {

// The file name the header proposes, unsanitised ("" when it has none). filename* wins over
// filename; its UTF-8 and ISO-8859-1 charsets are decoded to UTF-8.
// The caller must pass the result through SanitizeFileName before touching the disk.
std::string FileNameFromContentDisposition(const std::string& header);

}  // namespace urlsession
