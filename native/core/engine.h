// The native engine: N shards behind one submit/drain interface, routed by path hash
// (same file, same shard) or round robin. This is the surface the N-API binding wraps:
// one call submits a batch, one call drains a batch, one eventfd says "drain now".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shard.h"

namespace ringleader {

enum class Routing : uint8_t { kPathHash, kRoundRobin };

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

  // Shard index for a path under kPathHash (FNV-1a), exposed for tests and the binding.
  static std::size_t route_path(const std::string& path, std::size_t shards);

 private:
  Engine() = default;

  Backend backend_ = Backend::kIoUring;
  Routing routing_ = Routing::kPathHash;
  int notify_fd_ = -1;
  bool closed_ = false;
  std::size_t next_shard_ = 0;  // round robin and drain fairness
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<bool> touched_;
};

}  // namespace ringleader
