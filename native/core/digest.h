// Streaming message digests for download integrity (Subresource Integrity: sha256/384/512).
// The interface is portable; each platform links one implementation (OpenSSL's libcrypto on
// Linux, CommonCrypto on macOS). Not thread-safe: one digest per transfer, one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace urlsession {

class Digest {
 public:
  virtual ~Digest() = default;
  virtual void Update(const void* data, size_t length) = 0;
  // The raw digest bytes. The digest cannot be updated afterwards.
  virtual std::string Finish() = 0;
};

// "sha256", "sha384" or "sha512"; nullptr for anything else.
std::unique_ptr<Digest> CreateDigest(const std::string& algorithm);

// Hashes the first `length` bytes of a file into `digest` (resumed downloads hash the bytes
// they already have). Returns 0 or an errno value.
int HashFilePrefix(const std::string& path, int64_t length, Digest* digest);

}  // namespace urlsession
