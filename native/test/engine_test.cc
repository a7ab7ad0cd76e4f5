// Engine: batch submit and drain across shards in both backends, path-hash routing,
// input it must refuse (null ops, closed engine), and close() settling everything,
// including an op the kernel would otherwise wait on forever.
#include "engine.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>
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

int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

// Drains until `want` ops came back, waiting on the notify fd; gives up after 10 s idle.
std::size_t drain_all(Engine& engine, std::size_t want) {
  std::size_t got = 0;
  FileOp* buf[128];
  int idle = 0;
  while (got < want && idle < 100) {
    const std::size_t n = engine.drain(buf, 128);
    got += n;
    if (n == 0) idle += engine.wait(100) == 0 ? 1 : 0;
  }
  return got;
}

}  // namespace

TEST(reads_a_batch_across_two_shards) {
  TempDir dir;
  REQUIRE(dir.ok());
  constexpr std::size_t kFiles = 500;
  for (Backend backend : backends()) {
    const int fds = open_fds();
    std::unique_ptr<Engine> engine;
    EngineOptions o;
    o.backend = backend;
    o.shards = 2;
    REQUIRE(Engine::open(o, &engine) == 0);
    CHECK(engine->backend() == backend);
    CHECK_EQ(engine->shard_count(), 2u);
    std::vector<FileOp> ops(kFiles);
    std::vector<FileOp*> ptrs;
    for (std::size_t i = 0; i < kFiles; ++i) {
      ops[i].id = i;
      ops[i].kind = OpKind::kReadFile;
      ops[i].path = dir.write("f" + std::to_string(i), std::string(i, 'a'));
      ptrs.push_back(&ops[i]);
    }
    CHECK_EQ(engine->submit(ptrs.data(), ptrs.size()), static_cast<int>(kFiles));
    CHECK_EQ(drain_all(*engine, kFiles), kFiles);
    for (std::size_t i = 0; i < kFiles; ++i) CHECK_EQ(ops[i].result, static_cast<int64_t>(i));
    CHECK_EQ(engine->outstanding(), 0u);
    engine.reset();
    CHECK_EQ(open_fds(), fds);
  }
}

TEST(routes_a_path_to_the_same_shard_every_time) {
  const std::size_t a = Engine::route_path("/srv/data/a.json", 4);
  CHECK_EQ(Engine::route_path("/srv/data/a.json", 4), a);
  CHECK(a < 4);
  CHECK_EQ(Engine::route_path("anything", 1), 0u);
  // FNV-1a spreads neighbouring names.
  std::vector<int> hits(4, 0);
  for (int i = 0; i < 400; ++i) ++hits[Engine::route_path("file-" + std::to_string(i), 4)];
  for (int h : hits) CHECK(h > 50);
}

TEST(accepts_a_prefix_when_shards_are_full) {
  for (Backend backend : backends()) {
    std::unique_ptr<Engine> engine;
    EngineOptions o;
    o.backend = backend;
    o.capacity = 8;
    REQUIRE(Engine::open(o, &engine) == 0);
    std::vector<FileOp> ops(20);
    std::vector<FileOp*> ptrs;
    for (FileOp& op : ops) ptrs.push_back(&op);
    CHECK_EQ(engine->submit(ptrs.data(), ptrs.size()), 8);
    CHECK_EQ(drain_all(*engine, 8), 8u);
    CHECK_EQ(engine->submit(ptrs.data() + 8, 12), 8);
    CHECK_EQ(drain_all(*engine, 8), 8u);
  }
}

TEST(refuses_bad_input_and_use_after_close) {
  std::unique_ptr<Engine> engine;
  EngineOptions o;
  o.backend = Backend::kThreads;
  o.shards = 0;
  CHECK_EQ(Engine::open(o, &engine), -EINVAL);
  o.shards = 1;
  CHECK_EQ(Engine::open(o, nullptr), -EINVAL);
  REQUIRE(Engine::open(o, &engine) == 0);
  FileOp op;
  FileOp* with_null[2] = {&op, nullptr};
  CHECK_EQ(engine->submit(with_null, 2), -EINVAL);
  CHECK_EQ(engine->submit(nullptr, 3), -EINVAL);
  CHECK_EQ(engine->submit(nullptr, 0), 0);
  CHECK_EQ(engine->drain(nullptr, 4), 0u);
  engine->close();
  FileOp* one[1] = {&op};
  CHECK_EQ(engine->submit(one, 1), -ESHUTDOWN);
  engine->close();
}

