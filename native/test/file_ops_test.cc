// File ops through all three executors (io_uring with direct descriptors, io_uring with
// a plain-fd open round trip, blocking syscalls): whole-file reads including short-read
// completion and buffer growth, writes, stat, errors as negative errno with the failing
// syscall named, and no descriptor left open afterwards.
#include "file_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "blocking_ops.h"
#include "check.h"
#include "probe.h"
#include "ring.h"
#include "temp_dir.h"
#include "uring_ops.h"

using namespace ringleader;
using ringleader::test::pattern;
using ringleader::test::TempDir;

namespace {

enum class Mode { kDirect, kTwoStep, kBlocking };
const char* mode_name(Mode m) { return m == Mode::kDirect ? "direct" : m == Mode::kTwoStep ? "two-step" : "blocking"; }

bool g_uring = false;

int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

// Runs one op to completion, including its detached close, on a private ring.
class Executor {
 public:
  explicit Executor(Mode mode) : mode_(mode) {
    if (mode == Mode::kBlocking) return;
    RingOptions o;
    o.entries = UringFileOps::ring_entries_for(8);
    ok_ = ring_.init(o) == 0 && ops_.init(&ring_, 8, mode == Mode::kDirect) == 0;
    if (ok_ && mode == Mode::kDirect) ok_ = ops_.direct();
  }
  bool ok() const { return mode_ == Mode::kBlocking || ok_; }

  void run(FileOp* op) {
    if (mode_ == Mode::kBlocking) {
      run_blocking(op);
      return;
    }
    FileOp* done = ops_.start(op);
    while (done == nullptr || ops_.cqes_due() != 0) {
      if (ring_.submit_and_wait(1) < 0) return;
      io_uring_cqe* cqes[16];
      const unsigned n = ring_.peek_batch_cqe(cqes, 16);
      for (unsigned i = 0; i < n; ++i) {
        if (FileOp* f = ops_.complete(cqes[i]->user_data, cqes[i]->res)) done = f;
      }
      ring_.cq_advance(n);
    }
  }

 private:
  Mode mode_;
  bool ok_ = false;
  Ring ring_;
  UringFileOps ops_;
};

FileOp read_op(const std::string& path, std::size_t hint = 0) {
  FileOp op;
  op.kind = OpKind::kReadFile;
  op.path = path;
  op.size_hint = hint;
  return op;
}

std::string contents(const FileOp& op) {
  return std::string(reinterpret_cast<const char*>(op.data.data()), op.data.size());
}

template <typename Fn>
void each_mode(Fn fn) {
  for (Mode m : {Mode::kDirect, Mode::kTwoStep, Mode::kBlocking}) {
    if (m != Mode::kBlocking && !g_uring) continue;
    Executor ex(m);
    if (!ex.ok()) {
      std::printf("  (%s unavailable here)\n", mode_name(m));
      continue;
    }
    const int fds = open_fds();
    fn(ex, m);
    if (open_fds() != fds) {
      ++::ringleader::test::failures();
      std::printf("  %s mode leaked %d descriptors\n", mode_name(m), open_fds() - fds);
    }
  }
}

}  // namespace

TEST(reads_a_small_file_whole) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string data = pattern(4096);
  const std::string path = dir.write("small", data);
  each_mode([&](Executor& ex, Mode) {
    FileOp op = read_op(path);
    ex.run(&op);
    CHECK_EQ(op.result, 4096);
    CHECK(contents(op) == data);
  });
}

TEST(reads_an_empty_file_as_zero_bytes) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string path = dir.write("empty", "");
  each_mode([&](Executor& ex, Mode) {
    FileOp op = read_op(path);
    ex.run(&op);
    CHECK_EQ(op.result, 0);
    CHECK_EQ(op.data.size(), 0u);
  });
}

TEST(completes_a_file_larger_than_its_first_buffer) {
  TempDir dir;
  REQUIRE(dir.ok());
  // Bigger than the default first buffer, and not a multiple of any buffer size.
  const std::string data = pattern(1024 * 1024 + 123, 7);
  const std::string path = dir.write("large", data);
  each_mode([&](Executor& ex, Mode) {
    FileOp op = read_op(path);
    ex.run(&op);
    CHECK_EQ(op.result, static_cast<int64_t>(data.size()));
    CHECK(contents(op) == data);
  });
}

