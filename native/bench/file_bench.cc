// Whole-file reads, files per second: a one-thread openat/pread/close loop (the peer),
// a raw io_uring OPENAT -> READ -> CLOSE chain per file (queue depth 64, batches of 32),
// and the Engine's read-file op on 1 and 2 shards in io_uring and threads modes, each file
// landing in a 16 KiB slot of a reused arena as the addon's reads do.
// `file_bench [files] [bytes]` (default 10000 x 4096, at most 65536 bytes); each figure
// is the median of BENCH_RUNS runs (default 5); BENCH_ONLY picks engine rows by name.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.h"
#include "engine.h"
#include "ring.h"

using namespace ringleader;
using ringleader::bench::median_rate;

namespace {

constexpr std::size_t kMaxFileSize = 64 * 1024;
std::size_t g_files = 10'000;
std::size_t g_file_size = 4096;
int g_runs = 5;
constexpr unsigned kDepth = 64;
constexpr unsigned kBatch = 32;
// The addon's slot size: each read lands in its own 16 KiB slot of one arena, reused run
// after run as the addon's arena pool reuses arenas in steady reading.
constexpr std::size_t kSlot = 16 * 1024;

std::vector<std::string> make_files(const std::string& dir) {
  std::vector<std::string> paths;
  std::string data(g_file_size, 'r');
  for (std::size_t i = 0; i < g_files; ++i) {
    std::string p = dir + "/f" + std::to_string(i);
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
      std::perror("create");
      std::exit(1);
    }
    ::close(fd);
    paths.push_back(std::move(p));
  }
  return paths;
}

std::size_t sync_loop(const std::vector<std::string>& paths) {
  static char buf[kMaxFileSize + 4096];
  std::size_t ok = 0;
  for (const std::string& p : paths) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::pread(fd, buf, sizeof buf, 0) == static_cast<ssize_t>(g_file_size)) ++ok;
    ::close(fd);
  }
  return ok;
}

// The same loop reading each file into its own slot of an arena, as the engine rows (and
// any reader that hands every file back in memory of its own) must.
std::size_t sync_slots(const std::vector<std::string>& paths, uint8_t* arena, std::size_t slot) {
  std::size_t ok = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const int fd = ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::pread(fd, arena + i * slot, slot, 0) == static_cast<ssize_t>(g_file_size)) ++ok;
    ::close(fd);
  }
  return ok;
}

// Process CPU seconds (every thread, user and kernel): on a shared machine, CPU per file
// moves far less with the neighbours' load than files per second does.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Figure {
  double rate = 0;    // median files/s
  double cpu_us = 0;  // CPU microseconds per file, over all runs
};

template <typename Fn>
Figure measure(Fn fn) {
  const double c0 = cpu_seconds();
  Figure f;
  f.rate = median_rate(g_runs, fn);
  f.cpu_us = (cpu_seconds() - c0) * 1e6 / (static_cast<double>(g_runs) * static_cast<double>(g_files));
  return f;
}

void print_row(const char* name, const Figure& f, double sync) {
  std::printf("  %s %9.0f  %5.2f CPU us/file", name, f.rate, f.cpu_us);
  if (sync > 0) std::printf("  (%.2fx sync)", f.rate / sync);
  std::printf("\n");
}

// One chain per file into direct-descriptor slot i % kDepth; the file is done when its
// three CQEs are in.
std::size_t raw_chain(Ring& ring, const std::vector<std::string>& paths) {
  static char bufs[kDepth][kMaxFileSize + 4096];
  unsigned cqes_left[kDepth] = {};
  std::vector<unsigned> free_slots;
  for (unsigned i = 0; i < kDepth; ++i) free_slots.push_back(i);
  std::size_t next = 0;
  std::size_t ok = 0;
  std::size_t done = 0;
  io_uring_cqe* cqes[128];
  while (done < paths.size()) {
    unsigned added = 0;
    while (added < kBatch && next < paths.size() && !free_slots.empty()) {
      const unsigned slot = free_slots.back();
      free_slots.pop_back();
      io_uring_sqe* open = ring.get_sqe();
      prep_openat_direct(open, AT_FDCWD, paths[next].c_str(), O_RDONLY, 0, slot);
      sqe_set_flags(open, IOSQE_IO_LINK);
      sqe_set_data64(open, slot);
      io_uring_sqe* read = ring.get_sqe();
      prep_read(read, static_cast<int>(slot), bufs[slot], sizeof bufs[slot], 0);
      sqe_set_flags(read, IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK);
      sqe_set_data64(read, (uint64_t{1} << 32) | slot);
      io_uring_sqe* close = ring.get_sqe();
      prep_close_direct(close, slot);
      sqe_set_data64(close, slot);
      cqes_left[slot] = 3;
      ++next;
      ++added;
    }
    if (ring.submit_and_wait(1) < 0) return 0;
    const unsigned n = ring.peek_batch_cqe(cqes, 128);
    for (unsigned i = 0; i < n; ++i) {
      const auto slot = static_cast<unsigned>(cqes[i]->user_data & 0xffffffff);
      if ((cqes[i]->user_data >> 32) == 1 && cqes[i]->res == static_cast<int>(g_file_size)) ++ok;
      if (--cqes_left[slot] == 0) {
        free_slots.push_back(slot);
        ++done;
      }
    }
    ring.cq_advance(n);
  }
  return ok;
}

