// io_uring setup, mmap of the shared rings, and the submit/complete protocol. Index
// accesses shared with the kernel go through std::atomic_ref with an explicit order.
#include "ring.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

// Same numbers on every architecture since 5.1: include/uapi/asm-generic/unistd.h and
// arch/x86/entry/syscalls/syscall_64.tbl.
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

namespace ringleader {
namespace {

using Index = std::atomic_ref<unsigned>;

int neg_errno(long r) { return r < 0 ? -errno : static_cast<int>(r); }

// Kernel opcode numbering; the tail past IORING_OP_SENDMSG_ZC (48) comes from Linux
// 6.7-6.18 and is listed by number because older headers lack the enum members.
constexpr const char* kOpcodeNames[] = {
    "NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD", "POLL_REMOVE",
    "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT", "ASYNC_CANCEL",
    "LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE", "STATX", "READ",
    "WRITE", "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL", "SPLICE",
    "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT",
    "SYMLINKAT", "LINKAT", "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET",
    "URING_CMD", "SEND_ZC", "SENDMSG_ZC", "READ_MULTISHOT", "WAITID", "FUTEX_WAIT", "FUTEX_WAKE",
    "FUTEX_WAITV", "FIXED_FD_INSTALL", "FTRUNCATE", "BIND", "LISTEN", "RECV_ZC", "EPOLL_WAIT",
    "READV_FIXED", "WRITEV_FIXED", "PIPE", "NOP128", "URING_CMD128",
};

}  // namespace

int sys_io_uring_setup(unsigned entries, io_uring_params* p) {
  return neg_errno(syscall(__NR_io_uring_setup, entries, p));
}

int sys_io_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return neg_errno(syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}

int sys_io_uring_register(int fd, unsigned opcode, const void* arg, unsigned nr_args) {
  return neg_errno(syscall(__NR_io_uring_register, fd, opcode, arg, nr_args));
}

const char* opcode_name(unsigned op) {
  return op < sizeof(kOpcodeNames) / sizeof(kOpcodeNames[0]) ? kOpcodeNames[op] : nullptr;
}

Ring::~Ring() { close(); }

int Ring::init(const RingOptions& options) {
  if (fd_ >= 0) return -EBUSY;
  if (options.entries == 0 || options.entries > 32768) return -EINVAL;
  // SQPOLL refuses the task-run flags (the SQ thread runs task work itself), so it has
  // its own, shorter ladder.
  static constexpr unsigned kLadder[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP,
      0,
  };
  static constexpr unsigned kSqpollLadder[] = {
      IORING_SETUP_SQPOLL | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP,
      IORING_SETUP_SQPOLL,
  };
  int r = -EINVAL;
  if (options.sqpoll) {
    for (unsigned flags : kSqpollLadder) {
      r = try_setup(options.entries, flags, options.sqpoll_idle_ms);
      if (r != -EINVAL) break;
    }
  } else {
    for (unsigned flags : kLadder) {
      r = try_setup(options.entries, flags, 0);
      if (r != -EINVAL) break;
    }
  }
  return r;
}

int Ring::try_setup(unsigned entries, unsigned flags, unsigned sq_thread_idle) {
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  p.flags = flags;
  p.sq_thread_idle = sq_thread_idle;
  const int fd = sys_io_uring_setup(entries, &p);
  if (fd < 0) return fd;
  fd_ = fd;
  setup_flags_ = flags;
  features_ = p.features;
  int r = map_rings(p);
  if (r == 0) r = probe_opcodes();
  if (r < 0) close();
  return r;
}

int Ring::map_rings(const io_uring_params& p) {
  sq_map_size_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_map_size_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (cq_map_size_ > sq_map_size_) sq_map_size_ = cq_map_size_;
    cq_map_size_ = sq_map_size_;
  }
  void* sq = mmap(nullptr, sq_map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                  IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED) return -errno;
  sq_map_ = sq;
  if (single) {
    cq_map_ = sq_map_;
  } else {
    void* cq = mmap(nullptr, cq_map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                    IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) return -errno;
    cq_map_ = cq;
  }
  sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                    IORING_OFF_SQES);
  if (sqes == MAP_FAILED) return -errno;
  sqes_ = static_cast<io_uring_sqe*>(sqes);

  char* sq_base = static_cast<char*>(sq_map_);
  sq_khead_ = reinterpret_cast<unsigned*>(sq_base + p.sq_off.head);
  sq_ktail_ = reinterpret_cast<unsigned*>(sq_base + p.sq_off.tail);
  sq_kflags_ = reinterpret_cast<unsigned*>(sq_base + p.sq_off.flags);
  sq_mask_ = *reinterpret_cast<unsigned*>(sq_base + p.sq_off.ring_mask);
  sq_entries_ = p.sq_entries;
  // SQEs are handed out in ring order, so the indirection array is the identity, written
  // once here instead of on every submit (liburing does the same).
  unsigned* array = reinterpret_cast<unsigned*>(sq_base + p.sq_off.array);
  for (unsigned i = 0; i < sq_entries_; ++i) array[i] = i;
  // relaxed: the kernel has not seen any SQE yet; nothing is published by these loads.
  sqe_head_ = sqe_tail_ = Index(*sq_ktail_).load(std::memory_order_relaxed);

  char* cq_base = static_cast<char*>(cq_map_);
  cq_khead_ = reinterpret_cast<unsigned*>(cq_base + p.cq_off.head);
  cq_ktail_ = reinterpret_cast<unsigned*>(cq_base + p.cq_off.tail);
  cqes_ = reinterpret_cast<io_uring_cqe*>(cq_base + p.cq_off.cqes);
  cq_mask_ = *reinterpret_cast<unsigned*>(cq_base + p.cq_off.ring_mask);
  cq_entries_ = p.cq_entries;
  return 0;
}

