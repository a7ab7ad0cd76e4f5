// io_uring mode: read = OPENAT -> READ -> READ, the second read proving EOF, then a
// detached CLOSE; write = OPENAT -> WRITE -> CLOSE. Later steps are issued from earlier
// steps' completions. A read with a caller's slot (FileOp::dest) lands there and moves
// to its own buffer only when the file turns out larger; such a file is then sized by a
// STATX before its buffer grows, which refuses one over the bound and reads the rest of
// one within it in a single exact buffer.
#include "uring_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "file_op_rules.h"
#include "spsc_queue.h"

namespace ringleader {
namespace {

enum Tag : unsigned { kTagNop, kTagOpen, kTagRead, kTagProbe, kTagWrite, kTagClose, kTagStatx, kTagDetached };
enum Stage : uint8_t { kStageOpen, kStageFirst, kStageSize, kStageMore, kStageWrite, kStageClose, kStageSimple };

constexpr uint64_t kTagMask = 7;
static_assert(alignof(FileOp) > kTagMask, "op addresses need three free low bits for the step tag");

uint64_t op_data(FileOp* op, Tag tag) { return reinterpret_cast<uint64_t>(op) | tag; }

// A detached close carries its descriptor, not an op: the op is reported before it lands.
// Bit 3: a direct descriptor; bit 4: no CQE unless it fails (not counted as due).
constexpr uint64_t kDetachedDirect = 8;
constexpr uint64_t kDetachedSkip = 16;
uint64_t detached_data(int handle, bool direct, bool skip) {
  return (static_cast<uint64_t>(handle) << 5) | (skip ? kDetachedSkip : 0) | (direct ? kDetachedDirect : 0) | kTagDetached;
}

void record_error(FileOp::Progress* p, int err, const char* syscall) {
  // A failed open cancels the rest of its chain; keep the cause, not the -ECANCELED echoes.
  if (p->error == 0 || p->error == -ECANCELED) {
    p->error = err;
    p->error_syscall = syscall;
  }
}

}  // namespace

unsigned UringFileOps::ring_entries_for(unsigned max_ops) {
  // Between two submits a shard prepares at most three SQEs per op in flight, one
  // detached close per op it finished, and its own doorbell and cancel SQEs.
  return static_cast<unsigned>(round_up_pow2(4 * static_cast<std::size_t>(max_ops) + 2));
}

int UringFileOps::init(Ring* ring, unsigned max_ops, bool allow_direct) {
  if (ring == nullptr || !ring->is_open() || max_ops == 0) return -EINVAL;
  ring_ = ring;
  max_ops_ = max_ops;
  probes_.reset(new (std::nothrow) uint8_t[static_cast<std::size_t>(max_ops) * kProbeBytes]);
  if (!probes_) return -ENOMEM;
  free_probes_.clear();
  free_probes_.reserve(max_ops);
  for (unsigned i = max_ops; i > 0; --i) free_probes_.push_back(i - 1);
  // Opening straight into a slot lets READ follow OPENAT in one chain; the kernel must
  // resolve a linked request's file at execution time (IORING_FEAT_LINKED_FILE) for the
  // READ to see the slot the OPENAT just filled. IORING_FILE_INDEX_ALLOC is no use here:
  // it reports the slot only in the OPENAT's CQE, too late for a linked READ, so slots
  // come from our own free list instead.
  const bool kernel_ok = allow_direct && (ring->features() & IORING_FEAT_LINKED_FILE) && ring->opcode_supported(IORING_OP_OPENAT) &&
                         ring->opcode_supported(IORING_OP_CLOSE) && ring->opcode_supported(IORING_OP_READ);
  const unsigned slots = 2 * max_ops;
  direct_ = kernel_ok && ring->register_files_sparse(slots) == 0;
  // Only where a failed request's CQE also stands for its linked successors (which then
  // post none): that is what the skip flag has meant since it appeared, in 5.17.
  skip_ = direct_ && (ring->features() & IORING_FEAT_CQE_SKIP) != 0;
  free_slots_.clear();
  if (direct_) {
    free_slots_.reserve(slots);
    for (unsigned i = slots; i > 0; --i) free_slots_.push_back(i - 1);
  }
  return 0;
}

bool UringFileOps::can_start() const {
  return ops_in_flight_ < max_ops_ && (!direct_ || !free_slots_.empty());
}

int UringFileOps::reserve(unsigned n) {
  while (ring_->sq_space_left() < n) {
    const int r = ring_->submit();
    if (r < 0) return r;
  }
  return 0;
}

io_uring_sqe* UringFileOps::sqe(uint64_t user_data, unsigned flags) {
  io_uring_sqe* s = ring_->get_sqe();  // reserve() made room
  sqe_set_data64(s, user_data);
  sqe_set_flags(s, flags);
  if ((flags & IOSQE_CQE_SKIP_SUCCESS) == 0) ++cqes_due_;
  return s;
}

FileOp* UringFileOps::start(FileOp* op) {
  op->result = 0;
  op->syscall = nullptr;
  op->in_dest = false;
  op->progress = FileOp::Progress{};
  ++ops_in_flight_;
  if (op->kind != OpKind::kNop && !valid_path(op->path)) return fail(op, -EINVAL, "open");
  switch (op->kind) {
    case OpKind::kReadFile:
      return start_read(op);
    case OpKind::kWriteFile:
      return start_write(op);
    case OpKind::kNop:
    case OpKind::kStat:
      return start_simple(op);
  }
  return fail(op, -EINVAL, "open");
}

void UringFileOps::prep_open(FileOp* op, int flags, mode_t mode, unsigned link) {
  FileOp::Progress& p = op->progress;
  // A direct open that succeeds says nothing: its reads or write report for it. One that
  // fails posts the only CQE of its chain (see complete()).
  const unsigned skip = p.direct && skip_ ? IOSQE_CQE_SKIP_SUCCESS : 0;
  io_uring_sqe* s = sqe(op_data(op, kTagOpen), link | skip);
  if (!skip) p.pending = static_cast<uint8_t>(p.pending + 1);
  if (p.direct) {
    // The kernel refuses O_CLOEXEC on direct descriptors; they are never in the fd table.
    prep_openat_direct(s, AT_FDCWD, op->path.c_str(), flags, mode, static_cast<unsigned>(p.handle));
  } else {
    prep_openat(s, AT_FDCWD, op->path.c_str(), flags | O_CLOEXEC, mode);
  }
}

FileOp* UringFileOps::start_read(FileOp* op) {
  FileOp::Progress& p = op->progress;
  // Without a free probe buffer (more ops started than init allowed for) the read takes
  // the path without a slot: slower, still right.
  p.use_dest = dest_usable(op) && !free_probes_.empty();
  if (p.use_dest) {
    // The first read fills the caller's slot, the probe one of ours: an op in flight
    // holds at most one, and at most max_ops_ are in flight.
    p.probe = static_cast<int>(free_probes_.back());
    free_probes_.pop_back();
    p.first_len = static_cast<uint32_t>(op->dest_size);
  } else {
    const std::size_t cap = first_capacity(op->size_hint);
    if (!op->data.reserve(cap)) return fail(op, -ENOMEM, "read");
    p.first_len = static_cast<uint32_t>(cap - kProbeBytes);
  }
  const int r = reserve(3);
  if (r < 0) return fail(op, r, "open");
  if (direct_) {
    p.direct = true;
    p.handle = static_cast<int>(free_slots_.back());
    free_slots_.pop_back();
    prep_open(op, kReadFlags, 0, IOSQE_IO_LINK);
    return issue_reads(op);
  }
  prep_open(op, kReadFlags, 0, 0);
  p.stage = kStageOpen;
  return nullptr;
}

FileOp* UringFileOps::issue_reads(FileOp* op) {
  FileOp::Progress& p = op->progress;
  const int r = reserve(2);
  if (r < 0) {
    close_detached(op);
    return fail(op, r, "read");
  }
  const unsigned fixed = p.direct ? IOSQE_FIXED_FILE : 0;
  // A short READ breaks an IO_LINK chain, and the first read is short for every file
  // smaller than its buffer, so the probe hangs on with a hard link. Both read at the
  // file position (offset -1): the probe starts exactly where the first read stopped.
  // No CLOSE in the chain: plain-linked it would be cancelled by that short read, and
  // hard-linked it would close a file that may still have bytes to read. It follows,
  // detached, in the next submit, and the op is reported without waiting for it.
  uint8_t* first = p.use_dest ? op->dest : op->data.data();
  uint8_t* probe = p.use_dest ? probe_buffer(op) : first + p.first_len;
  prep_read(sqe(op_data(op, kTagRead), fixed | IOSQE_IO_HARDLINK), p.handle, first, p.first_len, ~uint64_t{0});
  prep_read(sqe(op_data(op, kTagProbe), fixed), p.handle, probe, kProbeBytes, ~uint64_t{0});
  p.stage = kStageFirst;
  p.pending = static_cast<uint8_t>(p.pending + 2);
  return nullptr;
}

FileOp* UringFileOps::read_next(FileOp* op) {
  FileOp::Progress& p = op->progress;
  std::size_t cap = op->data.capacity();
  if (p.done == cap) {
    // advance_read refused anything past the bound, so the buffer can still grow to one
    // byte past it: enough to tell a file of exactly the bound from a longer one.
    const std::size_t limit = read_bound(op) + 1;
    cap = cap > limit / 2 ? limit : cap * 2;
    if (!op->data.reserve(cap)) {
      close_detached(op);
      return fail(op, -ENOMEM, "read");
    }
  }
  const int r = reserve(1);
  if (r < 0) {
    close_detached(op);
    return fail(op, r, "read");
  }
  std::size_t want = cap - p.done;
  if (want > kMaxChunk) want = kMaxChunk;
  p.first_res = 0;
  prep_read(sqe(op_data(op, kTagRead), p.direct ? IOSQE_FIXED_FILE : 0), p.handle, op->data.data() + p.done,
            static_cast<uint32_t>(want), ~uint64_t{0});
  p.stage = kStageMore;
  p.pending = 1;
  return nullptr;
}

FileOp* UringFileOps::check_size(FileOp* op) {
  FileOp::Progress& p = op->progress;
  p.size_checked = true;
  const int r = reserve(1);
  if (r < 0) {
    close_detached(op);
    return fail(op, r, "read");
  }
  // A direct descriptor has no fd to name, so that statx goes by path (a rename in
  // between can only misjudge the bound; reading still stops one byte past it).
  io_uring_sqe* s = sqe(op_data(op, kTagStatx), 0);
  if (p.direct) {
    prep_statx(s, AT_FDCWD, op->path.c_str(), AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_SIZE, &p.stx);
  } else {
    prep_statx(s, p.handle, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_SIZE, &p.stx);
  }
  p.second_res = 0;
  p.stage = kStageSize;
  p.pending = 1;
  return nullptr;
}

FileOp* UringFileOps::sized_read(FileOp* op) {
  FileOp::Progress& p = op->progress;
  // A failed statx only loses the shortcut: the read goes on growing to the bound.
  const bool regular = p.second_res == 0 && (p.stx.stx_mask & (STATX_TYPE | STATX_SIZE)) == (STATX_TYPE | STATX_SIZE) &&
                       S_ISREG(p.stx.stx_mode);
  if (regular && p.stx.stx_size > read_bound(op)) {
    close_detached(op);
    return too_large(op, p.stx.stx_size);
  }
  if (stopping_) {
    close_detached(op);
    return fail(op, -ECANCELED, "read");
  }
  if (regular && p.stx.stx_size > p.done) {
    // The rest in one read, and room for the EOF read after it to land in.
    const std::size_t want = static_cast<std::size_t>(p.stx.stx_size) + kProbeBytes;
    if (!op->data.reserve(want)) {
      close_detached(op);
      return fail(op, -ENOMEM, "read");
    }
  }
  return read_next(op);
}

FileOp* UringFileOps::advance_read(FileOp* op) {
  FileOp::Progress& p = op->progress;
  if (p.stage == kStageSize) return sized_read(op);
  if (p.stage == kStageOpen) {
    if (p.error != 0) return fail(op, p.error, p.error_syscall);
    if (stopping_) {
      close_detached(op);
      return fail(op, -ECANCELED, "read");
    }
    return issue_reads(op);
  }
  if (p.error != 0) {
    if (p.opened) close_detached(op);
    return fail(op, p.error, p.error_syscall);
  }
  bool eof;
  if (p.stage == kStageFirst && p.use_dest) {
    const auto n1 = static_cast<std::size_t>(p.first_res);
    const auto n2 = static_cast<std::size_t>(p.second_res);
    if (n2 == 0) {
      close_detached(op);
      // A slot larger than the bound can hold a whole file that is still too large.
      if (n1 > read_bound(op)) return too_large(op, n1);
      op->data.set_size(0);
      op->in_dest = true;
      return finish(op, static_cast<int64_t>(n1));
    }
    // The file outgrew the slot: carry on in data, slot bytes first, then the probe's.
    const std::size_t have = n1 + n2;
    const std::size_t cap = have < kDefaultReadCapacity / 2 ? kDefaultReadCapacity : 2 * have;
    if (!op->data.reserve(cap)) {
      close_detached(op);
      return fail(op, -ENOMEM, "read");
    }
    std::memcpy(op->data.data(), op->dest, n1);
    std::memcpy(op->data.data() + n1, probe_buffer(op), n2);
    p.use_dest = false;
    p.done = have;
    eof = false;
  } else if (p.stage == kStageFirst) {
    const auto n1 = static_cast<std::size_t>(p.first_res);
    const auto n2 = static_cast<std::size_t>(p.second_res);
    // A first read that stopped short left a gap before the probe's bytes.
    if (n2 != 0 && n1 < p.first_len) std::memmove(op->data.data() + n1, op->data.data() + p.first_len, n2);
    p.done = n1 + n2;
    eof = n2 == 0;
  } else {
    p.done += static_cast<std::size_t>(p.first_res);
    eof = p.first_res == 0;
  }
  if (p.done > read_bound(op)) {
    close_detached(op);
    return too_large(op, p.done);
  }
  if (eof) {
    close_detached(op);
    op->data.set_size(p.done);
    if (!op->keep_buffer) op->data.shrink_to_fit();
    return finish(op, static_cast<int64_t>(p.done));
  }
  if (stopping_) {
    close_detached(op);
    return fail(op, -ECANCELED, "read");
  }
  return p.size_checked ? read_next(op) : check_size(op);
}

FileOp* UringFileOps::start_write(FileOp* op) {
  FileOp::Progress& p = op->progress;
  if (op->write_data == nullptr && op->write_size != 0) return fail(op, -EFAULT, "write");
  const int r = reserve(3);
  if (r < 0) return fail(op, r, "open");
  if (direct_) {
    p.direct = true;
    p.handle = static_cast<int>(free_slots_.back());
    free_slots_.pop_back();
    prep_open(op, kWriteFlags, kWriteMode, IOSQE_IO_LINK);
    return issue_write(op);
  }
  prep_open(op, kWriteFlags, kWriteMode, 0);
  p.stage = kStageOpen;
  return nullptr;
}

FileOp* UringFileOps::issue_write(FileOp* op) {
  FileOp::Progress& p = op->progress;
  const int r = reserve(2);
  if (r < 0) {
    close_detached(op);
    return fail(op, r, "write");
  }
  std::size_t want = op->write_size - p.done;
  const bool last = want <= kMaxChunk;
  if (!last) want = kMaxChunk;
  p.first_res = 0;
  p.first_len = static_cast<uint32_t>(want);
  // The close rides on a plain link: it runs only if the write was complete, and a short
  // write cancels it so the remainder can still be written to the open file.
  prep_write(sqe(op_data(op, kTagWrite), (p.direct ? IOSQE_FIXED_FILE : 0) | (last ? IOSQE_IO_LINK : 0)), p.handle,
             op->write_data + p.done, static_cast<uint32_t>(want), ~uint64_t{0});
  p.pending = static_cast<uint8_t>(p.pending + 1);
  if (last) {
    io_uring_sqe* s = sqe(op_data(op, kTagClose), 0);
    if (p.direct) {
      prep_close_direct(s, static_cast<unsigned>(p.handle));
    } else {
      prep_close(s, p.handle);
    }
    p.pending = static_cast<uint8_t>(p.pending + 1);
  }
  p.stage = kStageWrite;
  return nullptr;
}

FileOp* UringFileOps::issue_close(FileOp* op) {
  FileOp::Progress& p = op->progress;
  const int r = reserve(1);
  if (r < 0) {
    close_detached(op);
    return fail(op, r, "close");
  }
  io_uring_sqe* s = sqe(op_data(op, kTagClose), 0);
  if (p.direct) {
    prep_close_direct(s, static_cast<unsigned>(p.handle));
  } else {
    prep_close(s, p.handle);
  }
  p.stage = kStageClose;
  p.pending = 1;
  return nullptr;
}

FileOp* UringFileOps::advance_write(FileOp* op) {
  FileOp::Progress& p = op->progress;
  if (p.stage == kStageOpen) {
    if (p.error != 0) return fail(op, p.error, p.error_syscall);
    if (stopping_) {
      close_detached(op);
      return fail(op, -ECANCELED, "write");
    }
    return issue_write(op);
  }
  if (p.error != 0) {
    if (p.opened && !p.closed) close_detached(op);
    return fail(op, p.error, p.error_syscall);
  }
  if (p.stage == kStageWrite) {
    if (p.first_res == 0 && p.first_len != 0) {
      if (!p.closed) close_detached(op);
      return fail(op, -EIO, "write");
    }
    p.done += static_cast<std::size_t>(p.first_res);
  }
  if (p.closed) return finish(op, static_cast<int64_t>(p.done));
  if (p.done < op->write_size) {
    if (stopping_) {
      close_detached(op);
      return fail(op, -ECANCELED, "write");
    }
    return issue_write(op);
  }
  // Everything is written but the close did not run (cancelled); closing again is safe
  // because a cancelled close never released the descriptor.
  return issue_close(op);
}

FileOp* UringFileOps::start_simple(FileOp* op) {
  FileOp::Progress& p = op->progress;
  const int r = reserve(1);
  if (r < 0) return fail(op, r, op->kind == OpKind::kStat ? "stat" : nullptr);
  if (op->kind == OpKind::kStat) {
    prep_statx(sqe(op_data(op, kTagStatx), 0), AT_FDCWD, op->path.c_str(), AT_STATX_SYNC_AS_STAT, kStatxMask, &p.stx);
  } else {
    prep_nop(sqe(op_data(op, kTagNop), 0));
  }
  p.stage = kStageSimple;
  p.pending = 1;
  return nullptr;
}

FileOp* UringFileOps::advance_simple(FileOp* op) {
  FileOp::Progress& p = op->progress;
  if (p.error != 0) return fail(op, p.error, p.error_syscall);
  if (op->kind == OpKind::kStat) fill_stat(&op->stat, p.stx);
  return finish(op, 0);
}

FileOp* UringFileOps::complete(uint64_t user_data, int32_t res) {
  const auto tag = static_cast<Tag>(user_data & kTagMask);
  if (tag == kTagDetached) {
    const int handle = static_cast<int>(user_data >> 5);
    const bool direct = (user_data & kDetachedDirect) != 0;
    // A skipping close's slot went back to the pool when it was queued (see close_handle);
    // the failure of a close that never blocks leaves nothing to redo.
    if (user_data & kDetachedSkip) return nullptr;
    --cqes_due_;
    if (res == -ECANCELED) {
      // Cancelled closes (shutdown's cancel-all) still hold the descriptor.
      close_handle(handle, direct);
    } else if (direct) {
      free_slots_.push_back(static_cast<unsigned>(handle));
    }
    return nullptr;
  }
  FileOp* op = reinterpret_cast<FileOp*>(user_data & ~kTagMask);
  FileOp::Progress& p = op->progress;
  if (tag == kTagOpen && p.direct && skip_) {
    // Only a failed skipping open posts, and then its linked steps post nothing: every
    // CQE the op still counted on is this one.
    cqes_due_ -= p.pending;
    p.pending = 1;
  } else {
    --cqes_due_;
  }
  switch (tag) {
    case kTagOpen:
      if (res < 0) {
        p.error = res;  // the chain's cause outranks the cancellations it triggered
        p.error_syscall = "open";
      } else {
        p.opened = true;
        if (!p.direct) p.handle = res;
      }
      break;
    case kTagRead:
      if (res < 0) record_error(&p, res, "read");
      else p.first_res = res;
      break;
    case kTagProbe:
      if (res < 0) record_error(&p, res, "read");
      else p.second_res = res;
      break;
    case kTagWrite:
      if (res < 0) record_error(&p, res, "write");
      else p.first_res = res;
      break;
    case kTagClose:
      // -ECANCELED: the linked write was short or failed, or shutdown cancelled it; the
      // descriptor is still open. Any other result released it, error or not.
      if (res != -ECANCELED) {
        p.closed = true;
        if (res < 0) record_error(&p, res, "close");
      }
      break;
    case kTagStatx:
      // A read's sizing statx is advisory (see sized_read); a stat's is the op.
      if (op->kind == OpKind::kReadFile) p.second_res = res;
      else if (res < 0) record_error(&p, res, "stat");
      break;
    case kTagNop:
    case kTagDetached:  // handled above; listed so the switch stays exhaustive
      break;
  }
  if (p.pending == 0 || --p.pending != 0) return nullptr;
  switch (op->kind) {
    case OpKind::kReadFile:
      return advance_read(op);
    case OpKind::kWriteFile:
      return advance_write(op);
    case OpKind::kNop:
    case OpKind::kStat:
      return advance_simple(op);
  }
  return fail(op, -EINVAL, "open");
}

void UringFileOps::close_detached(FileOp* op) {
  FileOp::Progress& p = op->progress;
  if (!p.opened || p.closed || p.handle < 0) return;
  close_handle(p.handle, p.direct);
  p.closed = true;
  p.handle = -1;  // the slot now belongs to the detached close
}

void UringFileOps::close_handle(int handle, bool direct) {
  if (reserve(1) == 0) {
    // A direct close runs inline when submitted, in SQE order, so an open queued after it
    // into the same slot finds the slot empty: the slot is free once the close is queued,
    // and the close needs no CQE.
    const bool skip = direct && skip_;
    io_uring_sqe* s = sqe(detached_data(handle, direct, skip), skip ? IOSQE_CQE_SKIP_SUCCESS : 0);
    if (direct) {
      prep_close_direct(s, static_cast<unsigned>(handle));
    } else {
      prep_close(s, handle);
    }
    if (skip) free_slots_.push_back(static_cast<unsigned>(handle));
    return;
  }
  // The ring refused to take SQEs; close synchronously rather than leak.
  if (direct) {
    int none = -1;
    io_uring_files_update update{static_cast<uint32_t>(handle), 0, reinterpret_cast<uint64_t>(&none)};
    sys_io_uring_register(ring_->fd(), IORING_REGISTER_FILES_UPDATE, &update, 1);
    free_slots_.push_back(static_cast<unsigned>(handle));
  } else {
    ::close(handle);
  }
}

uint8_t* UringFileOps::probe_buffer(const FileOp* op) const {
  return probes_.get() + static_cast<std::size_t>(op->progress.probe) * kProbeBytes;
}

FileOp* UringFileOps::too_large(FileOp* op, uint64_t size) {
  op->stat.size = size;
  return fail(op, -EFBIG, "read");
}

FileOp* UringFileOps::fail(FileOp* op, int err, const char* syscall) {
  op->syscall = syscall;
  return finish(op, err);
}

FileOp* UringFileOps::finish(FileOp* op, int64_t result) {
  FileOp::Progress& p = op->progress;
  // A slot returns to the pool once nothing can still reach it: never opened, or closed
  // by this op's own CLOSE. Detached closes return theirs when they land.
  if (p.direct && p.handle >= 0) free_slots_.push_back(static_cast<unsigned>(p.handle));
  p.handle = -1;
  // Every read of the op has completed by now, the probe's included.
  if (p.probe >= 0) free_probes_.push_back(static_cast<unsigned>(p.probe));
  p.probe = -1;
  if (result < 0 && op->kind == OpKind::kReadFile) op->data.set_size(0);
  op->result = result;
  --ops_in_flight_;
  return op;
}

}  // namespace ringleader
