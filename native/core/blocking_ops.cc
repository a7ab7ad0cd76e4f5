// Threads mode: each op runs to completion with plain blocking syscalls on the shard
// thread that took it. A read of a regular file is sized by fstat and lands in the
// caller's slot (FileOp::dest) when it fits; anything else reads until EOF.
#include "blocking_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "file_op_rules.h"

namespace ringleader {
namespace {

int64_t fail_blocking(FileOp* op, int err, const char* syscall) {
  op->syscall = syscall;
  return op->result = -err;
}

// A file over the op's bound: -EFBIG, with the size the caller's error message names.
int64_t too_large(FileOp* op, uint64_t size) {
  op->stat.size = size;
  return fail_blocking(op, EFBIG, "read");
}

void read_blocking(FileOp* op) {
  const std::size_t max = read_bound(op);
  const int fd = ::open(op->path.c_str(), kReadFlags | O_CLOEXEC);
  if (fd < 0) {
    fail_blocking(op, errno, "open");
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail_blocking(op, errno, "fstat");
    ::close(fd);
    return;
  }
  // A regular file's size bounds the read ("size reached") and is checked before a byte
  // is read, as fs.promises does; procfs and devices report 0 or nothing useful, so those
  // read until EOF into a growing buffer, one byte past the bound at most.
  const bool sized = S_ISREG(st.st_mode) && st.st_size > 0;
  if (sized && static_cast<uint64_t>(st.st_size) > max) {
    too_large(op, static_cast<uint64_t>(st.st_size));
    ::close(fd);
    return;
  }
  // A sized file that fits the caller's slot is read straight into it.
  const bool to_dest = sized && dest_usable(op) && static_cast<uint64_t>(st.st_size) <= op->dest_size;
  std::size_t cap = sized ? static_cast<std::size_t>(st.st_size) : first_capacity(op->size_hint);
  if (!sized && cap > max + 1) cap = max + 1;
  std::size_t done = 0;
  int err = 0;
  if (!to_dest && !op->data.reserve(cap)) err = ENOMEM;
  while (err == 0) {
    if (done == cap) {
      if (sized) break;
      // done <= max here, so the buffer can still grow to max + 1.
      cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
      if (!op->data.reserve(cap)) {
        err = ENOMEM;
        break;
      }
    }
    std::size_t want = cap - done;
    if (want > kMaxChunk) want = kMaxChunk;
    uint8_t* base = to_dest ? op->dest : op->data.data();
    const ssize_t n = ::read(fd, base + done, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
    } else if (n == 0) {
      break;
    } else {
      done += static_cast<std::size_t>(n);
      if (done > max) err = EFBIG;
    }
  }
  ::close(fd);
  if (err == EFBIG) {
    op->data.set_size(0);
    op->data.shrink_to_fit();
    too_large(op, done);
    return;
  }
  if (err != 0) {
    fail_blocking(op, err, "read");
    return;
  }
  if (to_dest) {
    op->data.set_size(0);
    op->in_dest = true;
  } else {
    op->data.set_size(done);
    if (!op->keep_buffer) op->data.shrink_to_fit();
  }
  op->result = static_cast<int64_t>(done);
}

void write_blocking(FileOp* op) {
  const int fd = ::open(op->path.c_str(), kWriteFlags | O_CLOEXEC, kWriteMode);
  if (fd < 0) {
    fail_blocking(op, errno, "open");
    return;
  }
  std::size_t done = 0;
  int err = 0;
  while (done < op->write_size) {
    std::size_t want = op->write_size - done;
    if (want > kMaxChunk) want = kMaxChunk;
    const ssize_t n = ::write(fd, op->write_data + done, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) {
      err = EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  // close can report a deferred write error (NFS), so it counts when the writes did not.
  if (::close(fd) != 0 && err == 0 && errno != EINTR) {
    fail_blocking(op, errno, "close");
    return;
  }
  if (err != 0) {
    fail_blocking(op, err, "write");
    return;
  }
  op->result = static_cast<int64_t>(done);
}

void stat_blocking(FileOp* op) {
  struct statx stx;
  if (::statx(AT_FDCWD, op->path.c_str(), AT_STATX_SYNC_AS_STAT, kStatxMask, &stx) != 0) {
    fail_blocking(op, errno, "stat");
    return;
  }
  fill_stat(&op->stat, stx);
  op->result = 0;
}

}  // namespace

void run_blocking(FileOp* op) {
  op->result = 0;
  op->syscall = nullptr;
  op->in_dest = false;
  if (op->kind != OpKind::kNop && !valid_path(op->path)) {
    fail_blocking(op, EINVAL, "open");
    return;
  }
  switch (op->kind) {
    case OpKind::kNop:
      return;
    case OpKind::kReadFile:
      read_blocking(op);
      return;
    case OpKind::kWriteFile:
      if (op->write_data == nullptr && op->write_size != 0) {
        fail_blocking(op, EFAULT, "write");
        return;
      }
      write_blocking(op);
      return;
    case OpKind::kStat:
      stat_blocking(op);
      return;
  }
  fail_blocking(op, EINVAL, "open");
}

}  // namespace ringleader
