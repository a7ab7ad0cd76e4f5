// BatchTable and OpPool, the consumer's bookkeeping of ops in flight: op ids and the read
// arena's layout, pooled ops and arenas, partial submits, and the countdown that decides
// when a readFiles chunk is finished, with two threads delivering the ops of one chunk.
#include "batch_table.h"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "check.h"
#include "engine.h"
#include "spsc_queue.h"
#include "temp_dir.h"

using namespace ringleader;
using ringleader::test::kStressScale;
using ringleader::test::pattern;
using ringleader::test::TempDir;

namespace {

uint32_t slot_of(const FileOp* op) { return static_cast<uint32_t>(op->id >> 32); }
uint32_t index_of(const FileOp* op) { return static_cast<uint32_t>(op->id & 0xffffffffu); }

std::vector<std::string_view> views_of(const std::vector<std::string>& paths) {
  return std::vector<std::string_view>(paths.begin(), paths.end());
}

// What a shard does with an op it has finished: outbox first, then the count. True when
// this delivery ended the count, so the shard would ring.
bool deliver(FileOp* op, std::vector<FileOp*>* outbox) {
  std::atomic<uint32_t>* countdown = op->countdown;
  outbox->push_back(op);
  // acq_rel: as Shard::deliver.
  return countdown->fetch_sub(1, std::memory_order_acq_rel) == 1;
}

void ring(int fd) {
  const uint64_t one = 1;
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

// Waits up to timeout_ms for the eventfd and returns its count, which resets it; 0 if
// nothing came.
uint64_t wait_rings(int fd, int timeout_ms) {
  pollfd pfd{fd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) != 1) return 0;
  uint64_t value = 0;
  return ::read(fd, &value, sizeof value) == static_cast<ssize_t>(sizeof value) ? value : 0;
}

}  // namespace

TEST(op_pool_keeps_a_small_read_buffer_and_clears_everything_else) {
  OpPool pool;
  FileOp* op = pool.take();
  op->kind = OpKind::kReadFile;
  REQUIRE(op->data.reserve(8192));
  op->data.set_size(100);
  uint8_t slot[64];
  std::atomic<uint32_t> countdown{1};
  op->dest = slot;
  op->dest_size = sizeof slot;
  op->countdown = &countdown;
  op->size_hint = 5;
  op->result = 100;
  op->in_dest = true;
  op->syscall = "read";
  pool.recycle(op);
  CHECK_EQ(pool.size(), 1u);
  CHECK_EQ(pool.pooled_bytes(), 8192u);

  FileOp* again = pool.take();
  CHECK(again == op);
  CHECK_EQ(pool.pooled_bytes(), 0u);
  CHECK_EQ(again->data.capacity(), 8192u);
  CHECK_EQ(again->data.size(), 0u);
  CHECK(again->dest == nullptr);
  CHECK_EQ(again->dest_size, 0u);
  CHECK(again->countdown == nullptr);
  CHECK_EQ(again->size_hint, 0u);
  CHECK_EQ(again->result, 0);
  CHECK(!again->in_dest);
  CHECK(again->syscall == nullptr);
  pool.recycle(again);
}

TEST(op_pool_drops_write_buffers_and_large_read_buffers) {
  OpPool pool;
  FileOp* op = pool.take();
  op->kind = OpKind::kWriteFile;
  REQUIRE(op->data.reserve(64));
  pool.recycle(op);
  CHECK_EQ(pool.pooled_bytes(), 0u);
  op = pool.take();
  CHECK_EQ(op->data.capacity(), 0u);
  op->kind = OpKind::kReadFile;
  REQUIRE(op->data.reserve(OpPool::kMaxKeptBuffer + 1));
  pool.recycle(op);
  CHECK_EQ(pool.pooled_bytes(), 0u);
  op = pool.take();
  CHECK_EQ(op->data.capacity(), 0u);
  pool.recycle(op);
}

TEST(op_pool_holds_at_most_kMaxPooledOps) {
  OpPool pool;
  std::vector<FileOp*> ops;
  for (std::size_t i = 0; i < OpPool::kMaxPooledOps + 3; ++i) ops.push_back(pool.take());
  for (FileOp* op : ops) pool.recycle(op);  // the three beyond the cap are deleted (ASan: no leak)
  CHECK_EQ(pool.size(), OpPool::kMaxPooledOps);
}

