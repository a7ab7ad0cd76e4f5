// The io_uring backend's executor. A shard thread owns one, next to its Ring; the
// blocking twin for the threads backend is in blocking_ops.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "file_ops.h"
#include "ring.h"

namespace ringleader {

// io_uring mode: starts ops as SQE chains on a Ring and advances them CQE by CQE. The
// user_data of each SQE is the op's address with the step in its low three bits, so a
// completion finds its op without a lookup; the caller's id rides inside the op.
class UringFileOps {
 public:
  // user_data values the shard may use for its own SQEs; never produced here.
  static constexpr uint64_t kReservedDoorbell = ~uint64_t{0};
  static constexpr uint64_t kReservedCancel = ~uint64_t{0} - 8;

  // max_ops: ops in flight at once. Registers 2 * max_ops direct-descriptor slots when
  // allowed and the kernel can use them in linked chains; otherwise each open takes a
  // round trip before its reads or writes are issued.
  int init(Ring* ring, unsigned max_ops, bool allow_direct = true);

  // SQ entries a shard should size its ring with for max_ops.
  static unsigned ring_entries_for(unsigned max_ops);

  bool direct() const { return direct_; }
  // Direct opens and closes post a CQE only when they fail (IOSQE_CQE_SKIP_SUCCESS).
  bool skips_cqes() const { return skip_; }
  bool can_start() const;
  // Returns op if it finished without I/O (invalid input), else nullptr.
  FileOp* start(FileOp* op);
  // Advances the op named by cqe; returns it once finished, else nullptr.
  FileOp* complete(uint64_t user_data, int32_t res);
  // From now on no op starts a further step: each finishes with what it has or -ECANCELED.
  void set_stopping() { stopping_ = true; }

  unsigned ops_in_flight() const { return ops_in_flight_; }
  // CQEs still due, including detached closes.
  unsigned cqes_due() const { return cqes_due_; }

 private:
  int reserve(unsigned n);
  io_uring_sqe* sqe(uint64_t user_data, unsigned flags);
  void prep_open(FileOp* op, int flags, mode_t mode, unsigned link);
  FileOp* start_read(FileOp* op);
  FileOp* start_write(FileOp* op);
  FileOp* start_simple(FileOp* op);
  FileOp* issue_reads(FileOp* op);
  FileOp* issue_write(FileOp* op);
  FileOp* issue_close(FileOp* op);
  FileOp* read_next(FileOp* op);
  FileOp* check_size(FileOp* op);
  FileOp* sized_read(FileOp* op);
  FileOp* advance_read(FileOp* op);
  FileOp* advance_write(FileOp* op);
  FileOp* advance_simple(FileOp* op);
  void close_detached(FileOp* op);
  void close_handle(int handle, bool direct);
  uint8_t* probe_buffer(const FileOp* op) const;
  FileOp* fail(FileOp* op, int err, const char* syscall);
  // -EFBIG with the size refused in op->stat.size.
  FileOp* too_large(FileOp* op, uint64_t size);
  FileOp* finish(FileOp* op, int64_t result);

  Ring* ring_ = nullptr;
  bool direct_ = false;
  bool skip_ = false;
  bool stopping_ = false;
  unsigned max_ops_ = 0;
  unsigned ops_in_flight_ = 0;
  unsigned cqes_due_ = 0;
  std::vector<unsigned> free_slots_;
  // One EOF-probe buffer per op in flight, for reads into a caller's slot: the probe of
  // a file that fits reads nothing, so it needs no memory of the op's own (a malloc per
  // op on this thread, freed on another), and these few pages stay hot.
  std::unique_ptr<uint8_t[]> probes_;
  std::vector<unsigned> free_probes_;
};

}  // namespace ringleader
