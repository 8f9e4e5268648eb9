// What a timeout in seconds means (timeoutIntervalForRequest, timeoutIntervalForResource, a
// task's timeout), the same on both engines. Pure, any thread.
#pragma once

namespace urlsession {

// 0 means no timeout (README). NSURLSession has no value for "none" and documents none for 0
// (NSURLSession.h: timeoutIntervalForRequest/timeoutIntervalForResource), so the Apple engine
// sets this many seconds, about three years; the curl engine takes it and anything longer
// (Infinity included) as none too.
constexpr double kNoTimeoutSeconds = 1e8;

// A positive number of seconds shorter than kNoTimeoutSeconds: a timeout that can fire. Zero,
// NaN, Infinity and anything at or past kNoTimeoutSeconds: none.
inline bool IsTimeout(double seconds) { return seconds > 0 && seconds < kNoTimeoutSeconds; }

}  // namespace urlsession