TEST(completes_a_file_whose_size_hint_was_too_small) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string data = pattern(50000, 3);
  const std::string path = dir.write("hinted", data);
  each_mode([&](Executor& ex, Mode) {
    FileOp op = read_op(path, 10);
    ex.run(&op);
    CHECK(contents(op) == data);
  });
}

TEST(reads_a_file_that_fits_straight_into_the_callers_slot) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string data = pattern(4096, 5);
  const std::string path = dir.write("fits", data);
  each_mode([&](Executor& ex, Mode) {
    // Exactly the file's size: the first read fills the slot, the probe proves EOF.
    for (std::size_t slot_size : {std::size_t{4096}, std::size_t{6000}}) {
      std::string slot(slot_size, '\xee');
      FileOp op = read_op(path);
      op.dest = reinterpret_cast<uint8_t*>(slot.data());
      op.dest_size = slot.size();
      ex.run(&op);
      CHECK_EQ(op.result, 4096);
      CHECK(op.in_dest);
      CHECK_EQ(op.data.size(), 0u);
      CHECK(slot.compare(0, data.size(), data) == 0);
    }
  });
}

TEST(moves_a_file_that_outgrows_the_callers_slot_into_its_own_buffer) {
  TempDir dir;
  REQUIRE(dir.ok());
  for (std::size_t size : {std::size_t{4097}, std::size_t{9000}, std::size_t{300000}}) {
    const std::string data = pattern(size, 11);
    const std::string path = dir.write("big" + std::to_string(size), data);
    each_mode([&](Executor& ex, Mode) {
      std::string slot(4096, '\0');
      FileOp op = read_op(path);
      op.dest = reinterpret_cast<uint8_t*>(slot.data());
      op.dest_size = slot.size();
      ex.run(&op);
      CHECK_EQ(op.result, static_cast<int64_t>(size));
      CHECK(!op.in_dest);
      CHECK(contents(op) == data);
    });
  }
}

TEST(reads_a_sizeless_proc_file_into_a_slot_or_its_own_buffer) {
  each_mode([&](Executor& ex, Mode) {
    for (std::size_t slot_size : {std::size_t{16}, std::size_t{65536}}) {
      std::string slot(slot_size, '\0');
      FileOp op = read_op("/proc/self/status");
      op.dest = reinterpret_cast<uint8_t*>(slot.data());
      op.dest_size = slot.size();
      ex.run(&op);
      CHECK(op.result > 0);
      const std::string text = op.in_dest ? slot.substr(0, static_cast<std::size_t>(op.result)) : contents(op);
      CHECK_EQ(text.size(), static_cast<std::size_t>(op.result));
      CHECK(text.find("Name:") == 0);
    }
  });
}

TEST(reads_a_sizeless_proc_file_to_eof) {
  each_mode([&](Executor& ex, Mode) {
    FileOp op = read_op("/proc/self/status");
    ex.run(&op);
    CHECK(op.result > 0);
    CHECK(contents(op).find("Name:") == 0);
  });
}

TEST(stitches_genuine_short_reads_from_a_fifo) {
  if (!g_uring) return;
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string path = dir.file("fifo");
  REQUIRE(mkfifo(path.c_str(), 0600) == 0);
  // Only io_uring waits for FIFO data; blocking mode opens non-blocking and would see EAGAIN.
  for (Mode m : {Mode::kDirect, Mode::kTwoStep}) {
    Executor ex(m);
    if (!ex.ok()) continue;
    // O_RDWR opens a FIFO without waiting for a reader and keeps a writer alive until
    // the writer thread closes it.
    const int wfd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(wfd >= 0);
    std::thread writer([wfd] {
      for (const char* chunk : {"first|", "second|", "third"}) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        if (::write(wfd, chunk, std::strlen(chunk)) < 0) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      ::close(wfd);
    });
    FileOp op = read_op(path);
    ex.run(&op);
    writer.join();
    CHECK(contents(op) == "first|second|third");
  }
}