TEST(take_reads_lays_out_one_arena_for_the_chunk) {
  BatchTable table(std::make_shared<ArenaPool>());
  const std::vector<std::string> paths{"a", "bb", "ccc"};
  const std::vector<std::string_view> views = views_of(paths);
  const uint32_t slot = table.take_reads(7.5, views.data(), 3);
  REQUIRE(slot != BatchTable::kNoBatch);
  CHECK_EQ(table.live(), 1u);
  Batch& batch = table.at(slot);
  CHECK(batch.token == 7.5);
  CHECK(batch.kind == OpKind::kReadFile);
  CHECK_EQ(batch.slot_size, BatchTable::kDefaultSlot);
  // Three int32 results and three codes, then the slots from the next cache line on.
  CHECK_EQ(batch.data_offset, 64u);
  CHECK(batch.codes() == batch.arena + 12);
  CHECK(reinterpret_cast<uint8_t*>(batch.results()) == batch.arena);
  CHECK_EQ(batch.arena_length(), 64 + 3 * BatchTable::kDefaultSlot);
  CHECK_EQ(batch.arena_bytes % ArenaPool::kGranule, 0u);
  CHECK(batch.arena_bytes >= batch.arena_length());
  CHECK_EQ(batch.countdown.load(), 3u);
  REQUIRE(batch.ops.size() == 3);
  for (uint32_t i = 0; i < 3; ++i) {
    const FileOp* op = batch.ops[i];
    CHECK(op->kind == OpKind::kReadFile);
    CHECK(op->keep_buffer);
    CHECK(op->dest == batch.slot_at(i));
    CHECK(op->dest == batch.arena + 64 + i * BatchTable::kDefaultSlot);
    CHECK_EQ(op->dest_size, BatchTable::kDefaultSlot);
    CHECK_EQ(slot_of(op), slot);
    CHECK_EQ(index_of(op), i);
    CHECK(op->countdown == &batch.countdown);
    CHECK(op->path == paths[i]);
  }
  table.retire(slot);
  CHECK_EQ(table.live(), 0u);
}

TEST(the_arena_header_rounds_up_to_a_cache_line) {
  BatchTable table(std::make_shared<ArenaPool>());
  const std::vector<std::string> paths(13, "p");
  const std::vector<std::string_view> views = views_of(paths);
  const struct {
    uint32_t n;
    std::size_t data_offset;
  } kCases[] = {{1, 64}, {12, 64}, {13, 128}};
  for (const auto& c : kCases) {
    const uint32_t slot = table.take_reads(0, views.data(), c.n);
    REQUIRE(slot != BatchTable::kNoBatch);
    CHECK_EQ(table.at(slot).data_offset, c.data_offset);
    table.retire(slot);
  }
}

TEST(a_retired_slot_its_arena_and_its_ops_serve_the_next_chunk) {
  BatchTable table(std::make_shared<ArenaPool>());
  const std::vector<std::string> paths(16, "p");
  const std::vector<std::string_view> views = views_of(paths);
  const uint32_t first = table.take_reads(1, views.data(), 16);
  REQUIRE(first != BatchTable::kNoBatch);
  const uint8_t* arena = table.at(first).arena;
  const FileOp* last_op = table.at(first).ops.back();
  table.retire(first);
  const uint32_t second = table.take_reads(2, views.data(), 16);
  REQUIRE(second != BatchTable::kNoBatch);
  CHECK_EQ(second, first);
  CHECK(table.at(second).arena == arena);
  CHECK(table.at(second).ops.front() == last_op);  // the pool hands back the last op it took in
  CHECK(table.at(second).token == 2);
  CHECK_EQ(table.at(second).done, 0u);
  table.retire(second);
}

TEST(a_single_op_batch_finishes_when_its_op_drains) {
  BatchTable table(std::make_shared<ArenaPool>());
  const uint32_t slot = table.take(3, OpKind::kStat);
  FileOp* op = table.add_op(slot);
  REQUIRE(table.at(slot).ops.size() == 1);
  CHECK(table.at(slot).ops[0] == op);
  CHECK_EQ(slot_of(op), slot);
  CHECK(op->countdown == nullptr);
  std::vector<uint32_t> finished;
  table.collect(&op, 1, &finished);
  REQUIRE(finished.size() == 1);
  CHECK_EQ(finished[0], slot);
  table.retire(slot);
  CHECK_EQ(table.live(), 0u);
}

