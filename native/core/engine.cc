// Engine: creates the notify eventfd and the shards (pinned to the CPUs this process
// may use), routes each submitted op to a shard, and drains all outboxes fairly.
#include "engine.h"

#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace ringleader {
namespace {

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  return cpus;
}

}  // namespace

int Engine::open(const EngineOptions& options, std::unique_ptr<Engine>* out) {
  if (out == nullptr || options.shards == 0 || options.shards > 1024 || options.queue_depth == 0 ||
      options.queue_depth > 4096 || options.capacity == 0 || options.batch == 0) {
    return -EINVAL;
  }
  std::unique_ptr<Engine> engine(new Engine());
  engine->backend_ = options.backend;
  engine->routing_ = options.routing;
  engine->notify_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (engine->notify_fd_ < 0) return -errno;
  const std::vector<int> cpus = options.pin ? allowed_cpus() : std::vector<int>{};
  for (unsigned i = 0; i < options.shards; ++i) {
    ShardOptions so;
    so.backend = options.backend;
    so.cpu = cpus.empty() ? -1 : cpus[i % cpus.size()];
    so.queue_depth = options.queue_depth;
    so.capacity = options.capacity;
    so.batch = options.batch;
    so.sqpoll = options.sqpoll;
    so.direct_descriptors = options.direct_descriptors;
    so.notify_fd = engine->notify_fd_;
    auto shard = std::make_unique<Shard>(options.capacity);
    const int r = shard->start(so);
    if (r < 0) return r;  // the destructor stops the shards already running
    engine->shards_.push_back(std::move(shard));
  }
  engine->touched_.assign(options.shards, false);
  *out = std::move(engine);
  return 0;
}

Engine::~Engine() {
  close();
  if (notify_fd_ >= 0) ::close(notify_fd_);
}

std::size_t Engine::route_path(std::string_view path, std::size_t shards) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : path) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return shards == 0 ? 0 : static_cast<std::size_t>(h % shards);
}

int Engine::submit(FileOp* const* ops, std::size_t n) {
  if (closed_) return -ESHUTDOWN;
  if (n != 0 && ops == nullptr) return -EINVAL;
  for (std::size_t i = 0; i < n; ++i) {
    if (ops[i] == nullptr) return -EINVAL;
  }
  if (n > INT32_MAX) n = INT32_MAX;  // the count must fit the return value
  const std::size_t count = shards_.size();
  const bool balance = routing_ == Routing::kLeastLoaded;
  if (balance) snapshot_room();
  std::size_t accepted = 0;
  for (; accepted < n; ++accepted) {
    FileOp* op = ops[accepted];
    std::size_t s;
    if (balance) {
      s = roomiest();
      if (room_scratch_[s] == 0) break;  // every shard is full
      --room_scratch_[s];
    } else if (routing_ == Routing::kPathHash && op->kind != OpKind::kNop) {
      s = route_path(op->path, count);
    } else {
      s = next_shard_;
      next_shard_ = (next_shard_ + 1) % count;
    }
    if (!shards_[s]->try_submit(op)) break;
    touched_[s] = true;
  }
  // One doorbell per shard per batch, not per op.
  for (std::size_t s = 0; s < count; ++s) {
    if (touched_[s]) {
      shards_[s]->wake();
      touched_[s] = false;
    }
  }
  return static_cast<int>(accepted);
}

std::size_t Engine::drain(FileOp** out, std::size_t max) {
  if (out == nullptr) return 0;
  std::size_t n = 0;
  const std::size_t count = shards_.size();
  for (std::size_t i = 0; i < count && n < max; ++i) {
    n += shards_[(next_shard_ + i) % count]->drain(out + n, max - n);
  }
  return n;
}

int Engine::wait(int timeout_ms) {
  pollfd pfd{notify_fd_, POLLIN, 0};
  for (;;) {
    const int r = poll(&pfd, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return 0;
    uint64_t value;
    if (::read(notify_fd_, &value, sizeof value) < 0 && errno != EAGAIN) return -errno;
    return 1;
  }
}

void Engine::close() {
  closed_ = true;
  for (auto& shard : shards_) shard->stop();
}

std::size_t Engine::room() const {
  if (closed_) return 0;
  std::size_t total = 0;
  for (const auto& shard : shards_) total += shard->room();
  return total;
}

void Engine::snapshot_room() {
  room_scratch_.resize(shards_.size());
  for (std::size_t s = 0; s < shards_.size(); ++s) room_scratch_[s] = shards_[s]->room();
}

std::size_t Engine::roomiest() {
  const std::size_t count = shards_.size();
  std::size_t best = next_shard_;
  for (std::size_t k = 1; k < count; ++k) {
    const std::size_t s = (next_shard_ + k) % count;
    if (room_scratch_[s] > room_scratch_[best]) best = s;
  }
  next_shard_ = (best + 1) % count;
  return best;
}

std::size_t Engine::fitting(const std::string_view* paths, std::size_t n) {
  if (closed_ || paths == nullptr) return 0;
  if (routing_ == Routing::kLeastLoaded) {
    const std::size_t total = room();
    return n < total ? n : total;
  }
  const std::size_t count = shards_.size();
  snapshot_room();
  std::size_t next = next_shard_;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t s;
    if (routing_ == Routing::kPathHash) {
      s = route_path(paths[i], count);
    } else {
      s = next;
      next = (next + 1) % count;
    }
    if (room_scratch_[s] == 0) return i;
    --room_scratch_[s];
  }
  return n;
}

std::size_t Engine::outstanding() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) n += shard->outstanding();
  return n;
}

}  // namespace ringleader
