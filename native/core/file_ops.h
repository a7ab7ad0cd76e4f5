// File operations a shard runs for its callers: read a whole file, write a whole file,
// stat, and a no-op for round-trip measurements. Two executors share one FileOp record:
// UringFileOps (linked SQEs on a Ring) and run_blocking (plain syscalls, threads mode).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ring.h"

namespace ringleader {

enum class OpKind : uint8_t { kNop, kReadFile, kWriteFile, kStat };

// Files larger than this fail with -EFBIG, like fs.readFile's ERR_FS_FILE_TOO_LARGE.
inline constexpr std::size_t kMaxReadBytes = 0x7fffffff;
// Largest FileOp::dest honoured; one READ fills it.
inline constexpr std::size_t kMaxDestBytes = std::size_t{1} << 30;

// A malloc'd, growable byte buffer. malloc (not new[]) so the addon can hand the memory
// to an external Node Buffer whose finalizer calls std::free.
class Bytes {
 public:
  Bytes() = default;
  ~Bytes();
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  Bytes(Bytes&& other) noexcept;
  Bytes& operator=(Bytes&& other) noexcept;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  // False (buffer unchanged) when memory runs out.
  bool reserve(std::size_t capacity);
  void set_size(std::size_t size) { size_ = size <= capacity_ ? size : capacity_; }
  // Gives back spare capacity; reads size buffers for the unknown before they know better.
  void shrink_to_fit();
  // Hands the memory to the caller, who frees it with std::free.
  uint8_t* release();

 private:
  uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

struct StatInfo {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;
  bool is_file = false;
  bool is_directory = false;
};

// One request. The caller fills the inputs, submits the pointer, and gets the same
// pointer back from a completion drain with the outputs set; the core never frees it.
struct FileOp {
  // Inputs.
  uint64_t id = 0;  // caller's identity; returned untouched
  OpKind kind = OpKind::kNop;
  std::string path;
  const uint8_t* write_data = nullptr;  // kWriteFile: borrowed until the op completes
  std::size_t write_size = 0;
  std::size_t size_hint = 0;  // kReadFile: expected size, 0 when unknown
  bool keep_buffer = false;   // kReadFile: the caller reuses data's capacity, so skip the final shrink
  // kReadFile: borrowed memory (a slot of the caller's arena) the read lands in, so the
  // bytes need no copy afterwards. A file that fits stays there (in_dest set, data empty);
  // a larger one moves to `data`. Ignored when null, empty or over kMaxDestBytes.
  uint8_t* dest = nullptr;
  std::size_t dest_size = 0;
  // Ops submitted together may share a countdown holding how many of them are out. The
  // shard that delivers an op decrements it after the op is in the outbox and wakes the
  // consumer only when it reaches zero, so a batch costs one wake-up however many reaps
  // it spans. Null: every delivery wakes the consumer. The counter must outlive the
  // decrement, which may come after the op has been drained: the consumer may reuse it
  // only once it reads zero.
  std::atomic<uint32_t>* countdown = nullptr;

  // Outputs.
  int64_t result = 0;             // >= 0: bytes read or written (0 for stat and nop); < 0: -errno
  const char* syscall = nullptr;  // on failure, the step that failed, named as Node does
  Bytes data;                     // kReadFile: the contents, unless in_dest
  bool in_dest = false;           // kReadFile: the contents are dest[0, result)
  StatInfo stat;                  // kStat

  // Executor-private progress.
  struct Progress {
    int handle = -1;      // fd, or direct-descriptor slot when `direct`
    int probe = -1;       // io_uring reads into a slot: the shard's probe buffer in use
    bool direct = false;
    bool use_dest = false;
    bool opened = false;
    bool closed = false;
    uint8_t stage = 0;
    uint8_t pending = 0;  // CQEs still due for the current stage
    int error = 0;
    const char* error_syscall = nullptr;
    uint32_t first_len = 0;
    int32_t first_res = 0;
    int32_t second_res = 0;
    std::size_t done = 0;  // bytes read or written so far
    struct statx stx;
  } progress;
};

// Threads mode: runs op to completion with blocking syscalls on the calling thread.
void run_blocking(FileOp* op);

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
  FileOp* advance_read(FileOp* op);
  FileOp* advance_write(FileOp* op);
  FileOp* advance_simple(FileOp* op);
  void close_detached(FileOp* op);
  void close_handle(int handle, bool direct);
  uint8_t* probe_buffer(const FileOp* op) const;
  FileOp* fail(FileOp* op, int err, const char* syscall);
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
