// The shard thread's loops. io_uring mode: admit a batch from the inbox, submit and wait
// in one io_uring_enter, reap every ready CQE, deliver. Threads mode: run a batch with
// blocking syscalls, deliver. Both sleep on the doorbell eventfd only when idle.
#include "shard.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>

#include "blocking_ops.h"

namespace ringleader {
namespace {

void write_eventfd(int fd) {
  if (fd < 0) return;
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated, which still reads as "wake up".
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

}  // namespace

const char* backend_name(Backend backend) { return backend == Backend::kIoUring ? "io_uring" : "threads"; }

Shard::Shard(unsigned capacity)
    : capacity_(capacity == 0 ? 1 : capacity), inbox_(capacity_), outbox_(capacity_) {}

Shard::~Shard() { stop(); }

int Shard::start(const ShardOptions& options) {
  if (thread_.joinable()) return -EBUSY;
  if (options.queue_depth == 0 || options.batch == 0) return -EINVAL;
  doorbell_fd_ = eventfd(0, EFD_CLOEXEC);
  if (doorbell_fd_ < 0) return -errno;
  batch_ = options.batch;
  notify_fd_ = options.notify_fd;
  finished_.reserve(capacity_);
  std::promise<int> ready;
  std::future<int> started = ready.get_future();
  // The thread owns the promise, so the shared state outlives set_value's return.
  thread_ = std::thread([this, options, ready = std::move(ready)]() mutable {
    pin(options.cpu);
    const int r = options.backend == Backend::kIoUring ? init_ring(options) : 0;
    info_.backend = options.backend;
    ready.set_value(r);
    if (r < 0) return;
    if (options.backend == Backend::kIoUring) {
      loop_uring();
      ring_.close();
    } else {
      loop_threads();
    }
  });
  const int r = started.get();
  if (r < 0) {
    thread_.join();
    ::close(doorbell_fd_);
    doorbell_fd_ = -1;
  }
  return r;
}

void Shard::pin(int cpu) {
  info_.cpu_requested = cpu;
  if (cpu < 0) return;
  if (cpu >= CPU_SETSIZE) {
    info_.pin_error = EINVAL;
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  // Refusal (cgroup cpuset, container limits) is recorded, never fatal: an unpinned
  // shard is slower, not wrong.
  info_.pin_error = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  info_.cpu = info_.pin_error == 0 ? cpu : -1;
}

int Shard::init_ring(const ShardOptions& options) {
  // Created on the shard thread: with SINGLE_ISSUER the ring belongs to its creator.
  RingOptions ro;
  ro.entries = UringFileOps::ring_entries_for(options.queue_depth);
  ro.sqpoll = options.sqpoll;
  int r = ring_.init(ro);
  if (r == 0) r = ops_.init(&ring_, options.queue_depth, options.direct_descriptors);
  if (r < 0) {
    ring_.close();
    return r;
  }
  info_.ring_flags = ring_.setup_flags();
  info_.ring_features = ring_.features();
  info_.sq_entries = ring_.sq_entries();
  info_.direct_descriptors = ops_.direct();
  return 0;
}

bool Shard::try_submit(FileOp* op) {
  // acquire: a set flag means the shard may be gone; nothing else rides on it.
  if (op == nullptr || !thread_.joinable() || stop_.load(std::memory_order_acquire)) return false;
  // acquire: pairs with drain()'s release, so the slots the consumer freed are visible
  // to the shard by the time it pushes this op's completion.
  if (outstanding_.fetch_add(1, std::memory_order_acquire) >= capacity_) {
    // relaxed: undoing our own claim publishes nothing.
    outstanding_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  // Cannot fail: the inbox holds capacity_ ops and outstanding_ never exceeds that.
  return inbox_.try_push(op);
}

void Shard::wake() {
  // acq_rel: release hands our pushes to the shard that later reads kNotified; acquire
  // orders this after a previous sleeper's announcement. Only the producer that takes
  // kSleeping away rings, so a batch of wakes costs one eventfd write.
  if (wake_state_.exchange(kNotified, std::memory_order_acq_rel) == kSleeping) write_eventfd(doorbell_fd_);
}

std::size_t Shard::drain(FileOp** out, std::size_t max) {
  const std::size_t n = outbox_.try_pop_n(out, max);
  // release: our pops happen before a producer reuses this capacity (see try_submit).
  if (n != 0) outstanding_.fetch_sub(n, std::memory_order_release);
  return n;
}

std::size_t Shard::outstanding() const {
  // relaxed: a statistic.
  return outstanding_.load(std::memory_order_relaxed);
}

std::size_t Shard::room() const {
  // relaxed: only the submitting and draining threads change the count, and the caller
  // acts on it as a hint (try_submit still checks).
  const std::size_t used = outstanding_.load(std::memory_order_relaxed);
  return used >= capacity_ ? 0 : capacity_ - used;
}

void Shard::stop() {
  if (!thread_.joinable()) return;
  // release: the shard acquires it; then reads the doorbell this write fills.
  stop_.store(true, std::memory_order_release);
  write_eventfd(doorbell_fd_);
  thread_.join();
  // A producer that raced past the stop check may have queued after the shard's last
  // look; the shard is gone, so this thread may play its part.
  cancel_queued();
  deliver();
  ::close(doorbell_fd_);
  doorbell_fd_ = -1;
}

bool Shard::may_sleep() {
  // acq_rel: acquire pairs with a producer's kNotified so its pushes are visible to the
  // inbox check below; release publishes the announcement to the next producer. Either
  // a producer swaps after us (sees kSleeping, rings) or before us (we see kNotified).
  const uint8_t before = wake_state_.exchange(kSleeping, std::memory_order_acq_rel);
  // acquire: a stop request must be seen before we block on the doorbell.
  if (before == kNotified || !inbox_.empty() || stop_.load(std::memory_order_acquire)) {
    woke();
    return false;
  }
  return true;
}

void Shard::woke() {
  // acquire: if a producer rang us, its kNotified carries its pushes to our next pops.
  wake_state_.exchange(kAwake, std::memory_order_acquire);
}

void Shard::cancel_queued() {
  FileOp* op;
  while (inbox_.try_pop(&op)) {
    op->result = -ECANCELED;
    op->syscall = nullptr;
    finished_.push_back(op);
  }
}

void Shard::deliver() {
  if (finished_.empty()) return;
  bool notify = false;
  for (FileOp* op : finished_) {
    // Read before the push: from then on the consumer may drain and reuse the op.
    std::atomic<uint32_t>* countdown = op->countdown;
    // The outbox holds capacity_ ops and outstanding_ counts every op until it is drained,
    // so there is always room.
    outbox_.try_push(op);
    // acq_rel: release lets the consumer that reads zero (acquire) know this shard is done
    // with the counter; acquire makes the last decrementer see the other shards' pushes
    // before its eventfd write announces them.
    if (countdown == nullptr || countdown->fetch_sub(1, std::memory_order_acq_rel) == 1) notify = true;
  }
  finished_.clear();
  if (notify) write_eventfd(notify_fd_);
}

void Shard::arm_doorbell() {
  io_uring_sqe* sqe = ring_.get_sqe();
  if (sqe == nullptr) {
    ring_.submit();
    sqe = ring_.get_sqe();
    if (sqe == nullptr) return;
  }
  prep_read(sqe, doorbell_fd_, &doorbell_value_, sizeof doorbell_value_, 0);
  sqe_set_data64(sqe, UringFileOps::kReservedDoorbell);
  doorbell_armed_ = true;
}

void Shard::loop_uring() {
  constexpr unsigned kReap = 64;
  io_uring_cqe* cqes[kReap];
  bool stopping = false;
  // A cancelled request still starts its hard-linked successor (the EOF probe), which
  // may park again, so shutdown cancels again after each round of op completions.
  bool progress_since_cancel = false;
  arm_doorbell();
  for (;;) {
    // acquire: pairs with stop()'s release.
    if (!stopping && stop_.load(std::memory_order_acquire)) {
      stopping = true;
      progress_since_cancel = true;
      ops_.set_stopping();
      cancel_queued();
    }
    if (stopping && progress_since_cancel && cancels_due_ == 0 && (ops_.cqes_due() != 0 || doorbell_armed_)) {
      if (io_uring_sqe* sqe = ring_.get_sqe()) {
        prep_cancel_all(sqe);
        sqe_set_data64(sqe, UringFileOps::kReservedCancel);
        ++cancels_due_;
        progress_since_cancel = false;
      }
    }
    bool more = false;
    if (!stopping) {
      FileOp* op;
      unsigned admitted = 0;
      while (admitted < batch_ && ops_.can_start() && inbox_.try_pop(&op)) {
        if (FileOp* done = ops_.start(op)) finished_.push_back(done);
        ++admitted;
      }
      more = admitted == batch_ && ops_.can_start() && !inbox_.empty();
    }
    deliver();
    if (stopping && ops_.cqes_due() == 0 && !doorbell_armed_ && cancels_due_ == 0) break;

    // Wait for a completion unless admitted work is still queued; the armed doorbell
    // turns a submission into a completion, so idle waits end on new work too.
    unsigned wait_nr = more ? 0 : 1;
    bool slept = false;
    // Only announce sleep when new work could start; otherwise an in-flight op's CQE
    // is what we are waiting for, and a queued op must not turn the wait into a spin.
    if (wait_nr != 0 && !stopping && ops_.can_start()) {
      slept = may_sleep();
      if (!slept) wait_nr = 0;
    }
    const int r = ring_.submit_and_wait(wait_nr);
    if (slept) woke();
    unsigned reaped = 0;
    for (;;) {
      const unsigned n = ring_.peek_batch_cqe(cqes, kReap);
      for (unsigned i = 0; i < n; ++i) {
        const uint64_t data = cqes[i]->user_data;
        const int32_t res = cqes[i]->res;
        if (data == UringFileOps::kReservedDoorbell) {
          doorbell_armed_ = false;
        } else if (data == UringFileOps::kReservedCancel) {
          --cancels_due_;
          // Kernels before 5.19 lack IORING_ASYNC_CANCEL_ANY; then only the doorbell
          // needs cancelling, since file ops finish on their own (non-blocking opens).
          if (res == -EINVAL && doorbell_armed_) {
            if (io_uring_sqe* sqe = ring_.get_sqe()) {
              prep_rw(IORING_OP_ASYNC_CANCEL, sqe, -1, nullptr, 0, 0);
              sqe->addr = UringFileOps::kReservedDoorbell;
              sqe_set_data64(sqe, UringFileOps::kReservedCancel);
              ++cancels_due_;
            }
          }
        } else {
          progress_since_cancel = true;
          if (FileOp* done = ops_.complete(data, res)) finished_.push_back(done);
        }
      }
      ring_.cq_advance(n);
      reaped += n;
      if (n < kReap) break;
    }
    if (!doorbell_armed_ && !stopping) arm_doorbell();
    if (r < 0 && reaped == 0 && r != -EBUSY && r != -EAGAIN) {
      // The kernel refused the enter itself (ENOMEM and the like); back off rather than spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

void Shard::loop_threads() {
  for (;;) {
    // acquire: pairs with stop()'s release.
    if (stop_.load(std::memory_order_acquire)) {
      cancel_queued();
      deliver();
      return;
    }
    FileOp* op;
    unsigned ran = 0;
    while (ran < batch_ && inbox_.try_pop(&op)) {
      run_blocking(op);
      finished_.push_back(op);
      ++ran;
    }
    deliver();
    if (ran == 0 && may_sleep()) {
      uint64_t value;
      while (::read(doorbell_fd_, &value, sizeof value) < 0 && errno == EINTR) {
      }
      woke();
    }
  }
}

}  // namespace ringleader
