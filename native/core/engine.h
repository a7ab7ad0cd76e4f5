// The native engine: N shards behind one submit/drain interface, routed by path hash
// (same file, same shard), round robin, or to the least loaded shard. This is the surface
// the N-API binding wraps: one call submits a batch, one call drains a batch, one eventfd
// says "drain now".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shard.h"

namespace ringleader {

// kPathHash: the same path always lands on the same shard. kRoundRobin: op i of the
// engine's life on shard i mod N. kLeastLoaded: each op on the shard with the most room
// left, so a shard that runs ahead (or one the scheduler favours) takes more of a batch
// and none sits idle while another still has a queue.
enum class Routing : uint8_t { kPathHash, kRoundRobin, kLeastLoaded };

struct EngineOptions {
  Backend backend = Backend::kIoUring;
  unsigned shards = 1;
  bool pin = true;  // shard i on the i-th CPU this process may run on
  unsigned queue_depth = 64;
  unsigned capacity = 4096;  // per shard
  unsigned batch = 32;
  Routing routing = Routing::kPathHash;
  bool sqpoll = false;
  bool direct_descriptors = true;
};

class Engine {
 public:
  // 0 and *out set, or -errno (e.g. the io_uring setup error, for the caller's fallback).
  static int open(const EngineOptions& options, std::unique_ptr<Engine>* out);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Engine(Engine&&) = delete;
  Engine& operator=(Engine&&) = delete;

  // Takes ownership of a prefix of ops and returns its length; the rest stay with the
  // caller (shards full). -EINVAL for a null op (nothing taken), -ESHUTDOWN after close.
  // One submitting thread at a time, never concurrently with close().
  int submit(FileOp* const* ops, std::size_t n);
  // Finished ops, results set; ownership returns to the caller. One thread at a time.
  std::size_t drain(FileOp** out, std::size_t max);
  // Readable (eventfd, non-blocking) when drain() has something; read it to re-arm.
  int notify_fd() const { return notify_fd_; }
  // Blocks until notified or timeout_ms passes (-1: forever); 1 notified, 0 timeout, -errno.
  int wait(int timeout_ms);
  // Stops every shard: queued ops are cancelled (-ECANCELED), in-flight ones finish or
  // are cancelled; all of them are then waiting in drain(). Idempotent.
  void close();

  std::size_t shard_count() const { return shards_.size(); }
  const ShardInfo& shard_info(std::size_t i) const { return shards_[i]->info(); }
  Backend backend() const { return backend_; }
  std::size_t outstanding() const;
  // Ops the shards would still take between them, however they route.
  std::size_t room() const;
  // How many leading read ops for these paths submit() would take right now: it stops at
  // the first op whose shard is full (under kLeastLoaded, simply the room left). Lets a
  // caller size a batch before building it.
  std::size_t fitting(const std::string_view* paths, std::size_t n);

  // Shard index for a path under kPathHash (FNV-1a), exposed for tests and the binding.
  static std::size_t route_path(std::string_view path, std::size_t shards);

 private:
  Engine() = default;
  // Fills room_scratch_ with each shard's room now.
  void snapshot_room();
  // kLeastLoaded: the shard with the most room in room_scratch_, ties taken in turn.
  std::size_t roomiest();

  Backend backend_ = Backend::kIoUring;
  Routing routing_ = Routing::kPathHash;
  int notify_fd_ = -1;
  bool closed_ = false;
  std::size_t next_shard_ = 0;  // round robin, least-loaded ties, drain fairness
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<bool> touched_;
  std::vector<std::size_t> room_scratch_;  // submit() and fitting(): room left per shard
};

}  // namespace ringleader
