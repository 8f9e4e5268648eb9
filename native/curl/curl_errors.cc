#include "curl/curl_errors.h"

#include "core/error_codes.h"

namespace urlsession {
namespace {

// OpenSSL's X509_V_ERR_* values (stable ABI numbers), without including OpenSSL.
constexpr long kCertNotYetValid = 9;
constexpr long kCertHasExpired = 10;

}  // namespace

int NSURLErrorFromCurl(CURLcode result, long verifyResult) {
  switch (result) {
    case CURLE_OK: return 0;
    case CURLE_UNSUPPORTED_PROTOCOL: return kNSURLErrorUnsupportedURL;
    case CURLE_URL_MALFORMAT: return kNSURLErrorBadURL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return kNSURLErrorCannotFindHost;
    case CURLE_COULDNT_CONNECT: return kNSURLErrorCannotConnectToHost;
    case CURLE_OPERATION_TIMEDOUT: return kNSURLErrorTimedOut;
    case CURLE_TOO_MANY_REDIRECTS: return kNSURLErrorHTTPTooManyRedirects;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR: return kNSURLErrorNetworkConnectionLost;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_RANGE_ERROR: return kNSURLErrorBadServerResponse;
    case CURLE_BAD_CONTENT_ENCODING: return kNSURLErrorCannotDecodeContentData;
    case CURLE_PEER_FAILED_VERIFICATION:
      if (verifyResult == kCertHasExpired) return kNSURLErrorServerCertificateHasBadDate;
      if (verifyResult == kCertNotYetValid) return kNSURLErrorServerCertificateNotYetValid;
      return kNSURLErrorServerCertificateUntrusted;
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS: return kNSURLErrorServerCertificateUntrusted;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED: return kNSURLErrorSecureConnectionFailed;
    case CURLE_SSL_CERTPROBLEM: return kNSURLErrorClientCertificateRejected;
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR: return kNSURLErrorUserAuthenticationRequired;
    case CURLE_FILESIZE_EXCEEDED: return kNSURLErrorDataLengthExceedsMaximum;
    case CURLE_ABORTED_BY_CALLBACK: return kNSURLErrorCancelled;
    case CURLE_WRITE_ERROR: return kNSURLErrorCannotWriteToFile;
    case CURLE_READ_ERROR: return kNSURLErrorCannotOpenFile;
    default: return kNSURLErrorUnknown;
  }
}

}  // namespace urlsession
