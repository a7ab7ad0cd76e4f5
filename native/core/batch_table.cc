// BatchTable: slots of batches reused in LIFO order, an op's id as (slot << 32) | index,
// the readFiles arena's layout, and the countdown a chunk shares with the shards.
#include "batch_table.h"

#include <new>

namespace ringleader {
namespace {

// Where the parts of a read arena for n files with the given slot size sit.
struct ArenaLayout {
  std::size_t data;
  std::size_t total;
};

ArenaLayout arena_layout(std::size_t n, std::size_t slot) {
  const std::size_t data = (5 * n + 63) & ~std::size_t{63};
  return {data, data + n * slot};
}

// A slot that holds `size` bytes: rounded up to 64 so views start on cache lines, and
// capped so one large file does not make a whole chunk's slots large.
std::size_t slot_for(std::size_t size) {
  const std::size_t slot = (size + 63) & ~std::size_t{63};
  return slot < BatchTable::kMaxSlot ? slot : BatchTable::kMaxSlot;
}

}  // namespace

uint32_t BatchTable::take(double token, OpKind kind) {
  uint32_t slot;
  if (free_.empty()) {
    slot = static_cast<uint32_t>(batches_.size());
    batches_.push_back(std::make_unique<Batch>());
  } else {
    slot = free_.back();
    free_.pop_back();
  }
  Batch& b = *batches_[slot];
  b.token = token;
  b.kind = kind;
  b.done = 0;
  // relaxed: no shard holds this batch's counter (it read zero before the batch was freed).
  b.countdown.store(0, std::memory_order_relaxed);
  b.ops.clear();
  b.write_copy.reset();
  b.arena = nullptr;
  b.arena_bytes = 0;
  b.slot_size = 0;
  ++live_;
  return slot;
}

FileOp* BatchTable::add_op(uint32_t slot) {
  FileOp* op = ops_.take();
  op->id = static_cast<uint64_t>(slot) << 32;
  batches_[slot]->ops.push_back(op);
  return op;
}

uint32_t BatchTable::take_reads(double token, const std::string_view* paths, uint32_t n) {
  const std::size_t slot_size = slot_ != 0 ? slot_ : kDefaultSlot;
  const uint32_t slot = take(token, OpKind::kReadFile);
  Batch& batch = *batches_[slot];
  batch.slot_size = slot_size;
  const ArenaLayout layout = arena_layout(n, slot_size);
  batch.arena = arenas_->take(layout.total, &batch.arena_bytes);
  batch.data_offset = layout.data;
  if (batch.arena == nullptr) {
    retire(slot);
    return kNoBatch;
  }
  try {
    batch.ops.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      FileOp* op = ops_.take();
      batch.ops.push_back(op);
      op->kind = OpKind::kReadFile;
      op->keep_buffer = true;
      op->dest = batch.arena + layout.data + i * slot_size;
      op->dest_size = slot_size;
      op->id = (static_cast<uint64_t>(slot) << 32) | i;
      op->countdown = &batch.countdown;
      op->path.assign(paths[i]);
    }
  } catch (const std::bad_alloc&) {
    retire(slot);
    return kNoBatch;
  }
  // relaxed: the submit's queue push (release) carries it to the shards.
  batch.countdown.store(n, std::memory_order_relaxed);
  return slot;
}

bool BatchTable::keep_taken(uint32_t slot, std::size_t taken) {
  Batch& batch = *batches_[slot];
  const std::size_t n = batch.ops.size();
  for (std::size_t i = taken; i < n; ++i) ops_.recycle(batch.ops[i]);
  batch.ops.resize(taken);
  if (taken == 0) {
    retire(slot);
    return false;
  }
  if (taken == n) return false;
  // Take back the ops the shards refused. acq_rel as a shard's decrement: if this brings
  // the count to zero, every taken op is in an outbox already and no shard will ring.
  const auto refused = static_cast<uint32_t>(n - taken);
  return batch.countdown.fetch_sub(refused, std::memory_order_acq_rel) == refused;
}

void BatchTable::retire(uint32_t slot) {
  Batch& b = *batches_[slot];
  for (FileOp* op : b.ops) ops_.recycle(op);
  b.ops.clear();
  b.write_copy.reset();
  // Still here when it was never handed on (refused submit, shutdown): no op points into
  // it any more, since every op of the batch has drained.
  arenas_->give(b.arena, b.arena_bytes);
  b.arena = nullptr;
  b.arena_bytes = 0;
  free_.push_back(slot);
  --live_;
}

bool BatchTable::settled(const Batch& batch) const {
  // acquire: pairs with the shards' decrements; zero means no shard touches the batch again.
  return batch.countdown.load(std::memory_order_acquire) == 0;
}

void BatchTable::collect(FileOp* const* ops, std::size_t n, std::vector<uint32_t>* finished) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto slot = static_cast<uint32_t>(ops[i]->id >> 32);
    Batch& batch = *batches_[slot];
    if (++batch.done != batch.ops.size()) continue;
    // A shard pushes an op before counting it down; the one still to count will ring.
    if (settled(batch)) {
      finished->push_back(slot);
    } else {
      settling_.push_back(slot);
    }
  }
}

void BatchTable::collect_settled(std::vector<uint32_t>* finished) {
  for (std::size_t i = 0; i < settling_.size();) {
    if (settled(*batches_[settling_[i]])) {
      finished->push_back(settling_[i]);
      settling_[i] = settling_.back();
      settling_.pop_back();
    } else {
      ++i;
    }
  }
}

uint32_t BatchTable::batch_limit() const {
  const std::size_t per_batch = kArenaBytes / (slot_ != 0 ? slot_ : kDefaultSlot);
  if (per_batch < kMinBatch) return kMinBatch;
  if (per_batch > kMaxBatch) return kMaxBatch;
  return static_cast<uint32_t>(per_batch);
}

void BatchTable::learn_slot(std::size_t largest) {
  if (largest != 0) slot_ = slot_for(largest);
}

void BatchTable::drop_pools() {
  ops_.clear();
  arenas_->clear();
}

void BatchTable::clear() {
  for (auto& batch : batches_) {
    for (FileOp* op : batch->ops) delete op;
    batch->ops.clear();
    arenas_->give(batch->arena, batch->arena_bytes);
    batch->arena = nullptr;
  }
  batches_.clear();
  free_.clear();
  settling_.clear();
  live_ = 0;
  drop_pools();
}

}  // namespace ringleader
