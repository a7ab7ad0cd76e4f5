// The consumer's side of ops in flight: each submit call's ops form one Batch in a slot of
// this table, found again from an op's id when it drains. The ops of a readFiles chunk
// read into one arena and share a countdown with the shards that deliver them; the chunk
// is finished once all its ops have drained and the countdown reads zero. One thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "arena_pool.h"
#include "file_ops.h"
#include "op_pool.h"

namespace ringleader {

// One submit call's ops; reported once, when the last of them comes back.
struct Batch {
  double token = 0;  // the submitter's, handed back with the delivery
  OpKind kind = OpKind::kNop;
  uint32_t done = 0;  // ops drained so far
  // kReadFile: ops the shards have not yet delivered, as FileOp::countdown; the batch is
  // reused only once it reads zero.
  std::atomic<uint32_t> countdown{0};
  std::vector<FileOp*> ops;
  std::unique_ptr<uint8_t[]> write_copy;  // kWriteFile: the submitter's bytes may go away mid-write
  // kReadFile: the arena the shards read into; owned here until handed on (or back to the
  // pool). Layout: an int32 result per op (bytes, or -errno), a uint8 code per op, then
  // at data_offset one slot_size slot per op. A batch the shards took only part of keeps
  // the data offset it was laid out with.
  uint8_t* arena = nullptr;
  std::size_t arena_bytes = 0;
  std::size_t data_offset = 0;
  std::size_t slot_size = 0;

  int32_t* results() const { return reinterpret_cast<int32_t*>(arena); }
  uint8_t* codes() const { return arena + 4 * ops.size(); }
  uint8_t* slot_at(std::size_t i) const { return arena + data_offset + i * slot_size; }
  // Bytes of the arena in use: header and every op's slot.
  std::size_t arena_length() const { return data_offset + ops.size() * slot_size; }
};

class BatchTable {
 public:
  // take_reads() ran out of memory.
  static constexpr uint32_t kNoBatch = UINT32_MAX;
  // Files per chunk: as many as fill kArenaBytes, within [kMinBatch, kMaxBatch]. Smaller
  // chunks come back sooner (JS cuts views while the shards read the next); larger ones
  // amortize the crossing.
  static constexpr std::size_t kArenaBytes = 4u << 20;
  static constexpr std::size_t kMinBatch = 16;
  static constexpr std::size_t kMaxBatch = 256;
  // Slot size while nothing has been read yet, and the largest slot: bigger files take
  // their own buffer rather than making every slot of a chunk that big.
  static constexpr std::size_t kDefaultSlot = 16 * 1024;
  static constexpr std::size_t kMaxSlot = 128 * 1024;

  explicit BatchTable(std::shared_ptr<ArenaPool> arenas) : arenas_(std::move(arenas)) {}
  ~BatchTable() { clear(); }
  BatchTable(const BatchTable&) = delete;
  BatchTable& operator=(const BatchTable&) = delete;

  Batch& at(uint32_t slot) { return *batches_[slot]; }
  // Batches taken and not yet retired.
  uint32_t live() const { return live_; }

  // An empty batch; one op for it comes from add_op().
  uint32_t take(double token, OpKind kind);
  // A pooled op, already in the batch and named by it.
  FileOp* add_op(uint32_t slot);
  // A readFiles chunk: op i reads paths[i] into slot i of a fresh arena, and all n share
  // the batch's countdown, set to n. kNoBatch (nothing taken) when memory runs out.
  uint32_t take_reads(double token, const std::string_view* paths, uint32_t n);
  // After a submit took the first `taken` of a chunk's ops: the rest go back to the pool,
  // and a chunk of none is retired. True when the caller must ring the consumer itself:
  // the shards delivered every taken op while the refused ones held the count up.
  bool keep_taken(uint32_t slot, std::size_t taken);
  // Gives the batch's ops and arena back to the pools; its slot is free for the next.
  void retire(uint32_t slot);

  // Counts drained ops against their batches. Appends each batch that is now finished to
  // *finished; one whose last shard has yet to count down waits in the settling list.
  void collect(FileOp* const* ops, std::size_t n, std::vector<uint32_t>* finished);
  // Appends the settling batches whose countdown has reached zero since.
  void collect_settled(std::vector<uint32_t>* finished);

  // Paths the next readFiles chunk may hold: as many slots as fill one arena.
  uint32_t batch_limit() const;
  // Sizes the next chunks' slots for the largest file of a delivered one (0: unchanged),
  // so files like it land in their slot with one read.
  void learn_slot(std::size_t largest);

  // Frees the pooled ops and arenas; arenas returned later are freed, not kept.
  void drop_pools();
  // Deletes every batch's ops (none may still be with the shards) and drops the pools.
  void clear();

 private:
  bool settled(const Batch& batch) const;

  std::shared_ptr<ArenaPool> arenas_;
  OpPool ops_;
  std::vector<std::unique_ptr<Batch>> batches_;
  std::vector<uint32_t> free_;
  // Batches whose ops have all drained while a shard has yet to count down its last one.
  std::vector<uint32_t> settling_;
  uint32_t live_ = 0;
  // Arena slot size for the next reads; 0 until a chunk has been delivered.
  std::size_t slot_ = 0;
};

}  // namespace ringleader