TEST(missing_file_is_enoent_from_open) {
  TempDir dir;
  REQUIRE(dir.ok());
  each_mode([&](Executor& ex, Mode) {
    FileOp op = read_op(dir.file("nope"));
    ex.run(&op);
    CHECK_EQ(op.result, -ENOENT);
    CHECK(op.syscall != nullptr && std::string(op.syscall) == "open");
    CHECK_EQ(op.data.size(), 0u);
  });
}

TEST(directory_is_eisdir_from_read) {
  TempDir dir;
  REQUIRE(dir.ok());
  each_mode([&](Executor& ex, Mode) {
    FileOp op = read_op(dir.path());
    ex.run(&op);
    CHECK_EQ(op.result, -EISDIR);
    CHECK(op.syscall != nullptr && std::string(op.syscall) == "read");
  });
}

// Reads through a slot of `slot_size` bytes (0: no slot) and returns the op.
void run_with_slot(Executor& ex, FileOp* op, std::string* slot, std::size_t slot_size) {
  slot->assign(slot_size, '\0');
  if (slot_size != 0) {
    op->dest = reinterpret_cast<uint8_t*>(slot->data());
    op->dest_size = slot->size();
  }
  ex.run(op);
}

TEST(refuses_a_sparse_file_over_2_gib_by_its_size_without_growing_a_buffer) {
  TempDir dir;
  REQUIRE(dir.ok());
  // Sparse: costs no disk, and reading it would take seconds and 3 GiB of memory.
  const std::string path = dir.write("huge", "");
  const uint64_t size = uint64_t{3} << 30;
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(size)) == 0);
  each_mode([&](Executor& ex, Mode) {
    for (std::size_t slot_size : {std::size_t{0}, std::size_t{4096}}) {
      std::string slot;
      FileOp op = read_op(path);
      run_with_slot(ex, &op, &slot, slot_size);
      CHECK_EQ(op.result, -EFBIG);
      CHECK_EQ(op.stat.size, size);
      // Nothing grew: at most the first read's own buffer (64 KiB) was ever taken.
      CHECK(op.data.capacity() <= 64 * 1024);
    }
  });
}

TEST(reads_a_regular_file_of_exactly_the_bound_and_refuses_one_byte_more) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::size_t bound = 100000;
  const std::string data = pattern(bound, 9);
  const std::string exact = dir.write("exact", data);
  const std::string over = dir.write("over", pattern(bound + 1, 9));
  each_mode([&](Executor& ex, Mode) {
    // No slot, a slot the file outgrows, and one it fits whole (checked after the read).
    for (std::size_t slot_size : {std::size_t{0}, std::size_t{4096}, std::size_t{200000}}) {
      std::string slot;
      FileOp ok = read_op(exact);
      ok.max_size = bound;
      run_with_slot(ex, &ok, &slot, slot_size);
      CHECK_EQ(ok.result, static_cast<int64_t>(bound));
      CHECK(ok.in_dest ? slot.compare(0, bound, data) == 0 : contents(ok) == data);
      FileOp refused = read_op(over);
      refused.max_size = bound;
      run_with_slot(ex, &refused, &slot, slot_size);
      CHECK_EQ(refused.result, -EFBIG);
      CHECK_EQ(refused.stat.size, bound + 1);
      CHECK_EQ(refused.data.size(), 0u);
    }
  });
}

TEST(reads_a_sizeless_file_to_eof_up_to_the_bound) {
  // /proc/self/cmdline reports size 0 and stays the same for the whole process.
  std::string cmdline;
  {
    FileOp op = read_op("/proc/self/cmdline");
    run_blocking(&op);
    REQUIRE(op.result > 0);
    cmdline = contents(op);
  }
  each_mode([&](Executor& ex, Mode) {
    FileOp ok = read_op("/proc/self/cmdline");
    ok.max_size = cmdline.size();
    ex.run(&ok);
    CHECK(contents(ok) == cmdline);
    FileOp refused = read_op("/proc/self/cmdline");
    refused.max_size = cmdline.size() - 1;
    ex.run(&refused);
    CHECK_EQ(refused.result, -EFBIG);
    CHECK(refused.stat.size > cmdline.size() - 1);
  });
}