TEST(a_chunk_is_finished_once_every_op_drained_and_its_count_reads_zero) {
  BatchTable table(std::make_shared<ArenaPool>());
  const std::vector<std::string> paths(3, "p");
  const std::vector<std::string_view> views = views_of(paths);
  const uint32_t slot = table.take_reads(0, views.data(), 3);
  REQUIRE(slot != BatchTable::kNoBatch);
  Batch& batch = table.at(slot);
  std::vector<FileOp*> outbox;
  std::vector<uint32_t> finished;

  CHECK(!deliver(batch.ops[0], &outbox));
  table.collect(outbox.data(), outbox.size(), &finished);
  outbox.clear();
  CHECK(finished.empty());

  // Op 2 is in the outbox, but its shard has not counted it down when the consumer drains.
  CHECK(!deliver(batch.ops[1], &outbox));
  outbox.push_back(batch.ops[2]);
  table.collect(outbox.data(), outbox.size(), &finished);
  CHECK(finished.empty());
  table.collect_settled(&finished);
  CHECK(finished.empty());

  // acq_rel: as Shard::deliver.
  CHECK(batch.ops[2]->countdown->fetch_sub(1, std::memory_order_acq_rel) == 1);
  table.collect_settled(&finished);
  REQUIRE(finished.size() == 1);
  CHECK_EQ(finished[0], slot);
  finished.clear();
  table.collect_settled(&finished);
  CHECK(finished.empty());
  table.retire(slot);
}

TEST(a_chunk_counted_out_before_it_drains_finishes_in_that_drain) {
  BatchTable table(std::make_shared<ArenaPool>());
  const std::vector<std::string> paths(2, "p");
  const std::vector<std::string_view> views = views_of(paths);
  const uint32_t slot = table.take_reads(0, views.data(), 2);
  REQUIRE(slot != BatchTable::kNoBatch);
  std::vector<FileOp*> outbox;
  CHECK(!deliver(table.at(slot).ops[0], &outbox));
  CHECK(deliver(table.at(slot).ops[1], &outbox));
  std::vector<uint32_t> finished;
  table.collect(outbox.data(), outbox.size(), &finished);
  REQUIRE(finished.size() == 1);
  CHECK_EQ(finished[0], slot);
  finished.clear();
  table.collect_settled(&finished);
  CHECK(finished.empty());
  table.retire(slot);
}

TEST(keep_taken_rings_only_when_the_refused_ops_held_the_count_up) {
  BatchTable table(std::make_shared<ArenaPool>());
  const std::vector<std::string> paths(4, "p");
  const std::vector<std::string_view> views = views_of(paths);
  std::vector<FileOp*> outbox;
  std::vector<uint32_t> finished;

  // The shards delivered both taken ops before the refusal was counted: nobody else rings.
  uint32_t slot = table.take_reads(0, views.data(), 4);
  REQUIRE(slot != BatchTable::kNoBatch);
  CHECK(!deliver(table.at(slot).ops[0], &outbox));
  CHECK(!deliver(table.at(slot).ops[1], &outbox));
  CHECK(table.keep_taken(slot, 2));
  CHECK_EQ(table.at(slot).ops.size(), 2u);
  CHECK_EQ(table.at(slot).countdown.load(), 0u);
  table.collect(outbox.data(), outbox.size(), &finished);
  CHECK(finished.size() == 1);
  table.retire(slot);
  outbox.clear();
  finished.clear();

  // The refusal was counted first: the delivery that ends the count rings.
  slot = table.take_reads(0, views.data(), 4);
  REQUIRE(slot != BatchTable::kNoBatch);
  CHECK(!table.keep_taken(slot, 3));
  CHECK_EQ(table.at(slot).ops.size(), 3u);
  CHECK(!deliver(table.at(slot).ops[0], &outbox));
  CHECK(!deliver(table.at(slot).ops[1], &outbox));
  CHECK(deliver(table.at(slot).ops[2], &outbox));
  table.collect(outbox.data(), outbox.size(), &finished);
  CHECK(finished.size() == 1);
  table.retire(slot);
  outbox.clear();
  finished.clear();

  // All taken: nothing to count back.
  slot = table.take_reads(0, views.data(), 4);
  REQUIRE(slot != BatchTable::kNoBatch);
  CHECK(!table.keep_taken(slot, 4));
  CHECK_EQ(table.at(slot).countdown.load(), 4u);
  table.collect_settled(&finished);
  for (FileOp* op : table.at(slot).ops) deliver(op, &outbox);
  table.collect(outbox.data(), outbox.size(), &finished);
  CHECK(finished.size() == 1);
  table.retire(slot);

  // None taken: the chunk is retired at once.
  slot = table.take_reads(0, views.data(), 4);
  REQUIRE(slot != BatchTable::kNoBatch);
  CHECK(!table.keep_taken(slot, 0));
  CHECK_EQ(table.live(), 0u);
}

