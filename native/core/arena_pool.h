// Recycled read arenas. An arena travels to its consumer whole (the addon hands it to JS
// as one external ArrayBuffer); when the consumer is done with it (V8's finalizer, on the
// JS thread) the memory comes back here and a later batch reuses it, so steady reading
// keeps its pages mapped instead of faulting fresh zeroed pages in for every batch.
// Arenas are mapped, not malloc'd: one the pool does not keep goes straight back to the
// system instead of staying in a fragmented malloc heap, and slot space a file did not
// fill is never touched. Only the thread that owns the engine uses a pool.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringleader {

class ArenaPool {
 public:
  // Arenas come in multiples of this, so a returned one fits later batches of similar size.
  static constexpr std::size_t kGranule = 64 * 1024;
  // Memory kept for reuse; beyond it, returned arenas are unmapped. The pool only ever
  // holds arenas that were out at once, and a collection returns them in a burst (one
  // readFiles of 10,000 x 4 KiB files is 40 MiB of arenas), so the cap is sized for a few
  // such calls rather than one batch. close() empties it.
  static constexpr std::size_t kMaxPooledBytes = 128u << 20;
  static constexpr std::size_t kMaxPooled = 256;

  ArenaPool() = default;
  ~ArenaPool() {
    for (const Entry& e : free_) unmap(e.data, e.size);
  }
  ArenaPool(const ArenaPool&) = delete;
  ArenaPool& operator=(const ArenaPool&) = delete;

  static std::size_t round(std::size_t bytes) { return (bytes + kGranule - 1) / kGranule * kGranule; }

  // An arena of round(bytes) bytes (*size set to it), or nullptr when memory runs out.
  uint8_t* take(std::size_t bytes, std::size_t* size) {
    *size = round(bytes);
    for (std::size_t i = free_.size(); i > 0; --i) {
      if (free_[i - 1].size == *size) {
        uint8_t* data = free_[i - 1].data;
        pooled_bytes_ -= *size;
        free_[i - 1] = free_.back();
        free_.pop_back();
        return data;
      }
    }
    void* p = mmap(nullptr, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }

  // Frees what is pooled; from then on returned arenas are freed, not kept.
  void clear() {
    for (const Entry& e : free_) unmap(e.data, e.size);
    free_.clear();
    pooled_bytes_ = 0;
    closed_ = true;
  }

  void give(uint8_t* data, std::size_t size) {
    if (data == nullptr) return;
    if (closed_ || free_.size() >= kMaxPooled || pooled_bytes_ + size > kMaxPooledBytes) {
      unmap(data, size);
      return;
    }
    free_.push_back({data, size});
    pooled_bytes_ += size;
  }

 private:
  static void unmap(uint8_t* data, std::size_t size) { munmap(data, size); }

  struct Entry {
    uint8_t* data;
    std::size_t size;
  };

  std::vector<Entry> free_;
  std::size_t pooled_bytes_ = 0;
  bool closed_ = false;
};

}  // namespace ringleader