TEST(close_cancels_an_op_that_would_wait_forever) {
  if (!probe().io_uring) return;
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string fifo = dir.file("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // A writer that never writes: the ring parks the read until cancelled.
  const int wfd = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(wfd >= 0);
  const int fds = open_fds();
  std::unique_ptr<Engine> engine;
  EngineOptions o;
  REQUIRE(Engine::open(o, &engine) == 0);
  FileOp op;
  op.kind = OpKind::kReadFile;
  op.path = fifo;
  FileOp* ptr = &op;
  CHECK_EQ(engine->submit(&ptr, 1), 1);
  CHECK_EQ(engine->wait(100), 0);  // still parked
  engine->close();
  FileOp* out[2];
  CHECK_EQ(engine->drain(out, 2), 1u);
  CHECK_EQ(op.result, -ECANCELED);
  engine.reset();
  CHECK_EQ(open_fds(), fds);
  ::close(wfd);
}

TEST(close_with_work_in_flight_settles_every_op) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string path = dir.write("blob", std::string(200000, 'q'));
  for (Backend backend : backends()) {
    const int fds = open_fds();
    std::unique_ptr<Engine> engine;
    EngineOptions o;
    o.backend = backend;
    o.shards = 2;
    o.routing = Routing::kRoundRobin;
    REQUIRE(Engine::open(o, &engine) == 0);
    std::vector<FileOp> ops(3000);
    std::vector<FileOp*> ptrs;
    for (FileOp& op : ops) {
      op.kind = OpKind::kReadFile;
      op.path = path;
      ptrs.push_back(&op);
    }
    CHECK_EQ(engine->submit(ptrs.data(), ptrs.size()), 3000);
    engine->close();
    CHECK_EQ(drain_all(*engine, ops.size()), ops.size());
    for (const FileOp& op : ops) CHECK(op.result == 200000 || op.result == -ECANCELED);
    engine.reset();
    CHECK_EQ(open_fds(), fds);
  }
}

TEST(least_loaded_routing_fills_every_shard_and_sizes_batches_by_room) {
  for (Backend backend : backends()) {
    std::unique_ptr<Engine> engine;
    EngineOptions o;
    o.backend = backend;
    o.shards = 2;
    o.capacity = 8;
    o.routing = Routing::kLeastLoaded;
    REQUIRE(Engine::open(o, &engine) == 0);
    CHECK_EQ(engine->room(), 16u);
    const std::vector<std::string_view> paths(20, "unused");
    CHECK_EQ(engine->fitting(paths.data(), paths.size()), 16u);
    std::vector<FileOp> ops(20);
    std::vector<FileOp*> ptrs;
    for (FileOp& op : ops) ptrs.push_back(&op);
    // Both shards' room is used: a single shard could take only 8.
    CHECK_EQ(engine->submit(ptrs.data(), ptrs.size()), 16);
    CHECK_EQ(engine->room(), 0u);
    CHECK_EQ(engine->fitting(paths.data(), paths.size()), 0u);
    CHECK_EQ(drain_all(*engine, 16), 16u);
    CHECK_EQ(engine->room(), 16u);
    engine->close();
    CHECK_EQ(engine->room(), 0u);
  }
}

TEST(fitting_under_path_hash_stops_at_the_first_full_shard) {
  std::unique_ptr<Engine> engine;
  EngineOptions o;
  o.backend = Backend::kThreads;
  o.shards = 2;
  o.capacity = 3;
  REQUIRE(Engine::open(o, &engine) == 0);
  std::vector<std::string> names;
  std::vector<std::string_view> paths;
  for (int i = 0; i < 12; ++i) names.push_back("file-" + std::to_string(i));
  for (const std::string& n : names) paths.emplace_back(n);
  // Expected: walk the routes, counting per shard, until one would take a fourth.
  std::size_t per[2] = {0, 0};
  std::size_t expected = 0;
  while (expected < paths.size() && per[Engine::route_path(paths[expected], 2)] < 3) ++per[Engine::route_path(paths[expected++], 2)];
  CHECK_EQ(engine->fitting(paths.data(), paths.size()), expected);
  CHECK(expected >= 3 && expected <= 6);
}

int main() { return ringleader::test::run_all(); }
