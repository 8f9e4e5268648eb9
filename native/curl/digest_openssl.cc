// Digest over OpenSSL's libcrypto (already loaded by libcurl's OpenSSL flavour).
#include <openssl/evp.h>

#include "core/digest.h"

namespace urlsession {
namespace {

class OpenSslDigest final : public Digest {
 public:
  explicit OpenSslDigest(const EVP_MD* type) : context_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(context_, type, nullptr);
  }
  ~OpenSslDigest() override { EVP_MD_CTX_free(context_); }
  void Update(const void* data, size_t length) override { EVP_DigestUpdate(context_, data, length); }
  std::string Finish() override {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_, out, &length);
    return std::string(reinterpret_cast<char*>(out), length);
  }

 private:
  EVP_MD_CTX* context_;
};

}  // namespace

std::unique_ptr<Digest> CreateDigest(const std::string& algorithm) {
  if (algorithm == "sha256") return std::make_unique<OpenSslDigest>(EVP_sha256());
  if (algorithm == "sha384") return std::make_unique<OpenSslDigest>(EVP_sha384());
  if (algorithm == "sha512") return std::make_unique<OpenSslDigest>(EVP_sha512());
  return nullptr;
}

}  // namespace urlsession