int Ring::probe_opcodes() {
  constexpr unsigned kOps = 256;
  std::vector<unsigned char> buf(sizeof(io_uring_probe) + kOps * sizeof(io_uring_probe_op), 0);
  auto* probe = reinterpret_cast<io_uring_probe*>(buf.data());
  supported_.fill(false);
  const int r = sys_io_uring_register(fd_, IORING_REGISTER_PROBE, probe, kOps);
  // Kernels before 5.6 have no probe; they still run the 5.1 opcodes, but nothing we
  // need beyond NOP, so an empty table is the honest answer.
  if (r == -EINVAL) return 0;
  if (r < 0) return r;
  for (unsigned i = 0; i < probe->ops_len && i < kOps; ++i) {
    supported_[probe->ops[i].op] = (probe->ops[i].flags & IO_URING_OP_SUPPORTED) != 0;
  }
  return 0;
}

void Ring::close() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_size_);
  if (cq_map_ != nullptr && cq_map_ != sq_map_) munmap(cq_map_, cq_map_size_);
  if (sq_map_ != nullptr) munmap(sq_map_, sq_map_size_);
  if (fd_ >= 0) ::close(fd_);
  sqes_ = nullptr;
  cq_map_ = sq_map_ = nullptr;
  fd_ = -1;
  supported_.fill(false);
}

io_uring_sqe* Ring::get_sqe() {
  if (sqes_ == nullptr) return nullptr;
  // acquire: the kernel has finished reading SQEs before khead, so their slots may be reused.
  const unsigned head = Index(*sq_khead_).load(std::memory_order_acquire);
  if (sqe_tail_ - head >= sq_entries_) return nullptr;
  io_uring_sqe* sqe = &sqes_[sqe_tail_ & sq_mask_];
  ++sqe_tail_;
  std::memset(sqe, 0, sizeof *sqe);
  return sqe;
}

unsigned Ring::sq_space_left() const {
  if (sqes_ == nullptr) return 0;
  // acquire: as in get_sqe, a slot counts as free only once the kernel is done with it.
  return sq_entries_ - (sqe_tail_ - Index(*sq_khead_).load(std::memory_order_acquire));
}

unsigned Ring::flush_sq() {
  if (sqe_tail_ != sqe_head_) {
    if (setup_flags_ & IORING_SETUP_SQPOLL) {
      // seq_cst: besides publishing the SQEs (release), the tail store must be ordered
      // before the NEED_WAKEUP load in submit_and_wait, or the poller could fall asleep
      // between them and never see these SQEs. A seq_cst store/load pair gives that
      // order without a standalone fence (which TSan cannot model).
      Index(*sq_ktail_).store(sqe_tail_, std::memory_order_seq_cst);
    } else {
      // release: the SQE contents must be visible to the kernel before the tail that covers them.
      Index(*sq_ktail_).store(sqe_tail_, std::memory_order_release);
    }
    sqe_head_ = sqe_tail_;
  }
  // acquire: the count includes SQEs an earlier enter left unconsumed.
  return sqe_tail_ - Index(*sq_khead_).load(std::memory_order_acquire);
}

