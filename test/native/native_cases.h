// The small case runner of the C++ tests under test/native/ that TypeScript tests compile and run
// (test/helpers/compile-native.ts): CASE(name) { ... CHECK(condition); ... } registers a case, a
// failing CHECK records "<file>:<line>: <condition>" and leaves the case, and RunCases prints
// "PASS <case>" or "FAIL <case>: <where>" per case and returns 1 when any failed. One thread.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>

namespace native_cases {

inline std::string& Failure() {
  static std::string failure;
  return failure;
}

inline std::map<std::string, std::function<void()>>& Cases() {
  static std::map<std::string, std::function<void()>> cases;
  return cases;
}

struct Register {
  Register(const char* name, std::function<void()> body) { Cases()[name] = std::move(body); }
};

// Runs every case, or only the one named by the first argument.
inline int RunCases(int argc, char** argv) {
  int failed = 0;
  for (auto& [name, body] : Cases()) {
    if (argc > 1 && name != argv[1]) continue;
    Failure().clear();
    body();
    if (Failure().empty()) {
      std::printf("PASS %s\n", name.c_str());
    } else {
      std::printf("FAIL %s: %s\n", name.c_str(), Failure().c_str());
      ++failed;
    }
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace native_cases

#define CHECK(cond)                                                                                  \
  do {                                                                                               \
    if (!(cond)) {                                                                                   \
      if (native_cases::Failure().empty())                                                           \
        native_cases::Failure() = std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #cond; \
      return;                                                                                        \
    }                                                                                                \
  } while (0)

#define CASE(name)                                     \
  void name();                                         \
  native_cases::Register register_##name(#name, name); \
  void name()
