// The DER SubjectPublicKeyInfo of a public key, built around the raw key Security.framework's
// SecKeyCopyExternalRepresentation gives (PKCS#1 RSAPublicKey for RSA, the uncompressed point
// 04|X|Y for EC): what curl's CURLOPT_PINNEDPUBLICKEY hashes. Plain C++; tested on Linux.
#pragma once

#include <string>

namespace urlsession {

enum class SpkiKeyType { Rsa, Ec, Other };

// Any RSA size; EC on P-256, P-384 and P-521. "" for other keys (the pin check then fails closed).
std::string SubjectPublicKeyInfo(SpkiKeyType type, long bits, const std::string& rawKey);

}  // namespace urlsession
