// Recycled FileOps for a consumer that submits in batches: a readFiles chunk takes
// hundreds at once, and an op that keeps its read buffer spares the next read a malloc,
// page faults and a shrink. Bounded in ops and in kept bytes. One thread uses a pool.
#pragma once

#include <cstddef>
#include <vector>

#include "file_ops.h"

namespace ringleader {

class OpPool {
 public:
  // Ops kept for reuse; more than a few batches' worth would only hold memory.
  static constexpr std::size_t kMaxPooledOps = 4096;
  // Read buffers kept in pooled ops, in bytes: an idle engine should not sit on more.
  static constexpr std::size_t kMaxPooledBytes = 32u << 20;
  // Ops keep buffers up to this size for reuse (the EOF probe needs 4 KiB of its own).
  static constexpr std::size_t kMaxKeptBuffer = 128 * 1024;

  OpPool() = default;
  ~OpPool() { clear(); }
  OpPool(const OpPool&) = delete;
  OpPool& operator=(const OpPool&) = delete;

  // A pooled op, or a new one; the caller sets kind, path and the rest of the inputs.
  FileOp* take();
  // Resets op's inputs and outputs, keeping a read buffer within the caps, or deletes it.
  void recycle(FileOp* op);
  // Deletes every pooled op.
  void clear();

  std::size_t size() const { return free_.size(); }
  std::size_t pooled_bytes() const { return pooled_bytes_; }

 private:
  std::vector<FileOp*> free_;
  std::size_t pooled_bytes_ = 0;
};

}  // namespace ringleader