TEST(refuses_an_endless_device_one_byte_past_the_bound) {
  each_mode([&](Executor& ex, Mode) {
    // Past the first buffer, so the read grows, statx finds no size, and growth stops.
    const std::size_t bound = 300000;
    FileOp op = read_op("/dev/zero");
    op.max_size = bound;
    ex.run(&op);
    CHECK_EQ(op.result, -EFBIG);
    CHECK_EQ(op.stat.size, bound + 1);
    CHECK_EQ(op.data.size(), 0u);
  });
}

TEST(reads_a_fifo_of_exactly_the_bound_and_refuses_a_longer_one) {
  if (!g_uring) return;
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string path = dir.file("fifo");
  REQUIRE(mkfifo(path.c_str(), 0600) == 0);
  const std::size_t bound = 200000;
  // Only io_uring waits for FIFO data; blocking mode opens non-blocking and would see EAGAIN.
  for (Mode m : {Mode::kDirect, Mode::kTwoStep}) {
    Executor ex(m);
    if (!ex.ok()) continue;
    for (std::size_t length : {bound, bound + 5000}) {
      const int wfd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      REQUIRE(wfd >= 0);
      const std::string data = pattern(length, 4);
      std::thread writer([wfd, &data] {
        std::size_t off = 0;
        while (off < data.size()) {
          const ssize_t n = ::write(wfd, data.data() + off, std::min<std::size_t>(data.size() - off, 8192));
          if (n <= 0) break;
          off += static_cast<std::size_t>(n);
        }
        ::close(wfd);
      });
      FileOp op = read_op(path);
      op.max_size = bound;
      ex.run(&op);
      if (length > bound) {
        CHECK_EQ(op.result, -EFBIG);
        CHECK(op.stat.size > bound);
        // The refused read stopped taking bytes; drain the rest so the writer can finish.
        const int rfd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        char sink[8192];
        while (rfd >= 0 && ::read(rfd, sink, sizeof sink) != 0) {
        }
        if (rfd >= 0) ::close(rfd);
      } else {
        CHECK(contents(op) == data);
      }
      writer.join();
    }
  }
}

TEST(reuses_direct_slots_and_probe_buffers_across_many_reads_and_failed_opens) {
  TempDir dir;
  REQUIRE(dir.ok());
  // Far more ops than the executor's 8 ops (16 slots): a slot is reused right after its
  // close is queued, and a failed open (its chain's only CQE where opens skip theirs)
  // must leave the accounting whole for the next op.
  std::vector<std::string> datas;
  std::vector<std::string> paths;
  for (int i = 0; i < 40; ++i) {
    datas.push_back(pattern(100 + 37 * static_cast<std::size_t>(i), static_cast<unsigned>(i)));
    paths.push_back(dir.write("r" + std::to_string(i), datas.back()));
  }
  each_mode([&](Executor& ex, Mode) {
    for (int round = 0; round < 3; ++round) {
      for (std::size_t i = 0; i < paths.size(); ++i) {
        std::string slot(2048, '\0');
        FileOp op = read_op(i % 5 == 4 ? dir.file("missing") : paths[i]);
        op.dest = reinterpret_cast<uint8_t*>(slot.data());
        op.dest_size = slot.size();
        ex.run(&op);
        if (i % 5 == 4) {
          CHECK_EQ(op.result, -ENOENT);
          CHECK(op.syscall != nullptr && std::string(op.syscall) == "open");
          continue;
        }
        CHECK_EQ(op.result, static_cast<int64_t>(datas[i].size()));
        CHECK(op.in_dest);
        CHECK(slot.compare(0, datas[i].size(), datas[i]) == 0);
      }
    }
  });
}

TEST(path_with_a_nul_byte_is_einval_without_io) {
  each_mode([&](Executor& ex, Mode) {
    FileOp op = read_op(std::string("/etc/hostname\0/x", 16));
    ex.run(&op);
    CHECK_EQ(op.result, -EINVAL);
  });
}

