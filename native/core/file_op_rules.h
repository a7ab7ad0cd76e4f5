// What the two executors share, so a read, write or stat behaves the same on either
// backend: open flags, transfer sizes, the first read's capacity, the path and slot
// checks, statx -> StatInfo. Private to blocking_ops.cc and uring_ops.cc.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "file_ops.h"

namespace ringleader {

// First guess for a read of unknown size; the buffer doubles when a file outgrows it.
inline constexpr std::size_t kDefaultReadCapacity = 64 * 1024;
// Tail of the first read's buffer used by the EOF-probing second read.
inline constexpr std::size_t kProbeBytes = 4096;
// One READ/WRITE moves at most this much; the kernel caps single transfers near 2 GiB.
inline constexpr std::size_t kMaxChunk = std::size_t{1} << 30;
inline constexpr unsigned kStatxMask = STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MTIME;
// Non-blocking opens keep a FIFO or device from parking a shard forever; regular files
// ignore the flag.
inline constexpr int kReadFlags = O_RDONLY | O_NONBLOCK;
inline constexpr int kWriteFlags = O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK;
inline constexpr mode_t kWriteMode = 0666;

inline bool valid_path(const std::string& path) { return path.find('\0') == std::string::npos; }

// The op's size bound, never above Node's.
inline std::size_t read_bound(const FileOp* op) { return op->max_size < kMaxReadBytes ? op->max_size : kMaxReadBytes; }

inline bool dest_usable(const FileOp* op) {
  return op->dest != nullptr && op->dest_size != 0 && op->dest_size <= kMaxDestBytes;
}

inline void fill_stat(StatInfo* out, const struct statx& stx) {
  out->size = stx.stx_size;
  out->mtime_ns = static_cast<int64_t>(stx.stx_mtime.tv_sec) * 1000000000 + stx.stx_mtime.tv_nsec;
  out->mode = stx.stx_mode;
  out->is_file = S_ISREG(stx.stx_mode);
  out->is_directory = S_ISDIR(stx.stx_mode);
}

// Capacity for the first read: the hint plus the probe tail, or the default.
inline std::size_t first_capacity(std::size_t hint) {
  std::size_t cap = hint != 0 && hint <= kMaxReadBytes - kProbeBytes ? hint + kProbeBytes : kDefaultReadCapacity;
  return cap < 2 * kProbeBytes ? 2 * kProbeBytes : cap;
}

}  // namespace ringleader