TEST(batch_limit_fills_one_arena_with_slots_sized_for_the_last_chunk) {
  BatchTable table(std::make_shared<ArenaPool>());
  CHECK_EQ(table.batch_limit(), 256u);  // 4 MiB of 16 KiB slots
  table.learn_slot(0);
  CHECK_EQ(table.batch_limit(), 256u);
  table.learn_slot(100 * 1024);
  CHECK_EQ(table.batch_limit(), 40u);
  table.learn_slot(std::size_t{1} << 20);  // slots stop at 128 KiB
  CHECK_EQ(table.batch_limit(), 32u);
  table.learn_slot(1000);  // 1 KiB slots would fit 4096 files; chunks stop at 256
  CHECK_EQ(table.batch_limit(), 256u);
  const std::string_view path = "p";
  const uint32_t slot = table.take_reads(0, &path, 1);
  REQUIRE(slot != BatchTable::kNoBatch);
  CHECK_EQ(table.at(slot).slot_size, 1024u);
  table.retire(slot);
}

// Two threads stand in for two shards, with an inbox and an outbox each, and deliver the
// ops of chunks that are in flight three at a time, most of them submitted in part. Now
// and then a shard stalls between pushing a chunk's last op and counting it down, so the
// consumer drains the whole chunk while the count is still up; now and then the submitter
// waits for the shards, so its refusal ends the count. Every chunk must finish exactly
// once, with all its bytes, and exactly one party (a shard or the submitter) must ring.
TEST(two_shards_delivering_one_chunk_finish_it_exactly_once) {
  const int kChunks = static_cast<int>(3000 / kStressScale);
  constexpr uint32_t kOps = 24;
  constexpr int kInFlight = 3;

  struct FakeShard {
    SpscQueue<FileOp*> inbox{128};
    SpscQueue<FileOp*> outbox{128};
  };
  FakeShard shards[2];
  std::atomic<bool> stop{false};
  std::atomic<const FileOp*> held{nullptr};
  std::atomic<int> shard_rings{0};
  const auto run = [&](FakeShard* shard) {
    FileOp* op;
    // acquire: pairs with the consumer's release once it is done.
    while (!stop.load(std::memory_order_acquire)) {
      if (!shard->inbox.try_pop(&op)) {
        std::this_thread::yield();
        continue;
      }
      // The "read": the op's id into its slot, so the consumer can tell whose bytes landed.
      std::memcpy(op->dest, &op->id, sizeof op->id);
      op->result = static_cast<int64_t>(sizeof op->id);
      op->in_dest = true;
      std::atomic<uint32_t>* countdown = op->countdown;
      while (!shard->outbox.try_push(op)) std::this_thread::yield();
      // acquire: the consumer's release store of nullptr lets this shard go; the address
      // is only compared, since the op is no longer this shard's.
      while (held.load(std::memory_order_acquire) == op) std::this_thread::yield();
      // acq_rel: as Shard::deliver. relaxed: the tally is read after the join.
      if (countdown->fetch_sub(1, std::memory_order_acq_rel) == 1) shard_rings.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread threads[2] = {std::thread(run, &shards[0]), std::thread(run, &shards[1])};

  BatchTable table(std::make_shared<ArenaPool>());
  const std::vector<std::string> paths(kOps, "p");
  const std::vector<std::string_view> views = views_of(paths);
  std::vector<int> finished_count(static_cast<std::size_t>(kChunks), 0);
  std::vector<uint32_t> taken_of(static_cast<std::size_t>(kChunks), 0);
  std::vector<uint32_t> drained;  // per batch slot, ops drained
  std::vector<FileOp*> scratch(64);
  std::vector<uint32_t> finished;
  int submitted = 0;
  int done = 0;
  int in_flight = 0;
  int self_rings = 0;
  int held_chunk = -1;
  uint32_t held_slot = 0;
  int holds_seen = 0;
  bool ok = true;  // a failure ends the loop, so the shard threads are still joined
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (ok && done < kChunks) {
    ok = std::chrono::steady_clock::now() < deadline;
    CHECK(ok);
    while (ok && submitted < kChunks && in_flight < kInFlight) {
      const int chunk = submitted++;
      const uint32_t slot = table.take_reads(chunk, views.data(), kOps);
      ok = slot != BatchTable::kNoBatch;
      CHECK(ok);
      if (!ok) break;
      if (slot >= drained.size()) drained.resize(slot + 1);
      drained[slot] = 0;
      Batch& batch = table.at(slot);
      // A prefix, as full shards would leave one; every fourth chunk whole.
      const uint32_t taken = chunk % 4 == 0 ? kOps : kOps - 1 - static_cast<uint32_t>(chunk % 5);
      taken_of[static_cast<std::size_t>(chunk)] = taken;
      if (chunk % 3 == 0 && held_chunk < 0) {
        // The last op shard 1 gets: the rest of the chunk can drain while it is held.
        const uint32_t last_odd = (taken - 1) % 2 == 1 ? taken - 1 : taken - 2;
        held_chunk = chunk;
        held_slot = slot;
        // release: published before the op reaches shard 1 through its inbox.
        held.store(batch.ops[last_odd], std::memory_order_release);
      }
      // Some partial chunks go to shard 0 alone, and the submitter waits until it has
      // counted out every taken op before counting the refusal: then the submitter must
      // ring. (Shard 0, since shard 1 may be held up behind a held op.)
      const bool refusal_ends = taken < kOps && chunk % 3 == 1;
      for (uint32_t i = 0; i < taken; ++i) {
        FakeShard& to = shards[refusal_ends ? 0 : i % 2];
        while (!to.inbox.try_push(batch.ops[i])) std::this_thread::yield();
      }
      if (refusal_ends) {
        // acquire: as the table's own load of the count.
        while (batch.countdown.load(std::memory_order_acquire) != kOps - taken) std::this_thread::yield();
        const bool rings = table.keep_taken(slot, taken);
        CHECK(rings);
        if (rings) ++self_rings;
      } else if (table.keep_taken(slot, taken)) {
        ++self_rings;
      }
      ++in_flight;
    }
    for (FakeShard& shard : shards) {
      const std::size_t n = shard.outbox.try_pop_n(scratch.data(), scratch.size());
      for (std::size_t i = 0; i < n; ++i) ++drained[slot_of(scratch[i])];
      table.collect(scratch.data(), n, &finished);
    }
    table.collect_settled(&finished);
    for (uint32_t slot : finished) {
      Batch& batch = table.at(slot);
      const auto chunk = static_cast<std::size_t>(batch.token);
      CHECK(static_cast<int>(chunk) != held_chunk);
      ++finished_count[chunk];
      CHECK_EQ(batch.ops.size(), taken_of[chunk]);
      // relaxed: finished means the table already read zero with acquire.
      CHECK_EQ(batch.countdown.load(std::memory_order_relaxed), 0u);
      for (std::size_t i = 0; i < batch.ops.size(); ++i) {
        uint64_t id;
        std::memcpy(&id, batch.slot_at(i), sizeof id);
        CHECK_EQ(id, batch.ops[i]->id);
        CHECK_EQ(batch.ops[i]->result, 8);
      }
      table.retire(slot);
      --in_flight;
      ++done;
    }
    finished.clear();
    if (held_chunk >= 0 && drained[held_slot] == taken_of[static_cast<std::size_t>(held_chunk)]) {
      // Every op of the held chunk has drained and it was not reported: it is settling.
      ++holds_seen;
      held_chunk = -1;
      // release: the shard's acquire load sees it and counts the op down.
      held.store(nullptr, std::memory_order_release);
    }
  }
  // release: pairs with the shards' acquire loads.
  stop.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();

  for (int count : finished_count) CHECK_EQ(count, 1);
  CHECK(holds_seen > 0);
  CHECK(self_rings > 0);
  // relaxed: the joins ordered every increment before this load.
  CHECK_EQ(shard_rings.load(std::memory_order_relaxed) + self_rings, kChunks);
}

// The real thing on the threads backend (no io_uring needed): two shards fill the chunks
// a BatchTable lays out, some submitted only in part, and the consumer waits on the
// engine's eventfd as the binding does. The eventfd must have been written exactly once
// per chunk, by a shard or, when the refusal ended the count, by the submitter.
TEST(threads_backend_shards_fill_the_chunks_they_share) {
  TempDir dir;
  REQUIRE(dir.ok());
  constexpr std::size_t kFiles = 48;
  std::vector<std::string> paths;
  std::vector<std::string> contents;
  for (std::size_t i = 0; i < kFiles; ++i) {
    // Every eighth file outgrows the first chunk's 16 KiB slots.
    contents.push_back(pattern(i % 8 == 7 ? 40000 : 100 + 37 * i, static_cast<unsigned>(i + 1)));
    paths.push_back(dir.write("f" + std::to_string(i), contents.back()));
    REQUIRE(!paths.back().empty());
  }
  const std::vector<std::string_view> views = views_of(paths);

  // Declared first, so the engine (whose shards hold the table's ops) goes first.
  BatchTable table(std::make_shared<ArenaPool>());
  EngineOptions eo;
  eo.backend = Backend::kThreads;
  eo.shards = 2;
  eo.pin = false;
  eo.capacity = 16;  // 32 between the shards, so a 40-path chunk is taken in part
  eo.batch = 4;      // many deliveries per chunk
  eo.routing = Routing::kLeastLoaded;
  std::unique_ptr<Engine> engine;
  REQUIRE(Engine::open(eo, &engine) == 0);

  std::vector<FileOp*> scratch(64);
  std::vector<uint32_t> finished;
  int partial = 0;
  int self_rings = 0;
  uint64_t rings = 0;
  const int kRounds = static_cast<int>(200 / kStressScale);
  for (int round = 0; round < kRounds; ++round) {
    const uint32_t n = round % 2 == 0 ? 40 : 24;
    const std::size_t offset = static_cast<std::size_t>(round) % (kFiles - n + 1);
    const uint32_t slot = table.take_reads(round, views.data() + offset, n);
    REQUIRE(slot != BatchTable::kNoBatch);
    Batch& batch = table.at(slot);
    const int accepted = engine->submit(batch.ops.data(), batch.ops.size());
    REQUIRE(accepted > 0);
    const auto taken = static_cast<std::size_t>(accepted);
    if (taken < n && ++partial % 2 == 0) {
      // Let the shards count out every taken op first, so the refusal ends the count.
      // acquire: as the table's own load of the count.
      while (batch.countdown.load(std::memory_order_acquire) != n - taken) std::this_thread::yield();
      CHECK(table.keep_taken(slot, taken));
      ++self_rings;
      ring(engine->notify_fd());
    } else if (table.keep_taken(slot, taken)) {
      ++self_rings;
      ring(engine->notify_fd());
    }
    for (;;) {
      table.collect_settled(&finished);
      for (;;) {
        const std::size_t got = engine->drain(scratch.data(), scratch.size());
        table.collect(scratch.data(), got, &finished);
        if (got < scratch.size()) break;
      }
      if (!finished.empty()) break;
      // A chunk not finished yet has a wake-up coming.
      const uint64_t woke = wait_rings(engine->notify_fd(), 10000);
      CHECK(woke != 0);
      if (woke == 0) break;
      rings += woke;
    }
    REQUIRE(finished.size() == 1);
    CHECK_EQ(finished[0], slot);
    CHECK_EQ(batch.ops.size(), taken);
    std::size_t largest = 0;
    for (std::size_t i = 0; i < batch.ops.size(); ++i) {
      const FileOp* op = batch.ops[i];
      const std::string& want = contents[offset + i];
      CHECK_EQ(op->result, static_cast<int64_t>(want.size()));
      const uint8_t* bytes = op->in_dest ? batch.slot_at(i) : op->data.data();
      CHECK(op->result < 0 || std::memcmp(bytes, want.data(), want.size()) == 0);
      if (want.size() > largest) largest = want.size();
    }
    table.learn_slot(largest);
    table.retire(slot);
    finished.clear();
  }
  CHECK(partial > 1);
  CHECK(self_rings > 0);
  engine->close();
  // The last chunks' shards may ring after their chunk was already collected.
  rings += wait_rings(engine->notify_fd(), 0);
  CHECK_EQ(rings, static_cast<uint64_t>(kRounds));
  CHECK_EQ(table.live(), 0u);
}

int main() { return ringleader::test::run_all(); }
