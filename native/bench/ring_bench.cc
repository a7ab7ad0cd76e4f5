// Ring round trips: one NOP per io_uring_enter vs 32 NOPs per enter, with a plain
// syscall (getppid) as the per-call floor, operations per second.
#include <unistd.h>

#include <cstdio>

#include "bench_util.h"
#include "ring.h"

using namespace ringleader;
using ringleader::bench::best_rate;

namespace {

constexpr unsigned kOps = 1'000'000;

uint64_t nops(Ring& ring, unsigned batch) {
  uint64_t done = 0;
  io_uring_cqe* cqes[64];
  while (done < kOps) {
    for (unsigned i = 0; i < batch; ++i) prep_nop(ring.get_sqe());
    if (ring.submit_and_wait(batch) < 0) return 0;
    unsigned got = 0;
    while (got < batch) {
      const unsigned n = ring.peek_batch_cqe(cqes, 64);
      ring.cq_advance(n);
      got += n;
    }
    done += batch;
  }
  return done;
}

}  // namespace

int main() {
  Ring ring;
  const int r = ring.init(RingOptions{});
  if (r < 0) {
    std::printf("io_uring unavailable: %d\n", r);
    return 1;
  }
  std::printf("NOP round trips, %u ops, best of 3, setup flags 0x%x\n", kOps, ring.setup_flags());
  const double single = best_rate(3, [&] { return nops(ring, 1); });
  const double batched = best_rate(3, [&] { return nops(ring, 32); });
  const double syscalls = best_rate(3, [] {
    uint64_t n = 0;
    for (unsigned i = 0; i < kOps; ++i) n += getppid() > 0 ? 1 : 0;
    return n;
  });
  std::printf("  nop x1 per enter   %8.2f M ops/s  (%.2fx getppid)\n", single / 1e6, single / syscalls);
  std::printf("  nop x32 per enter  %8.2f M ops/s  (%.2fx getppid, %.1fx x1)\n", batched / 1e6, batched / syscalls,
              batched / single);
  std::printf("  getppid syscall    %8.2f M ops/s\n", syscalls / 1e6);
  return 0;
}
