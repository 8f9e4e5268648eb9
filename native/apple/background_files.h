// The files the Apple engine keeps around nsurlsessiond's work: memory upload bodies written to
// private temporary files (background sessions upload from files only), NSURLSession resume data
// kept next to the destination, and reading back a file of ours through the descriptor its
// identity was checked on. Plain C++17 over core/file_ops.h; thread-safe (no state); used on the
// delegate queue by AppleSessionModel.
#pragma once

#include <cstdint>
#include <string>

#include "core/file_ops.h"
#include "engine/engine.h"

namespace urlsession {

// A new private file <temporaryDirectory>/.urlsession-body.<random>.partial holding `bytes`.
// Returns 0 and its path, or an NSURLError code (nothing is left behind).
int WriteTemporaryBody(const std::string& temporaryDirectory, const std::string& bytes, std::string* path);
// Removes a body WriteTemporaryBody made in `temporaryDirectory`, and nothing else: the path
// may come from a task tag, which is not to be trusted with unlink(2).
void RemoveTemporaryBody(const std::string& temporaryDirectory, const std::string& path);

// Keeps NSURLSession's resume data of `request`'s download in a new private file next to its
// destination and names it in `completion` like a portable partial file, with
// kAppleResumeDataValidator as the validator. False (nothing kept) when the file cannot be made.
bool KeepResumeData(const TaskRequest& request, const std::string& resumeData, int64_t received, Event* completion);

// Reads a regular file of ours (one link, this user) whole; when `expected` is given it must
// still be that file. Checked on the open descriptor. False on any failure.
bool ReadOwnFile(const std::string& path, const FileIdentity* expected, std::string* out);

// The marker in Event::validator / TaskRequest::resumeValidator saying that the partial path
// holds NSURLSession resume data (a background download), not the bytes of a partial file.
extern const char kAppleResumeDataValidator[];

}  // namespace urlsession