std::size_t engine_reads(Engine& engine, std::vector<FileOp>& ops) {
  std::vector<FileOp*> ptrs;
  for (FileOp& op : ops) ptrs.push_back(&op);
  std::size_t submitted = 0;
  std::size_t drained = 0;
  std::size_t ok = 0;
  FileOp* out[256];
  while (drained < ops.size()) {
    if (submitted < ops.size()) {
      const std::size_t n = ops.size() - submitted < kBatch ? ops.size() - submitted : kBatch;
      const int r = engine.submit(ptrs.data() + submitted, n);
      if (r > 0) submitted += static_cast<std::size_t>(r);
    }
    const std::size_t n = engine.drain(out, 256);
    for (std::size_t i = 0; i < n; ++i) ok += out[i]->result == static_cast<int64_t>(g_file_size) ? 1 : 0;
    drained += n;
    if (n == 0 && submitted == ops.size()) engine.wait(100);
  }
  return ok;
}

Figure engine_rate(Backend backend, unsigned shards, bool direct, const std::vector<std::string>& paths) {
  std::unique_ptr<Engine> engine;
  EngineOptions o;
  o.backend = backend;
  o.shards = shards;
  o.queue_depth = kDepth;
  o.batch = kBatch;
  o.capacity = 16384;
  o.direct_descriptors = direct;
  o.routing = Routing::kLeastLoaded;  // as the addon routes
  if (Engine::open(o, &engine) < 0) return {};
  std::vector<FileOp> ops(paths.size());
  std::vector<uint8_t> arena(paths.size() * kSlot);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    ops[i].kind = OpKind::kReadFile;
    ops[i].path = paths[i];
    ops[i].keep_buffer = true;
    ops[i].dest = arena.data() + i * kSlot;
    ops[i].dest_size = kSlot;
  }
  return measure([&] { return engine_reads(*engine, ops); });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_files = std::strtoul(argv[1], nullptr, 10);
  if (argc > 2) g_file_size = std::strtoul(argv[2], nullptr, 10);
  if (const char* runs = std::getenv("BENCH_RUNS")) g_runs = std::atoi(runs);
  if (g_files == 0 || g_file_size == 0 || g_file_size > kMaxFileSize || g_runs < 1) {
    std::fprintf(stderr, "usage: file_bench [files] [bytes <= %zu]; BENCH_RUNS >= 1\n", kMaxFileSize);
    return 2;
  }
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ringleader-bench-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::vector<std::string> paths = make_files(dir);
  sync_loop(paths);  // warm the page cache and dentries for every contender

  std::printf("%zu files x %zu B, queue depth %u, batches of %u, median of %d (files/s), CPU per file\n", g_files, g_file_size,
              kDepth, kBatch, g_runs);
  const Figure sync_fig = measure([&] { return sync_loop(paths); });
  const double sync = sync_fig.rate;
  print_row("sync openat/pread/close, 1 thread    ", sync_fig, 0);
  {
    std::vector<uint8_t> arena(paths.size() * kSlot);
    print_row("sync, into 16 KiB slots, 1 thread    ", measure([&] { return sync_slots(paths, arena.data(), kSlot); }), sync);
  }

  Ring ring;
  RingOptions ro;
  ro.entries = 4 * kDepth;
  if (ring.init(ro) == 0 && ring.register_files_sparse(kDepth) == 0) {
    print_row("raw ring OPENAT->READ->CLOSE, 1 thread", measure([&] { return raw_chain(ring, paths); }), sync);
  } else {
    std::printf("  raw ring: io_uring unavailable\n");
  }
  struct Row {
    const char* name;
    Backend backend;
    unsigned shards;
    bool direct;
  };
  const Row rows[] = {
      {"engine io_uring, 1 shard             ", Backend::kIoUring, 1, true},
      {"engine io_uring, 2 shards            ", Backend::kIoUring, 2, true},
      {"engine io_uring plain fds, 1 shard   ", Backend::kIoUring, 1, false},
      {"engine threads, 1 shard              ", Backend::kThreads, 1, true},
      {"engine threads, 2 shards             ", Backend::kThreads, 2, true},
  };
  // BENCH_ONLY=<text> runs only the engine rows whose name contains it (for profiling).
  const char* only = std::getenv("BENCH_ONLY");
  for (const Row& row : rows) {
    if (only != nullptr && std::string(row.name).find(only) == std::string::npos) continue;
    const Figure f = engine_rate(row.backend, row.shards, row.direct, paths);
    if (f.rate == 0) {
      std::printf("  %s unavailable\n", row.name);
      continue;
    }
    print_row(row.name, f, sync);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
