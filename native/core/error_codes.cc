#include "core/error_codes.h"

#include <cerrno>

namespace urlsession {

const char* DescribeNSURLError(int code) {
  switch (code) {
    case kNSURLErrorCancelled: return "cancelled";
    case kNSURLErrorBadURL: return "bad URL";
    case kNSURLErrorTimedOut: return "The request timed out.";
    case kNSURLErrorUnsupportedURL: return "unsupported URL";
    case kNSURLErrorCannotFindHost: return "A server with the specified hostname could not be found.";
    case kNSURLErrorCannotConnectToHost: return "Could not connect to the server.";
    case kNSURLErrorNetworkConnectionLost: return "The network connection was lost.";
    case kNSURLErrorHTTPTooManyRedirects: return "too many HTTP redirects";
    case kNSURLErrorResourceUnavailable: return "The requested resource is unavailable.";
    case kNSURLErrorNotConnectedToInternet: return "The Internet connection appears to be offline.";
    case kNSURLErrorRedirectToNonExistentLocation: return "The server redirected to a location that does not exist.";
    case kNSURLErrorBadServerResponse: return "The server returned a bad response.";
    case kNSURLErrorUserAuthenticationRequired: return "The server requires authentication.";
    case kNSURLErrorCannotDecodeContentData: return "cannot decode content data";
    case kNSURLErrorCannotParseResponse: return "cannot parse response";
    case kNSURLErrorRequestBodyStreamExhausted: return "The request body had to be sent again and could not be.";
    case kNSURLErrorAppTransportSecurityRequiresSecureConnection:
      return "The resource could not be loaded because a secure connection is required (redirect from https to http "
             "refused).";
    case kNSURLErrorFileDoesNotExist: return "The file does not exist.";
    case kNSURLErrorFileIsDirectory: return "The file is a directory.";
    case kNSURLErrorNoPermissionsToReadFile: return "The file could not be read because of permissions.";
    case kNSURLErrorDataLengthExceedsMaximum: return "resource exceeds maximum size";
    case kNSURLErrorSecureConnectionFailed: return "A TLS error caused the secure connection to fail.";
    case kNSURLErrorServerCertificateHasBadDate: return "The certificate for this server has expired.";
    case kNSURLErrorServerCertificateUntrusted: return "The certificate for this server is invalid.";
    case kNSURLErrorServerCertificateHasUnknownRoot:
      return "The certificate for this server was signed by an unknown certifying authority.";
    case kNSURLErrorServerCertificateNotYetValid: return "The certificate for this server is not yet valid.";
    case kNSURLErrorClientCertificateRejected: return "The server did not accept the certificate.";
    case kNSURLErrorClientCertificateRequired: return "The server requires a client certificate.";
    case kNSURLErrorCannotCreateFile: return "The file could not be created.";
    case kNSURLErrorCannotOpenFile: return "The file could not be opened.";
    case kNSURLErrorCannotCloseFile: return "The file could not be closed.";
    case kNSURLErrorCannotWriteToFile: return "The file could not be written.";
    case kNSURLErrorCannotRemoveFile: return "The file could not be removed.";
    case kNSURLErrorCannotMoveFile: return "The file could not be moved.";
    case kURLSessionErrorIntegrityMismatch: return "The downloaded data does not match the expected integrity digest.";
    default: return "An unknown error occurred.";
  }
}

int NSURLErrorFromErrno(int err, bool writing) {
  if (writing) {
    switch (err) {
      case ENOENT:
      case ENOTDIR:
      case EACCES:
      case EPERM:
      case EROFS:
      case EEXIST: return kNSURLErrorCannotCreateFile;
      default:  // ENOSPC, EDQUOT, EFBIG, EIO, ...
        return kNSURLErrorCannotWriteToFile;
    }
  }
  switch (err) {
    case ENOENT:
    case ENOTDIR: return kNSURLErrorFileDoesNotExist;
    case EISDIR: return kNSURLErrorFileIsDirectory;
    case EACCES:
    case EPERM: return kNSURLErrorNoPermissionsToReadFile;
    default: return kNSURLErrorCannotOpenFile;
  }
}

}  // namespace urlsession
