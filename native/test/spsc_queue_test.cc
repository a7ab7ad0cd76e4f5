// SpscQueue: single-thread semantics (empty, full, FIFO across wraparound, batch pop)
// and a two-thread stress whose checksum proves nothing is lost, duplicated or reordered.
#include "spsc_queue.h"

#include <cstdint>
#include <thread>

#include "check.h"

using ringleader::SpscQueue;

TEST(rounds_capacity_up_to_a_power_of_two) {
  SpscQueue<int> q(5);
  CHECK_EQ(q.capacity(), 8u);
  SpscQueue<int> tiny(0);
  CHECK_EQ(tiny.capacity(), 2u);
}

TEST(pop_from_empty_queue_fails) {
  SpscQueue<int> q(4);
  int v = -1;
  CHECK(q.empty());
  CHECK(!q.try_pop(&v));
  CHECK_EQ(v, -1);
}

TEST(push_to_full_queue_fails_until_a_pop) {
  SpscQueue<int> q(4);
  for (int i = 0; i < 4; ++i) CHECK(q.try_push(i));
  CHECK(!q.try_push(99));
  int v = -1;
  CHECK(q.try_pop(&v));
  CHECK_EQ(v, 0);
  CHECK(q.try_push(4));
  CHECK(!q.try_push(5));
}

TEST(keeps_fifo_order_across_many_wraparounds) {
  SpscQueue<uint64_t> q(4);
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

TEST(pop_n_takes_at_most_what_is_there) {
  SpscQueue<int> q(8);
  for (int i = 0; i < 5; ++i) q.try_push(i);
  int out[8] = {};
  CHECK_EQ(q.try_pop_n(out, 3), 3u);
  CHECK_EQ(out[2], 2);
  CHECK_EQ(q.try_pop_n(out, 8), 2u);
  CHECK_EQ(out[0], 3);
  CHECK_EQ(out[1], 4);
  CHECK_EQ(q.try_pop_n(out, 8), 0u);
}

TEST(two_threads_move_ten_million_items_in_order) {
  const uint64_t kItems = 10'000'000 / ringleader::test::kStressScale;
  SpscQueue<uint64_t> q(1024);
  uint64_t sum = 0;
  uint64_t out_of_order = 0;
  std::thread consumer([&] {
    uint64_t expected = 1;
    uint64_t buf[64];
    while (expected <= kItems) {
      const std::size_t n = q.try_pop_n(buf, 64);
      for (std::size_t i = 0; i < n; ++i) {
        if (buf[i] != expected) ++out_of_order;
        sum += buf[i];
        ++expected;
      }
      if (n == 0) std::this_thread::yield();
    }
  });
  for (uint64_t i = 1; i <= kItems; ++i) {
    while (!q.try_push(i)) std::this_thread::yield();
  }
  consumer.join();
  CHECK_EQ(out_of_order, 0u);
  CHECK_EQ(sum, kItems * (kItems + 1) / 2);
}

int main() { return ringleader::test::run_all(); }
