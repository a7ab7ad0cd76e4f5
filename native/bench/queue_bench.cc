// Queue throughput across threads: SpscQueue (1 -> 1) and MpscQueue (1 -> 1, 2 -> 1)
// against a mutex-protected std::deque doing the same handoff, items per second.
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "mpsc_queue.h"
#include "spsc_queue.h"

using namespace ringleader;
using ringleader::bench::best_rate;

namespace {

constexpr uint64_t kItems = 20'000'000;

class MutexQueue {
 public:
  explicit MutexQueue(std::size_t capacity) : capacity_(capacity) {}
  bool try_push(uint64_t v) {
    std::lock_guard<std::mutex> lock(mu_);
    if (q_.size() >= capacity_) return false;
    q_.push_back(v);
    return true;
  }
  bool try_pop(uint64_t* v) {
    std::lock_guard<std::mutex> lock(mu_);
    if (q_.empty()) return false;
    *v = q_.front();
    q_.pop_front();
    return true;
  }

 private:
  std::mutex mu_;
  std::deque<uint64_t> q_;
  std::size_t capacity_;
};

template <typename Queue>
uint64_t handoff(Queue& q, unsigned producers) {
  const uint64_t per = kItems / producers;
  std::vector<std::thread> threads;
  for (unsigned p = 0; p < producers; ++p) {
    threads.emplace_back([&q, per] {
      for (uint64_t i = 1; i <= per; ++i) {
        while (!q.try_push(i)) std::this_thread::yield();
      }
    });
  }
  uint64_t received = 0;
  uint64_t sum = 0;
  uint64_t v;
  while (received < per * producers) {
    if (q.try_pop(&v)) {
      sum += v;
      ++received;
    }
  }
  for (auto& t : threads) t.join();
  if (sum != producers * (per * (per + 1) / 2)) std::printf("checksum mismatch\n");
  return received;
}

}  // namespace

int main() {
  std::printf("queue handoff, %llu items, best of 3, capacity 1024\n", static_cast<unsigned long long>(kItems));
  const double spsc = best_rate(3, [] {
    SpscQueue<uint64_t> q(1024);
    return handoff(q, 1);
  });
  const double mpsc1 = best_rate(3, [] {
    MpscQueue<uint64_t> q(1024);
    return handoff(q, 1);
  });
  const double mpsc2 = best_rate(3, [] {
    MpscQueue<uint64_t> q(1024);
    return handoff(q, 2);
  });
  const double mutex1 = best_rate(3, [] {
    MutexQueue q(1024);
    return handoff(q, 1);
  });
  const double mutex2 = best_rate(3, [] {
    MutexQueue q(1024);
    return handoff(q, 2);
  });
  std::printf("  spsc  1->1  %8.1f M items/s  (%.1fx mutex+deque)\n", spsc / 1e6, spsc / mutex1);
  std::printf("  mpsc  1->1  %8.1f M items/s  (%.1fx mutex+deque)\n", mpsc1 / 1e6, mpsc1 / mutex1);
  std::printf("  mpsc  2->1  %8.1f M items/s  (%.1fx mutex+deque)\n", mpsc2 / 1e6, mpsc2 / mutex2);
  std::printf("  mutex 1->1  %8.1f M items/s\n", mutex1 / 1e6);
  std::printf("  mutex 2->1  %8.1f M items/s\n", mutex2 / 1e6);
  return 0;
}
