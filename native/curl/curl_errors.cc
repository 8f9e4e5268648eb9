#include "curl/curl_errors.h"

#include "core/error_codes.h"

namespace urlsession {
namespace {

// OpenSSL's X509_V_ERR_* values (stable ABI numbers), without including OpenSSL.
constexpr long kCertNotYetValid = 9;
constexpr long kCertHasExpired = 10;

}  // namespace

// Every CURLcode libcurl 7.88 can return is named here on purpose (test/native/curl-errors.test.ts
// checks that none of 0 .. CURL_LAST-1 maps to NSURLErrorUnknown). Transfers are http/https only, so the FTP, TFTP,
// LDAP, RTSP and SSH codes cannot occur; they still get the code that fits their meaning. Any thread.
int NSURLErrorFromCurl(CURLcode result, long verifyResult) {
  switch (result) {
    case CURLE_OK: return 0;

    // The request itself.
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:  // this libcurl lacks what the URL needs (a protocol, TLS, HTTP/2)
      return kNSURLErrorUnsupportedURL;
    case CURLE_URL_MALFORMAT: return kNSURLErrorBadURL;
    // The engine could not set the transfer up (a bad option, a call from a callback, no memory
    // at init): nothing went over the network and a retry would fail the same way, which is what
    // NSURLSession says with -1002 ("the URL can't be handled"). libcurl's own text follows the
    // description in the message.
    case CURLE_FAILED_INIT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_SETOPT_OPTION_SYNTAX:
    case CURLE_RECURSIVE_API_CALL:
    case CURLE_HTTP_POST_ERROR:  // "internal confusion" building a POST
    case CURLE_CHUNK_FAILED:     // a wildcard-chunk callback failed; this engine sets none
      return kNSURLErrorUnsupportedURL;

    // Finding and reaching the server.
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_FTP_CANT_GET_HOST: return kNSURLErrorCannotFindHost;
    case CURLE_COULDNT_CONNECT:
    case CURLE_INTERFACE_FAILED:  // the local interface to connect from is unusable
    case CURLE_FTP_ACCEPT_FAILED:
    case CURLE_FTP_PORT_FAILED:
    case CURLE_NO_CONNECTION_AVAILABLE:
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_PROXY:  // the proxy refused or broke the tunnel to the server
      return kNSURLErrorCannotConnectToHost;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_FTP_ACCEPT_TIMEOUT: return kNSURLErrorTimedOut;
    case CURLE_TOO_MANY_REDIRECTS: return kNSURLErrorHTTPTooManyRedirects;

    // The connection broke.
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_AGAIN:               // only curl_easy_send/recv return it
    case CURLE_UNRECOVERABLE_POLL:  // waiting on the socket failed for good
      return kNSURLErrorNetworkConnectionLost;

    // The server answered something unusable. libcurl 7.88 reports a header line longer than
    // it accepts (CURL_MAX_HTTP_HEADER, 100 KiB: a 1 MiB status line) as CURLE_OUT_OF_MEMORY;
    // on this engine that is by far its likeliest cause, so it is the server's bad response.
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_RANGE_ERROR:
    case CURLE_HTTP_RETURNED_ERROR:  // only with CURLOPT_FAILONERROR, which this engine never sets
    case CURLE_UPLOAD_FAILED:
    case CURLE_BAD_DOWNLOAD_RESUME:
    case CURLE_FTP_WEIRD_PASS_REPLY:
    case CURLE_FTP_WEIRD_PASV_REPLY:
    case CURLE_FTP_WEIRD_227_FORMAT:
    case CURLE_FTP_COULDNT_SET_TYPE:
    case CURLE_FTP_COULDNT_RETR_FILE:
    case CURLE_FTP_COULDNT_USE_REST:
    case CURLE_FTP_PRET_FAILED:
    case CURLE_QUOTE_ERROR:
    case CURLE_LDAP_SEARCH_FAILED:
    case CURLE_REMOTE_DISK_FULL:
    case CURLE_REMOTE_FILE_EXISTS:
    case CURLE_TFTP_ILLEGAL:
    case CURLE_TFTP_UNKNOWNID:
    case CURLE_RTSP_CSEQ_ERROR:
    case CURLE_RTSP_SESSION_ERROR: return kNSURLErrorBadServerResponse;
    case CURLE_FTP_BAD_FILE_LIST: return kNSURLErrorCannotParseResponse;
    case CURLE_BAD_CONTENT_ENCODING: return kNSURLErrorCannotDecodeContentData;
    case CURLE_FILESIZE_EXCEEDED: return kNSURLErrorDataLengthExceedsMaximum;
    case CURLE_REMOTE_ACCESS_DENIED: return kNSURLErrorResourceUnavailable;
    case CURLE_REMOTE_FILE_NOT_FOUND:
    case CURLE_TFTP_NOTFOUND:
    case CURLE_FILE_COULDNT_READ_FILE: return kNSURLErrorFileDoesNotExist;
    case CURLE_TFTP_PERM: return kNSURLErrorNoPermissionsToReadFile;
    // A redirect or an authentication round needs the body again and it cannot be re-read.
    case CURLE_SEND_FAIL_REWIND: return kNSURLErrorRequestBodyStreamExhausted;

    // Authentication.
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
    case CURLE_LDAP_CANNOT_BIND:
    case CURLE_TFTP_NOSUCHUSER: return kNSURLErrorUserAuthenticationRequired;

    // TLS.
    case CURLE_PEER_FAILED_VERIFICATION:
      if (verifyResult == kCertHasExpired) return kNSURLErrorServerCertificateHasBadDate;
      if (verifyResult == kCertNotYetValid) return kNSURLErrorServerCertificateNotYetValid;
      return kNSURLErrorServerCertificateUntrusted;
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE:  // no usable trust store: nothing can be trusted
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS: return kNSURLErrorServerCertificateUntrusted;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSH: return kNSURLErrorSecureConnectionFailed;
    case CURLE_SSL_CERTPROBLEM: return kNSURLErrorClientCertificateRejected;
    case CURLE_SSL_CLIENTCERT: return kNSURLErrorClientCertificateRequired;

    // Our own callbacks.
    case CURLE_ABORTED_BY_CALLBACK: return kNSURLErrorCancelled;
    case CURLE_WRITE_ERROR: return kNSURLErrorCannotWriteToFile;
    case CURLE_READ_ERROR: return kNSURLErrorCannotOpenFile;

    // Numbers libcurl no longer returns (CURLE_OBSOLETE*, CURLE_FUNCTION_NOT_FOUND) and any code
    // of a newer libcurl: a failure of the exchange with the server, as the default.
    default: return kNSURLErrorBadServerResponse;
  }
}

}  // namespace urlsession
