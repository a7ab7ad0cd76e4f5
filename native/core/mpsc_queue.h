// Bounded multi-producer single-consumer queue used for shard inboxes, so any thread
// may submit to a shard. Vyukov-style array queue: each cell carries a sequence number
// that tells producers and the consumer whose turn the cell is.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "spsc_queue.h"

namespace ringleader {

template <typename T>
class MpscQueue {
  static_assert(std::is_trivially_copyable_v<T>, "MpscQueue carries trivially copyable handles");
  static_assert(std::atomic<std::size_t>::is_always_lock_free, "indices must be lock-free");

  struct Cell {
    std::atomic<std::size_t> seq;
    T value;
  };

 public:
  // Capacity is rounded up to a power of two, at least 2.
  explicit MpscQueue(std::size_t capacity)
      : mask_(round_up_pow2(capacity < 2 ? 2 : capacity) - 1),
        cells_(static_cast<Cell*>(::operator new(sizeof(Cell) * (mask_ + 1),
                                                 std::align_val_t(kCacheLineSize)))) {
    static_assert(offsetof(MpscQueue, dequeue_pos_) - offsetof(MpscQueue, enqueue_pos_) >= kCacheLineSize,
                  "producer and consumer positions share a cache line");
    for (std::size_t i = 0; i <= mask_; ++i) {
      // Construction, not an access: the queue is not shared until the constructor returns.
      new (&cells_[i].seq) std::atomic<std::size_t>(i);
    }
  }

  ~MpscQueue() { ::operator delete(cells_, std::align_val_t(kCacheLineSize)); }

  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;
  MpscQueue(MpscQueue&&) = delete;
  MpscQueue& operator=(MpscQueue&&) = delete;

  // Any thread. Returns false when full.
  bool try_push(const T& value) {
    // relaxed: only a starting guess; the cell's sequence decides who owns the slot.
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    Cell* cell;
    for (;;) {
      cell = &cells_[pos & mask_];
      // acquire: the consumer's read of this cell's previous value must be done before we write.
      const std::size_t seq = cell->seq.load(std::memory_order_acquire);
      const auto dif = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (dif == 0) {
        // relaxed: the CAS only claims the position; the cell's data is ordered by seq.
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        return false;
      } else {
        // relaxed: another producer took pos; reload the guess.
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
    cell->value = value;
    // release: publishes the value to the consumer that acquires this sequence.
    cell->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Returns false when empty or when the next producer has not finished
  // writing its cell (later cells wait behind it, keeping FIFO order).
  bool try_pop(T* out) {
    Cell* cell = &cells_[dequeue_pos_ & mask_];
    // acquire: pairs with the producer's release so the value is visible.
    if (cell->seq.load(std::memory_order_acquire) != dequeue_pos_ + 1) return false;
    *out = cell->value;
    // release: the value is copied out, so producers one lap ahead may reuse the cell.
    cell->seq.store(dequeue_pos_ + mask_ + 1, std::memory_order_release);
    ++dequeue_pos_;
    return true;
  }

  // Consumer only.
  std::size_t try_pop_n(T* out, std::size_t max) {
    std::size_t n = 0;
    while (n < max && try_pop(&out[n])) ++n;
    return n;
  }

  // Consumer only: false means an item is ready to pop.
  bool empty() const {
    // acquire: an item seen here must be seen with its value by the following pop.
    return cells_[dequeue_pos_ & mask_].seq.load(std::memory_order_acquire) != dequeue_pos_ + 1;
  }

  std::size_t capacity() const { return mask_ + 1; }

 private:
  const std::size_t mask_;
  Cell* const cells_;

  alignas(kCacheLineSize) std::atomic<std::size_t> enqueue_pos_{0};
  // Owned by the single consumer, so a plain integer; its own line keeps producers'
  // CAS traffic on enqueue_pos_ from evicting it.
  alignas(kCacheLineSize) std::size_t dequeue_pos_ = 0;
};

}  // namespace ringleader
