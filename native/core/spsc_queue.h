// Bounded single-producer single-consumer queue used for shard outboxes (shard thread
// -> submitting thread). The layout follows rigtorp/SPSCQueue: producer and consumer
// indices on their own cache lines, each side caching the other's index.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>
#include <type_traits>

namespace ringleader {

inline constexpr std::size_t kCacheLineSize = 64;

// Rounds up to a power of two so an index maps to a slot with a mask, not a division.
inline std::size_t round_up_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

template <typename T>
class SpscQueue {
  // Slots are copied with plain assignment and never destroyed; the queue carries
  // handles (pointers, ids), so there is no lifetime to manage.
  static_assert(std::is_trivially_copyable_v<T>, "SpscQueue carries trivially copyable handles");
  static_assert(std::atomic<std::size_t>::is_always_lock_free, "indices must be lock-free");

 public:
  // Capacity is rounded up to a power of two, at least 2.
  explicit SpscQueue(std::size_t capacity)
      : mask_(round_up_pow2(capacity < 2 ? 2 : capacity) - 1),
        slots_(static_cast<T*>(::operator new(sizeof(T) * (mask_ + 1 + 2 * kPadding),
                                              std::align_val_t(kCacheLineSize)))) {
    static_assert(offsetof(SpscQueue, read_idx_) - offsetof(SpscQueue, write_idx_) >= kCacheLineSize,
                  "producer and consumer indices share a cache line");
    static_assert(offsetof(SpscQueue, read_idx_cache_) - offsetof(SpscQueue, read_idx_) >= kCacheLineSize,
                  "the producer's cache shares a line with the consumer index");
    static_assert(offsetof(SpscQueue, write_idx_cache_) - offsetof(SpscQueue, read_idx_cache_) >= kCacheLineSize,
                  "the two cached indices share a cache line");
  }

  ~SpscQueue() { ::operator delete(slots_, std::align_val_t(kCacheLineSize)); }

  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;
  SpscQueue(SpscQueue&&) = delete;
  SpscQueue& operator=(SpscQueue&&) = delete;

  // Producer only. Returns false when full.
  bool try_push(const T& value) {
    // relaxed: only the producer writes write_idx_.
    const std::size_t w = write_idx_.load(std::memory_order_relaxed);
    if (w - read_idx_cache_ > mask_) {
      // acquire: the consumer's copy out of a slot must finish before we overwrite it.
      read_idx_cache_ = read_idx_.load(std::memory_order_acquire);
      if (w - read_idx_cache_ > mask_) return false;
    }
    slots_[kPadding + (w & mask_)] = value;
    // release: publishes the slot contents together with the new index.
    write_idx_.store(w + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Returns false when empty.
  bool try_pop(T* out) { return try_pop_n(out, 1) == 1; }

  // Consumer only. Pops up to max items with one index publication.
  std::size_t try_pop_n(T* out, std::size_t max) {
    // relaxed: only the consumer writes read_idx_.
    const std::size_t r = read_idx_.load(std::memory_order_relaxed);
    if (write_idx_cache_ - r < max) {
      // acquire: pairs with the producer's release so the slot contents are visible.
      write_idx_cache_ = write_idx_.load(std::memory_order_acquire);
    }
    std::size_t n = write_idx_cache_ - r;
    if (n > max) n = max;
    for (std::size_t i = 0; i < n; ++i) out[i] = slots_[kPadding + ((r + i) & mask_)];
    // release: the copies above must be done before the producer may reuse the slots.
    if (n != 0) read_idx_.store(r + n, std::memory_order_release);
    return n;
  }

  // A snapshot: another thread may push or pop right after it is taken.
  bool empty() const {
    // acquire: a consumer that sees items must also see their contents when it pops.
    return write_idx_.load(std::memory_order_acquire) == read_idx_.load(std::memory_order_acquire);
  }

  std::size_t capacity() const { return mask_ + 1; }

 private:
  // Spare slots on both ends keep neighbouring heap objects off the first and last
  // cache lines of the buffer.
  static constexpr std::size_t kPadding = (kCacheLineSize - 1) / sizeof(T) + 1;

  const std::size_t mask_;
  T* const slots_;

  alignas(kCacheLineSize) std::atomic<std::size_t> write_idx_{0};
  alignas(kCacheLineSize) std::atomic<std::size_t> read_idx_{0};
  // Producer-private copy of read_idx_: refreshed only when the queue looks full.
  alignas(kCacheLineSize) std::size_t read_idx_cache_ = 0;
  // Consumer-private copy of write_idx_: refreshed only when the queue looks empty.
  // The class alignment rounds its size up to whole lines, so this one is not shared
  // with whatever follows the queue in memory.
  alignas(kCacheLineSize) std::size_t write_idx_cache_ = 0;
};

}  // namespace ringleader
