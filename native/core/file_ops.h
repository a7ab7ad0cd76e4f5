// File operations a shard runs for its callers: read a whole file, write a whole file,
// stat, and a no-op for round-trip measurements. This is the FileOp record both executors
// fill in: UringFileOps (uring_ops.h, linked SQEs on a Ring) and run_blocking
// (blocking_ops.h, plain syscalls, threads mode).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ringleader {

enum class OpKind : uint8_t { kNop, kReadFile, kWriteFile, kStat };

// Files larger than this fail with -EFBIG, like fs.readFile's ERR_FS_FILE_TOO_LARGE
// (Node's kIoMaxLength, 2 GiB - 1).
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
  // kReadFile: a file larger than this fails with -EFBIG, its size in stat.size. A regular
  // file is refused by its size before its buffer grows; one without a size (procfs, a
  // FIFO, a device) reads until EOF or until it passes the bound. Tests lower it; the
  // addon keeps Node's bound. At most kMaxReadBytes.
  std::size_t max_size = kMaxReadBytes;
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
  StatInfo stat;                  // kStat; kReadFile failing with -EFBIG: the size refused (or bytes seen so far)

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
    bool size_checked = false;  // io_uring: the statx that bounds a file outgrowing its first read ran
    std::size_t done = 0;  // bytes read or written so far
    struct statx stx;
  } progress;
};

}  // namespace ringleader
