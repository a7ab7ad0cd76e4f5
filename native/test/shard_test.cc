// Shard in both modes: ops submitted on one thread complete on another (woken through
// the notify eventfd), the capacity bound refuses instead of growing, stop() reports
// every op it was given, and pinning is recorded rather than required.
#include "shard.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "probe.h"
#include "temp_dir.h"

using namespace ringleader;
using ringleader::test::TempDir;

namespace {

std::vector<Backend> backends() {
  std::vector<Backend> b{Backend::kThreads};
  if (probe().io_uring) b.push_back(Backend::kIoUring);
  return b;
}

// Files f0..f<n-1> holding "file <i>", so each op's content says which op it was.
std::vector<std::string> numbered_files(const TempDir& dir, int n) {
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) paths.push_back(dir.write("f" + std::to_string(i), "file " + std::to_string(i)));
  return paths;
}

// Waits on the eventfd and drains until `want` ops came back or 10 s passed.
std::vector<FileOp*> collect(Shard& shard, int notify_fd, std::size_t want) {
  std::vector<FileOp*> got;
  FileOp* buf[64];
  int idle_ms = 0;
  while (got.size() < want && idle_ms < 10000) {
    const std::size_t n = shard.drain(buf, 64);
    got.insert(got.end(), buf, buf + n);
    if (n != 0) continue;
    pollfd pfd{notify_fd, POLLIN, 0};
    if (poll(&pfd, 1, 100) == 1) {
      uint64_t v;
      if (::read(notify_fd, &v, sizeof v) < 0) break;
    } else {
      idle_ms += 100;
    }
  }
  return got;
}

}  // namespace

TEST(ops_submitted_on_one_thread_complete_on_another) {
  TempDir dir;
  REQUIRE(dir.ok());
  constexpr int kFiles = 300;
  const std::vector<std::string> paths = numbered_files(dir, kFiles);
  for (Backend backend : backends()) {
    const int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    Shard shard(1024);
    ShardOptions o;
    o.backend = backend;
    o.notify_fd = efd;
    REQUIRE(shard.start(o) == 0);
    std::vector<std::unique_ptr<FileOp>> ops;
    for (int i = 0; i < kFiles; ++i) {
      auto op = std::make_unique<FileOp>();
      op->id = static_cast<uint64_t>(i);
      op->kind = OpKind::kReadFile;
      op->path = paths[static_cast<std::size_t>(i)];
      ops.push_back(std::move(op));
    }
    std::vector<FileOp*> got;
    std::thread consumer([&] { got = collect(shard, efd, kFiles); });
    // Submit in batches of 32, one wake per batch.
    for (int i = 0; i < kFiles; i += 32) {
      for (int j = i; j < i + 32 && j < kFiles; ++j) CHECK(shard.try_submit(ops[static_cast<std::size_t>(j)].get()));
      shard.wake();
    }
    consumer.join();
    CHECK_EQ(got.size(), static_cast<std::size_t>(kFiles));
    std::vector<bool> seen(kFiles, false);
    for (FileOp* op : got) {
      const std::size_t i = op->id;
      REQUIRE(i < kFiles && !seen[i]);
      seen[i] = true;
      const std::string want = "file " + std::to_string(i);
      CHECK(op->result == static_cast<int64_t>(want.size()));
      CHECK(std::string(reinterpret_cast<const char*>(op->data.data()), op->data.size()) == want);
    }
    CHECK_EQ(shard.outstanding(), 0u);
    shard.stop();
    ::close(efd);
  }
}

