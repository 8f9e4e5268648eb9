// NSURLErrorDomain codes: the one error vocabulary of every engine. The Apple engine passes
// NSError codes through as they are; the libcurl engine maps CURLcode onto these.
#pragma once

namespace urlsession {

enum NSURLErrorCode : int {
  kNSURLErrorUnknown = -1,
  kNSURLErrorCancelled = -999,
  kNSURLErrorBadURL = -1000,
  kNSURLErrorTimedOut = -1001,
  kNSURLErrorUnsupportedURL = -1002,
  kNSURLErrorCannotFindHost = -1003,
  kNSURLErrorCannotConnectToHost = -1004,
  kNSURLErrorNetworkConnectionLost = -1005,
  kNSURLErrorHTTPTooManyRedirects = -1007,
  kNSURLErrorResourceUnavailable = -1008,
  kNSURLErrorNotConnectedToInternet = -1009,
  kNSURLErrorRedirectToNonExistentLocation = -1010,
  kNSURLErrorBadServerResponse = -1011,
  kNSURLErrorUserAuthenticationRequired = -1013,
  kNSURLErrorCannotDecodeContentData = -1016,
  kNSURLErrorCannotParseResponse = -1017,
  kNSURLErrorRequestBodyStreamExhausted = -1021,
  kNSURLErrorAppTransportSecurityRequiresSecureConnection = -1022,
  kNSURLErrorFileDoesNotExist = -1100,
  kNSURLErrorFileIsDirectory = -1101,
  kNSURLErrorNoPermissionsToReadFile = -1102,
  kNSURLErrorDataLengthExceedsMaximum = -1103,
  kNSURLErrorSecureConnectionFailed = -1200,
  kNSURLErrorServerCertificateHasBadDate = -1201,
  kNSURLErrorServerCertificateUntrusted = -1202,
  kNSURLErrorServerCertificateHasUnknownRoot = -1203,
  kNSURLErrorServerCertificateNotYetValid = -1204,
  kNSURLErrorClientCertificateRejected = -1205,
  kNSURLErrorClientCertificateRequired = -1206,
  kNSURLErrorCannotCreateFile = -3000,
  kNSURLErrorCannotOpenFile = -3001,
  kNSURLErrorCannotCloseFile = -3002,
  kNSURLErrorCannotWriteToFile = -3003,
  kNSURLErrorCannotRemoveFile = -3004,
  kNSURLErrorCannotMoveFile = -3005,
  // urlsession's own code, outside NSURLErrorDomain's range of meanings: the downloaded bytes
  // do not match the `integrity` the caller gave.
  kURLSessionErrorIntegrityMismatch = -4000,
};

// A short English description of a code, like NSError's localizedDescription.
const char* DescribeNSURLError(int code);

// Maps an errno from a local file operation to the closest NSURLError code.
// `writing` selects the destination-side codes (-3000/-3003) over the source-side ones.
int NSURLErrorFromErrno(int err, bool writing);

}  // namespace urlsession
