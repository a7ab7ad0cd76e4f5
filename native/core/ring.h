// One io_uring instance driven by raw syscalls and <linux/io_uring.h> (no liburing, so
// installing needs nothing beyond kernel headers), in liburing's shape: get_sqe, prep_*,
// submit, peek_cqe / wait_cqe, cqe_seen. Errors are negative errno values.
#pragma once

#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <cstring>

// The build machine's header may predate flags the running kernel supports. Values are
// from include/uapi/linux/io_uring.h in the kernel release named on each line.
#ifndef IORING_SETUP_CLAMP
#define IORING_SETUP_CLAMP (1U << 4)  // Linux 5.6
#endif
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)  // Linux 5.18
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)  // Linux 5.19
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)  // Linux 5.19
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)  // Linux 6.0
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)  // Linux 6.1
#endif
#ifndef IORING_SQ_TASKRUN
#define IORING_SQ_TASKRUN (1U << 2)  // Linux 5.19
#endif
#ifndef IOSQE_CQE_SKIP_SUCCESS
#define IOSQE_CQE_SKIP_SUCCESS (1U << 6)  // Linux 5.17
#endif
#ifndef IORING_FEAT_CQE_SKIP
#define IORING_FEAT_CQE_SKIP (1U << 11)  // Linux 5.17
#endif
#ifndef IORING_FEAT_LINKED_FILE
#define IORING_FEAT_LINKED_FILE (1U << 12)  // Linux 5.17
#endif
#ifndef IORING_ASYNC_CANCEL_ALL
#define IORING_ASYNC_CANCEL_ALL (1U << 0)  // Linux 5.19
#endif
#ifndef IORING_ASYNC_CANCEL_ANY
#define IORING_ASYNC_CANCEL_ANY (1U << 2)  // Linux 5.19
#endif

namespace ringleader {

struct RingOptions {
  unsigned entries = 256;  // SQ size; the CQ gets twice as many
  bool sqpoll = false;     // opt-in: a kernel thread polls the SQ (burns a core while busy)
  unsigned sqpoll_idle_ms = 1000;
};

class Ring {
 public:
  Ring() = default;
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  Ring(Ring&&) = delete;
  Ring& operator=(Ring&&) = delete;

  // Sets up the ring, trying SINGLE_ISSUER|DEFER_TASKRUN, then COOP_TASKRUN, then no
  // flags, stepping down only when the kernel answers EINVAL. With SINGLE_ISSUER every
  // later call must come from the thread that called init.
  int init(const RingOptions& options);
  void close();
  bool is_open() const { return fd_ >= 0; }

  // A zeroed SQE, or nullptr when the SQ is full (submit, then retry).
  io_uring_sqe* get_sqe();
  unsigned sq_space_left() const;

  // Submits every prepared SQE; returns how many the kernel took, or -errno.
  int submit() { return submit_and_wait(0); }
  // Submits and blocks until at least wait_nr completions are ready.
  int submit_and_wait(unsigned wait_nr);

  // 0 with *cqe set, or -EAGAIN when no completion is ready.
  int peek_cqe(io_uring_cqe** cqe);
  // Blocks until a completion is ready; 0 or -errno.
  int wait_cqe(io_uring_cqe** cqe);
  // Up to max ready completions without waiting; release them with cq_advance(n).
  unsigned peek_batch_cqe(io_uring_cqe** cqes, unsigned max);
  void cqe_seen(io_uring_cqe*) { cq_advance(1); }
  void cq_advance(unsigned n);

  // Registers a table of count empty direct-descriptor slots.
  int register_files_sparse(unsigned count);

  bool opcode_supported(unsigned op) const { return op < supported_.size() && supported_[op]; }
  unsigned setup_flags() const { return setup_flags_; }
  unsigned features() const { return features_; }
  unsigned sq_entries() const { return sq_entries_; }
  unsigned cq_entries() const { return cq_entries_; }
  int fd() const { return fd_; }

 private:
  int try_setup(unsigned entries, unsigned flags, unsigned sq_thread_idle);
  int map_rings(const io_uring_params& p);
  int probe_opcodes();
  unsigned flush_sq();
  bool cq_needs_flush() const;

  int fd_ = -1;
  unsigned setup_flags_ = 0;
  unsigned features_ = 0;
  std::array<bool, 256> supported_{};

