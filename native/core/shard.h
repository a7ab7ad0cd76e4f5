// A shard: one thread, optionally pinned to a core, that owns one Ring (or runs blocking
// syscalls in threads mode), takes ops from an MPSC inbox and returns them through an
// SPSC outbox, waking the consumer once per batch via an eventfd.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "file_ops.h"
#include "mpsc_queue.h"
#include "ring.h"
#include "spsc_queue.h"
#include "uring_ops.h"

namespace ringleader {

enum class Backend : uint8_t { kIoUring, kThreads };

const char* backend_name(Backend backend);

struct ShardOptions {
  Backend backend = Backend::kIoUring;
  int cpu = -1;               // CPU to pin the thread to; -1 leaves placement to the kernel
  unsigned queue_depth = 64;  // ops in flight on the ring at once
  unsigned capacity = 4096;   // ops the shard holds at once: queued, in flight, awaiting drain
  unsigned batch = 32;        // inbox ops turned into SQEs (or run) between wake-ups
  bool sqpoll = false;
  bool direct_descriptors = true;  // open into ring slots when the kernel allows it
  // eventfd written after a delivery that holds an op without a countdown or brings one
  // to zero (see FileOp::countdown); -1 for none
  int notify_fd = -1;
};

// What the shard ended up with, for engine.backend-style reporting.
struct ShardInfo {
  Backend backend = Backend::kIoUring;
  int cpu_requested = -1;
  int cpu = -1;        // pinned CPU, -1 when not pinned
  int pin_error = 0;   // errno from pthread_setaffinity_np when it refused
  unsigned ring_flags = 0;
  unsigned ring_features = 0;
  unsigned sq_entries = 0;
  bool direct_descriptors = false;
};

class Shard {
 public:
  explicit Shard(unsigned capacity);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  Shard(Shard&&) = delete;
  Shard& operator=(Shard&&) = delete;

  // Starts the thread and waits until its ring is up; -errno if it could not be.
  int start(const ShardOptions& options);

  // Any thread, not concurrently with stop(). Takes op until it comes back from drain();
  // false (op untouched) when the shard is full or stopped.
  bool try_submit(FileOp* op);
  // Call once after a batch of try_submit: rings the doorbell if the thread sleeps.
  void wake();
  // One consumer thread at a time. Returns finished ops, each with its result set.
  std::size_t drain(FileOp** out, std::size_t max);
  // Stops taking ops, cancels the queued ones, lets in-flight ones finish (or cancels
  // them), joins. Every op submitted ends up in the outbox. Idempotent.
  void stop();

  const ShardInfo& info() const { return info_; }
  // Ops submitted and not yet drained.
  std::size_t outstanding() const;
  // Ops try_submit would still take. Exact on a thread that both submits and drains;
  // elsewhere a snapshot.
  std::size_t room() const;

 private:
  void run(ShardOptions options);
  int init_ring(const ShardOptions& options);
  void loop_uring();
  void loop_threads();
  void pin(int cpu);
  void arm_doorbell();
  bool may_sleep();
  void woke();
  void cancel_queued();
  void deliver();

  const unsigned capacity_;
  unsigned batch_ = 32;
  int notify_fd_ = -1;
  int doorbell_fd_ = -1;
  std::thread thread_;
  ShardInfo info_;

  MpscQueue<FileOp*> inbox_;
  SpscQueue<FileOp*> outbox_;
  std::atomic<std::size_t> outstanding_{0};
  std::atomic<bool> stop_{false};
  // Sleep/wake handshake on one word, so every decision is an RMW in a single
  // modification order (no fences): producers swap in kNotified after pushing, the
  // shard swaps in kSleeping before blocking and kAwake after waking.
  enum WakeState : uint8_t { kAwake, kSleeping, kNotified };
  std::atomic<uint8_t> wake_state_{kAwake};

  // Shard-thread state.
  Ring ring_;
  UringFileOps ops_;
  uint64_t doorbell_value_ = 0;
  bool doorbell_armed_ = false;
  unsigned cancels_due_ = 0;
  std::vector<FileOp*> finished_;  // completions gathered for the next deliver()
};

}  // namespace ringleader
