// Digest over CommonCrypto (part of libSystem on macOS; no extra framework to link).
#include <CommonCrypto/CommonDigest.h>

#include "core/digest.h"

namespace urlsession {
namespace {

class Sha256Digest final : public Digest {
 public:
  Sha256Digest() { CC_SHA256_Init(&context_); }
  void Update(const void* data, size_t length) override {
    CC_SHA256_Update(&context_, data, static_cast<CC_LONG>(length));
  }
  std::string Finish() override {
    unsigned char out[CC_SHA256_DIGEST_LENGTH];
    CC_SHA256_Final(out, &context_);
    return std::string(reinterpret_cast<char*>(out), sizeof(out));
  }

 private:
  CC_SHA256_CTX context_;
};

// SHA-384 is SHA-512 with other initial values, truncated: CommonCrypto shares the context.
class Sha512FamilyDigest final : public Digest {
 public:
  explicit Sha512FamilyDigest(bool is384) : is384_(is384) {
    if (is384_)
      CC_SHA384_Init(&context_);
    else
      CC_SHA512_Init(&context_);
  }
  void Update(const void* data, size_t length) override {
    if (is384_)
      CC_SHA384_Update(&context_, data, static_cast<CC_LONG>(length));
    else
      CC_SHA512_Update(&context_, data, static_cast<CC_LONG>(length));
  }
  std::string Finish() override {
    unsigned char out[CC_SHA512_DIGEST_LENGTH];
    if (is384_) {
      CC_SHA384_Final(out, &context_);
      return std::string(reinterpret_cast<char*>(out), CC_SHA384_DIGEST_LENGTH);
    }
    CC_SHA512_Final(out, &context_);
    return std::string(reinterpret_cast<char*>(out), CC_SHA512_DIGEST_LENGTH);
  }

 private:
  bool is384_;
  CC_SHA512_CTX context_;
};

}  // namespace

std::unique_ptr<Digest> CreateDigest(const std::string& algorithm) {
  if (algorithm == "sha256") return std::make_unique<Sha256Digest>();
  if (algorithm == "sha384") return std::make_unique<Sha512FamilyDigest>(true);
  if (algorithm == "sha512") return std::make_unique<Sha512FamilyDigest>(false);
  return nullptr;
}

}  // namespace urlsession