bool Ring::cq_needs_flush() const {
  // relaxed: a hint the kernel sets asynchronously; a stale value costs one wait cycle.
  return (Index(*sq_kflags_).load(std::memory_order_relaxed) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;
}

int Ring::submit_and_wait(unsigned wait_nr) {
  if (fd_ < 0) return -EBADF;
  for (;;) {
    const unsigned pending = flush_sq();
    unsigned flags = 0;
    bool enter = false;
    if (setup_flags_ & IORING_SETUP_SQPOLL) {
      // seq_cst: pairs with the seq_cst tail store in flush_sq (see there).
      if (Index(*sq_kflags_).load(std::memory_order_seq_cst) & IORING_SQ_NEED_WAKEUP) {
        flags |= IORING_ENTER_SQ_WAKEUP;
        enter = true;
      }
    } else if (pending != 0) {
      enter = true;
    }
    if (wait_nr != 0 || cq_needs_flush() || (enter && (setup_flags_ & IORING_SETUP_DEFER_TASKRUN))) {
      flags |= IORING_ENTER_GETEVENTS;
      enter = true;
    }
    if (!enter) return static_cast<int>(pending);
    const unsigned to_submit = (setup_flags_ & IORING_SETUP_SQPOLL) ? 0 : pending;
    const int r = sys_io_uring_enter(fd_, to_submit, wait_nr, flags);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    return (setup_flags_ & IORING_SETUP_SQPOLL) ? static_cast<int>(pending) : r;
  }
}

int Ring::peek_cqe(io_uring_cqe** cqe) {
  return peek_batch_cqe(cqe, 1) == 1 ? 0 : -EAGAIN;
}

unsigned Ring::peek_batch_cqe(io_uring_cqe** cqes, unsigned max) {
  if (fd_ < 0) return 0;
  for (int attempt = 0;; ++attempt) {
    // relaxed: only this thread writes khead.
    const unsigned head = Index(*cq_khead_).load(std::memory_order_relaxed);
    // acquire: CQE contents written by the kernel are visible once its tail is.
    const unsigned tail = Index(*cq_ktail_).load(std::memory_order_acquire);
    unsigned n = tail - head;
    if (n != 0 || attempt != 0 || !cq_needs_flush()) {
      if (n > max) n = max;
      for (unsigned i = 0; i < n; ++i) cqes[i] = &cqes_[(head + i) & cq_mask_];
      return n;
    }
    // Completions are parked in the overflow list or behind task work; let the kernel post them.
    sys_io_uring_enter(fd_, 0, 0, IORING_ENTER_GETEVENTS);
  }
}

int Ring::wait_cqe(io_uring_cqe** cqe) {
  for (;;) {
    if (peek_cqe(cqe) == 0) return 0;
    const int r = sys_io_uring_enter(fd_, 0, 1, IORING_ENTER_GETEVENTS);
    if (r < 0 && r != -EINTR) return r;
  }
}

void Ring::cq_advance(unsigned n) {
  if (n == 0 || fd_ < 0) return;
  // relaxed: only this thread writes khead.
  const unsigned head = Index(*cq_khead_).load(std::memory_order_relaxed);
  // release: we are done reading these CQEs before the kernel may overwrite them.
  Index(*cq_khead_).store(head + n, std::memory_order_release);
}

int Ring::register_files_sparse(unsigned count) {
  if (fd_ < 0) return -EBADF;
  if (count == 0) return -EINVAL;
  // -1 entries make a sparse table (Linux 5.5); unlike IORING_REGISTER_FILES2 with
  // IORING_RSRC_REGISTER_SPARSE it needs no 5.19 kernel.
  std::vector<int> fds(count, -1);
  return sys_io_uring_register(fd_, IORING_REGISTER_FILES, fds.data(), count);
}

}  // namespace ringleader
