// OpPool: what a recycled op keeps (its path's capacity, a small read buffer) and what
// it must not carry into its next life (borrowed pointers, results, the countdown).
#include "op_pool.h"

namespace ringleader {

FileOp* OpPool::take() {
  if (free_.empty()) return new FileOp();
  FileOp* op = free_.back();
  free_.pop_back();
  pooled_bytes_ -= op->data.capacity();
  return op;
}

void OpPool::recycle(FileOp* op) {
  if (free_.size() >= kMaxPooledOps) {
    delete op;
    return;
  }
  if (op->kind == OpKind::kReadFile && op->data.capacity() <= kMaxKeptBuffer &&
      pooled_bytes_ + op->data.capacity() <= kMaxPooledBytes) {
    pooled_bytes_ += op->data.capacity();
    op->data.set_size(0);
  } else {
    op->data = Bytes();
  }
  op->write_data = nullptr;
  op->write_size = 0;
  op->size_hint = 0;
  op->dest = nullptr;
  op->dest_size = 0;
  op->in_dest = false;
  op->result = 0;
  op->syscall = nullptr;
  op->countdown = nullptr;
  free_.push_back(op);
}

void OpPool::clear() {
  for (FileOp* op : free_) delete op;
  free_.clear();
  pooled_bytes_ = 0;
}

}  // namespace ringleader