TEST(ops_sharing_a_countdown_wake_the_consumer_once_after_the_last_is_out) {
  TempDir dir;
  REQUIRE(dir.ok());
  constexpr int kFiles = 200;
  const std::vector<std::string> paths = numbered_files(dir, kFiles);
  for (Backend backend : backends()) {
    const int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    Shard shard(1024);
    ShardOptions o;
    o.backend = backend;
    o.batch = 8;  // many deliveries, so a per-delivery wake would show
    o.notify_fd = efd;
    REQUIRE(shard.start(o) == 0);
    std::atomic<uint32_t> countdown{kFiles};
    std::vector<FileOp> ops(kFiles);
    for (int i = 0; i < kFiles; ++i) {
      ops[static_cast<std::size_t>(i)].kind = OpKind::kReadFile;
      ops[static_cast<std::size_t>(i)].path = paths[static_cast<std::size_t>(i)];
      ops[static_cast<std::size_t>(i)].countdown = &countdown;
      CHECK(shard.try_submit(&ops[static_cast<std::size_t>(i)]));
    }
    shard.wake();
    pollfd pfd{efd, POLLIN, 0};
    REQUIRE(poll(&pfd, 1, 10000) == 1);
    // By the wake-up every op is out and counted; the eventfd was written once.
    uint64_t wakes = 0;
    CHECK(::read(efd, &wakes, sizeof wakes) == static_cast<ssize_t>(sizeof wakes));
    CHECK_EQ(wakes, uint64_t{1});
    CHECK_EQ(countdown.load(), 0u);
    FileOp* out[kFiles];
    CHECK_EQ(shard.drain(out, kFiles), static_cast<std::size_t>(kFiles));
    shard.stop();
    ::close(efd);
  }
}

TEST(refuses_ops_beyond_its_capacity) {
  for (Backend backend : backends()) {
    Shard shard(4);
    ShardOptions o;
    o.backend = backend;
    REQUIRE(shard.start(o) == 0);
    FileOp ops[6];
    int accepted = 0;
    // Nobody drains, so completed ops keep counting against the capacity.
    for (FileOp& op : ops) accepted += shard.try_submit(&op) ? 1 : 0;
    shard.wake();
    CHECK_EQ(accepted, 4);
    CHECK(!shard.try_submit(nullptr));
    shard.stop();
    FileOp* out[8];
    CHECK_EQ(shard.drain(out, 8), 4u);
    CHECK(!shard.try_submit(&ops[5]));
  }
}

TEST(stop_reports_every_submitted_op) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string path = dir.write("data", std::string(100000, 'z'));
  for (Backend backend : backends()) {
    constexpr std::size_t kOps = 2000;
    Shard shard(kOps);
    ShardOptions o;
    o.backend = backend;
    o.queue_depth = 16;
    REQUIRE(shard.start(o) == 0);
    std::vector<FileOp> ops(kOps);
    for (FileOp& op : ops) {
      op.kind = OpKind::kReadFile;
      op.path = path;
      CHECK(shard.try_submit(&op));
    }
    shard.wake();
    shard.stop();
    std::vector<FileOp*> out(kOps + 1);
    CHECK_EQ(shard.drain(out.data(), out.size()), kOps);
    std::size_t ok = 0;
    std::size_t cancelled = 0;
    for (std::size_t i = 0; i < kOps; ++i) {
      if (out[i]->result == 100000) ++ok;
      if (out[i]->result == -ECANCELED) ++cancelled;
    }
    CHECK_EQ(ok + cancelled, kOps);
    shard.stop();
  }
}

TEST(records_pinning_without_requiring_it) {
  for (Backend backend : backends()) {
    Shard pinned(8);
    ShardOptions o;
    o.backend = backend;
    o.cpu = 0;
    REQUIRE(pinned.start(o) == 0);
    CHECK_EQ(pinned.info().cpu_requested, 0);
    CHECK((pinned.info().cpu == 0 && pinned.info().pin_error == 0) ||
          (pinned.info().cpu == -1 && pinned.info().pin_error != 0));
    Shard impossible(8);
    o.cpu = 100000;
    REQUIRE(impossible.start(o) == 0);
    CHECK_EQ(impossible.info().cpu, -1);
    CHECK(impossible.info().pin_error != 0);
  }
}

TEST(io_uring_shard_reports_its_ring) {
  if (!probe().io_uring) return;
  Shard shard(8);
  ShardOptions o;
  REQUIRE(shard.start(o) == 0);
  CHECK(shard.info().backend == Backend::kIoUring);
  CHECK(shard.info().sq_entries >= 64);
  CHECK(shard.info().ring_features & IORING_FEAT_SINGLE_MMAP);
  CHECK(std::string(backend_name(shard.info().backend)) == "io_uring");
}

TEST(start_rejects_bad_options) {
  Shard shard(8);
  ShardOptions o;
  o.backend = Backend::kThreads;
  o.batch = 0;
  CHECK_EQ(shard.start(o), -EINVAL);
  o.batch = 32;
  CHECK_EQ(shard.start(o), 0);
  CHECK_EQ(shard.start(o), -EBUSY);
}

int main() { return ringleader::test::run_all(); }
