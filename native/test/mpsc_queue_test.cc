// MpscQueue: single-thread semantics (empty, full, FIFO across wraparound) and a stress
// where several producers push tagged items: each producer's items must arrive in its
// order, none lost or duplicated (checked by per-producer sequence and a checksum).
#include "mpsc_queue.h"

#include <cstdint>
#include <thread>
#include <vector>

#include "check.h"

using ringleader::MpscQueue;

TEST(pop_from_empty_queue_fails) {
  MpscQueue<int> q(4);
  int v = -1;
  CHECK(q.empty());
  CHECK(!q.try_pop(&v));
}

TEST(push_to_full_queue_fails_until_a_pop) {
  MpscQueue<int> q(4);
  CHECK_EQ(q.capacity(), 4u);
  for (int i = 0; i < 4; ++i) CHECK(q.try_push(i));
  CHECK(!q.try_push(99));
  int v = -1;
  CHECK(q.try_pop(&v));
  CHECK_EQ(v, 0);
  CHECK(q.try_push(4));
  CHECK(!q.try_push(5));
}

TEST(keeps_fifo_order_across_many_wraparounds) {
  MpscQueue<uint64_t> q(4);
  uint64_t next_in = 0;
  uint64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int burst = 1 + round % 4;
    for (int i = 0; i < burst; ++i) CHECK(q.try_push(next_in++));
    for (int i = 0; i < burst; ++i) {
      uint64_t v = 0;
      CHECK(q.try_pop(&v));
      CHECK_EQ(v, next_out++);
    }
  }
  CHECK(q.empty());
}

TEST(pop_n_drains_in_order) {
  MpscQueue<int> q(8);
  for (int i = 0; i < 6; ++i) q.try_push(i);
  int out[8] = {};
  CHECK_EQ(q.try_pop_n(out, 4), 4u);
  CHECK_EQ(out[3], 3);
  CHECK_EQ(q.try_pop_n(out, 8), 2u);
  CHECK_EQ(out[1], 5);
}

TEST(producers_items_all_arrive_in_per_producer_order) {
  constexpr unsigned kProducers = 4;
  const uint64_t kPerProducer = 2'500'000 / ringleader::test::kStressScale;
  MpscQueue<uint64_t> q(1024);
  std::vector<std::thread> producers;
  for (uint64_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&q, p, kPerProducer] {
      for (uint64_t i = 1; i <= kPerProducer; ++i) {
        // Producer id in the top byte, sequence below it.
        while (!q.try_push((p << 56) | i)) std::this_thread::yield();
      }
    });
  }
  uint64_t next[kProducers] = {1, 1, 1, 1};
  uint64_t sum = 0;
  uint64_t out_of_order = 0;
  uint64_t received = 0;
  uint64_t buf[64];
  while (received < kProducers * kPerProducer) {
    const std::size_t n = q.try_pop_n(buf, 64);
    for (std::size_t i = 0; i < n; ++i) {
      const uint64_t p = buf[i] >> 56;
      const uint64_t seq = buf[i] & ((uint64_t{1} << 56) - 1);
      if (p >= kProducers || seq != next[p]) {
        ++out_of_order;
      } else {
        ++next[p];
      }
      sum += seq;
    }
    received += n;
    if (n == 0) std::this_thread::yield();
  }
  for (auto& t : producers) t.join();
  CHECK_EQ(out_of_order, 0u);
  CHECK_EQ(sum, kProducers * (kPerProducer * (kPerProducer + 1) / 2));
  CHECK(q.empty());
}

int main() { return ringleader::test::run_all(); }
