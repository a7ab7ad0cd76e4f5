// A dozen lines of test harness instead of a framework download: TEST registers a case,
// CHECK records a failure with its location, main() runs every case and sets the exit
// code. Exit code 77 (ctest's SKIP_RETURN_CODE) marks a suite that cannot run here.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace ringleader::test {

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

inline int& failures() {
  static int n = 0;
  return n;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};

inline int run_all() {
  for (const Case& c : cases()) {
    const int before = failures();
    std::printf("[ RUN  ] %s\n", c.name);
    std::fflush(stdout);
    c.fn();
    std::printf("[ %s ] %s\n", failures() == before ? " OK " : "FAIL", c.name);
  }
  std::printf("%zu cases, %d failed checks\n", cases().size(), failures());
  return failures() == 0 ? 0 : 1;
}

// Stress sizes shrink under TSan, which runs this code roughly ten times slower.
#if defined(__SANITIZE_THREAD__)
inline constexpr long kStressScale = 10;
#else
inline constexpr long kStressScale = 1;
#endif

}  // namespace ringleader::test

#define RL_CONCAT_(a, b) a##b
#define RL_CONCAT(a, b) RL_CONCAT_(a, b)
#define TEST(name)                                                                                  \
  static void name();                                                                               \
  static ::ringleader::test::Register RL_CONCAT(register_, name)(#name, name);                      \
  static void name()

#define CHECK(cond)                                                                                 \
  do {                                                                                              \
    if (!(cond)) {                                                                                  \
      ++::ringleader::test::failures();                                                             \
      std::printf("%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                         \
    }                                                                                               \
  } while (0)

#define CHECK_EQ(a, b)                                                                              \
  do {                                                                                              \
    const auto rl_a = (a);                                                                          \
    const auto rl_b = (b);                                                                          \
    if (!(rl_a == rl_b)) {                                                                          \
      ++::ringleader::test::failures();                                                             \
      std::printf("%s:%d: CHECK_EQ(%s, %s) failed: %lld vs %lld\n", __FILE__, __LINE__, #a, #b,      \
                  static_cast<long long>(rl_a), static_cast<long long>(rl_b));                      \
    }                                                                                               \
  } while (0)

// Stops the current case when a precondition for the rest of it fails.
#define REQUIRE(cond)                                                                               \
  do {                                                                                              \
    if (!(cond)) {                                                                                  \
      ++::ringleader::test::failures();                                                             \
      std::printf("%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);                        \
      return;                                                                                       \
    }                                                                                               \
  } while (0)
