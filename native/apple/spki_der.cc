// SubjectPublicKeyInfo DER encoding (see spki_der.h). Runs on the Apple engine's delegate
// queue, inside the server-trust challenge; pure function.
#include "apple/spki_der.h"

namespace urlsession {
namespace {

// DER: a tag and its definite length, then the contents.
void AppendDer(std::string* out, unsigned char tag, const std::string& contents) {
  out->push_back(static_cast<char>(tag));
  size_t length = contents.size();
  if (length < 0x80) {
    out->push_back(static_cast<char>(length));
  } else {
    std::string bytes;
    for (; length > 0; length >>= 8) bytes.insert(bytes.begin(), static_cast<char>(length & 0xff));
    out->push_back(static_cast<char>(0x80 | bytes.size()));
    out->append(bytes);
  }
  out->append(contents);
}

}  // namespace

// SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING key }.
std::string SubjectPublicKeyInfo(SpkiKeyType type, long bits, const std::string& rawKey) {
  // AlgorithmIdentifier contents: rsaEncryption + NULL, or id-ecPublicKey + the curve's OID.
  static const char kRsa[] = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00";
  static const char kEcP256[] = "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07";
  static const char kEcP384[] = "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x22";
  static const char kEcP521[] = "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x23";
  std::string algorithm;
  if (type == SpkiKeyType::Rsa)
    algorithm.assign(kRsa, sizeof(kRsa) - 1);
  else if (type == SpkiKeyType::Ec && bits == 256)
    algorithm.assign(kEcP256, sizeof(kEcP256) - 1);
  else if (type == SpkiKeyType::Ec && bits == 384)
    algorithm.assign(kEcP384, sizeof(kEcP384) - 1);
  else if (type == SpkiKeyType::Ec && bits == 521)
    algorithm.assign(kEcP521, sizeof(kEcP521) - 1);
  else
    return std::string();
  std::string algorithmIdentifier, bitString, spki;
  AppendDer(&algorithmIdentifier, 0x30, algorithm);
  AppendDer(&bitString, 0x03, std::string(1, '\0') + rawKey);  // no unused bits
  AppendDer(&spki, 0x30, algorithmIdentifier + bitString);
  return spki;
}

}  // namespace urlsession
