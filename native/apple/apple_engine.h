// The macOS engine: NSURLSession behind the portable Engine interface. C++-only header (no
// Objective-C types), so the bridge and the factory stay plain C++.
//
// The .mm files only translate: NSURLSession does the networking; every decision is in the
// portable AppleSessionModel (apple_session_model.h) and AppleConfigurationPlan
// (apple_configuration.h), which use the same core (native/core/) as the libcurl engine and are
// tested on Linux by test/apple/apple-model.test.ts.
#pragma once

#include <memory>

#include "engine/engine.h"

namespace urlsession {

struct AppleSessionState;  // defined in apple_engine.mm

class AppleEngine final : public Engine {
 public:
  // JS thread. Creates the NSURLSession: a background configuration when the session is
  // persistent and the process has a bundle identifier (UsesSystemBackground() is then true);
  // otherwise a default configuration (ephemeral when there is no stateDirectory).
  AppleEngine(const SessionConfig& config, EventSink* sink);
  ~AppleEngine() override;

  bool UsesSystemBackground() const override;
  void StartTask(TaskRequest request) override;
  void CancelTask(uint64_t taskIdentifier) override;
  void SuspendTask(uint64_t taskIdentifier) override;
  void ResumeTask(uint64_t taskIdentifier) override;
  void AcknowledgeBody(uint64_t taskIdentifier, int64_t bytes) override;
  bool WriteBody(uint64_t taskIdentifier, std::string bytes, BodyStreamEnd end) override;
  void SetSpeedLimit(uint64_t taskIdentifier, int64_t bytesPerSecond) override;
  void FinishTasksAndInvalidate() override;
  void InvalidateAndCancel() override;
  void Reset(uint64_t token) override;
  void Flush(uint64_t token) override;
  void Shutdown() override;

 private:
  std::shared_ptr<AppleSessionState> state_;
};

}  // namespace urlsession