TEST(writes_a_whole_file_and_truncates_the_old_one) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string data = pattern(300000, 5);
  each_mode([&](Executor& ex, Mode m) {
    const std::string path = dir.write(std::string("out-") + mode_name(m), std::string(400000, 'x'));
    FileOp op;
    op.kind = OpKind::kWriteFile;
    op.path = path;
    op.write_data = reinterpret_cast<const uint8_t*>(data.data());
    op.write_size = data.size();
    ex.run(&op);
    CHECK_EQ(op.result, static_cast<int64_t>(data.size()));
    FileOp back = read_op(path);
    ex.run(&back);
    CHECK(contents(back) == data);
    const mode_t mask = umask(0);
    umask(mask);
    struct stat st;
    CHECK(::stat(path.c_str(), &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask));
  });
}

TEST(writes_an_empty_file) {
  TempDir dir;
  REQUIRE(dir.ok());
  each_mode([&](Executor& ex, Mode m) {
    FileOp op;
    op.kind = OpKind::kWriteFile;
    op.path = dir.file(std::string("empty-") + mode_name(m));
    ex.run(&op);
    CHECK_EQ(op.result, 0);
    struct stat st;
    CHECK(::stat(op.path.c_str(), &st) == 0 && st.st_size == 0);
  });
}

TEST(write_errors_name_their_syscall) {
  TempDir dir;
  REQUIRE(dir.ok());
  each_mode([&](Executor& ex, Mode) {
    FileOp op;
    op.kind = OpKind::kWriteFile;
    op.path = dir.file("no/such/dir");
    const uint8_t byte = 1;
    op.write_data = &byte;
    op.write_size = 1;
    ex.run(&op);
    CHECK_EQ(op.result, -ENOENT);
    CHECK(op.syscall != nullptr && std::string(op.syscall) == "open");

    FileOp null_data;
    null_data.kind = OpKind::kWriteFile;
    null_data.path = dir.file("x");
    null_data.write_size = 10;
    ex.run(&null_data);
    CHECK_EQ(null_data.result, -EFAULT);
  });
}

TEST(stat_reports_size_type_and_mtime) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string path = dir.write("st", pattern(1234));
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  each_mode([&](Executor& ex, Mode) {
    FileOp op;
    op.kind = OpKind::kStat;
    op.path = path;
    ex.run(&op);
    CHECK_EQ(op.result, 0);
    CHECK_EQ(op.stat.size, 1234u);
    CHECK(op.stat.is_file && !op.stat.is_directory);
    CHECK_EQ(op.stat.mtime_ns, mtime_ns);

    FileOp d;
    d.kind = OpKind::kStat;
    d.path = dir.path();
    ex.run(&d);
    CHECK(d.result == 0 && d.stat.is_directory && !d.stat.is_file);

    FileOp missing;
    missing.kind = OpKind::kStat;
    missing.path = dir.file("gone");
    ex.run(&missing);
    CHECK_EQ(missing.result, -ENOENT);
    CHECK(missing.syscall != nullptr && std::string(missing.syscall) == "stat");
  });
}

TEST(nop_completes_with_zero) {
  each_mode([&](Executor& ex, Mode) {
    FileOp op;
    op.id = 42;
    ex.run(&op);
    CHECK_EQ(op.result, 0);
    CHECK_EQ(op.id, 42u);
  });
}

TEST(bytes_release_hands_over_malloc_memory) {
  Bytes b;
  REQUIRE(b.reserve(100));
  std::memset(b.data(), 7, 100);
  b.set_size(10);
  b.shrink_to_fit();
  CHECK_EQ(b.capacity(), 10u);
  uint8_t* p = b.release();
  CHECK(p != nullptr && p[9] == 7);
  CHECK(b.data() == nullptr && b.size() == 0);
  std::free(p);
}

int main() {
  g_uring = ringleader::probe().io_uring;
  if (!g_uring) std::printf("io_uring unavailable; testing blocking mode only\n");
  return ringleader::test::run_all();
}