  void* sq_map_ = nullptr;
  std::size_t sq_map_size_ = 0;
  void* cq_map_ = nullptr;  // same as sq_map_ with IORING_FEAT_SINGLE_MMAP
  std::size_t cq_map_size_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  std::size_t sqes_size_ = 0;

  unsigned* sq_khead_ = nullptr;
  unsigned* sq_ktail_ = nullptr;
  unsigned* sq_kflags_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_entries_ = 0;
  unsigned sqe_head_ = 0;  // first SQE not yet published to the kernel
  unsigned sqe_tail_ = 0;  // next SQE get_sqe hands out

  unsigned* cq_khead_ = nullptr;
  unsigned* cq_ktail_ = nullptr;
  io_uring_cqe* cqes_ = nullptr;
  unsigned cq_mask_ = 0;
  unsigned cq_entries_ = 0;
};

// Raw syscalls, returning -errno on failure (never touching errno's meaning for callers).
int sys_io_uring_setup(unsigned entries, io_uring_params* p);
int sys_io_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags);
int sys_io_uring_register(int fd, unsigned opcode, const void* arg, unsigned nr_args);

// Kernel opcode name without the IORING_OP_ prefix ("OPENAT"), or nullptr if unknown.
const char* opcode_name(unsigned op);

inline void sqe_set_data64(io_uring_sqe* sqe, uint64_t data) { sqe->user_data = data; }
inline void sqe_set_flags(io_uring_sqe* sqe, unsigned flags) { sqe->flags = static_cast<uint8_t>(flags); }

inline void prep_rw(uint8_t op, io_uring_sqe* sqe, int fd, const void* addr, uint32_t len, uint64_t offset) {
  sqe->opcode = op;
  sqe->fd = fd;
  sqe->off = offset;
  sqe->addr = reinterpret_cast<uint64_t>(addr);
  sqe->len = len;
}

inline void prep_nop(io_uring_sqe* sqe) { prep_rw(IORING_OP_NOP, sqe, -1, nullptr, 0, 0); }

inline void prep_openat(io_uring_sqe* sqe, int dfd, const char* path, int flags, mode_t mode) {
  prep_rw(IORING_OP_OPENAT, sqe, dfd, path, mode, 0);
  sqe->open_flags = static_cast<uint32_t>(flags);
}

// Opens into direct-descriptor slot `slot` of the registered file table.
inline void prep_openat_direct(io_uring_sqe* sqe, int dfd, const char* path, int flags, mode_t mode,
                               unsigned slot) {
  prep_openat(sqe, dfd, path, flags, mode);
  sqe->file_index = slot + 1;  // 0 means "not direct" to the kernel
}

// offset (uint64_t)-1 reads from, and advances, the file position.
inline void prep_read(io_uring_sqe* sqe, int fd, void* buf, uint32_t nbytes, uint64_t offset) {
  prep_rw(IORING_OP_READ, sqe, fd, buf, nbytes, offset);
}

inline void prep_write(io_uring_sqe* sqe, int fd, const void* buf, uint32_t nbytes, uint64_t offset) {
  prep_rw(IORING_OP_WRITE, sqe, fd, buf, nbytes, offset);
}

inline void prep_close(io_uring_sqe* sqe, int fd) { prep_rw(IORING_OP_CLOSE, sqe, fd, nullptr, 0, 0); }

inline void prep_close_direct(io_uring_sqe* sqe, unsigned slot) {
  prep_close(sqe, 0);
  sqe->file_index = slot + 1;
}

inline void prep_fsync(io_uring_sqe* sqe, int fd, unsigned fsync_flags) {
  prep_rw(IORING_OP_FSYNC, sqe, fd, nullptr, 0, 0);
  sqe->fsync_flags = fsync_flags;
}

inline void prep_statx(io_uring_sqe* sqe, int dfd, const char* path, int flags, unsigned mask,
                       struct statx* statxbuf) {
  prep_rw(IORING_OP_STATX, sqe, dfd, path, mask, reinterpret_cast<uint64_t>(statxbuf));
  sqe->statx_flags = static_cast<uint32_t>(flags);
}

// Cancels every request in flight on the ring.
inline void prep_cancel_all(io_uring_sqe* sqe) {
  prep_rw(IORING_OP_ASYNC_CANCEL, sqe, -1, nullptr, 0, 0);
  sqe->cancel_flags = IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY;
}

}  // namespace ringleader
