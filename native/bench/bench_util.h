// Timing helpers shared by the benchmarks: a monotonic clock in seconds, best-of-N and
// median-of-N runs, so one noisy run on a shared machine does not decide a figure.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace ringleader::bench {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs fn (returning operations done) `runs` times; returns the best operations/second.
template <typename Fn>
double best_rate(int runs, Fn fn) {
  double best = 0;
  for (int i = 0; i < runs; ++i) {
    const double t0 = now_seconds();
    const double ops = static_cast<double>(fn());
    const double rate = ops / (now_seconds() - t0);
    if (rate > best) best = rate;
  }
  return best;
}

// Runs fn (returning operations done) `runs` times; returns the median operations/second.
template <typename Fn>
double median_rate(int runs, Fn fn) {
  std::vector<double> rates;
  for (int i = 0; i < runs; ++i) {
    const double t0 = now_seconds();
    const double ops = static_cast<double>(fn());
    rates.push_back(ops / (now_seconds() - t0));
  }
  if (rates.empty()) return 0;
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace ringleader::bench
