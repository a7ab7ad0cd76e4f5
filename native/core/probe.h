// Is io_uring usable here, and if not, why: the answer behind engine.fallbackReason and
// the `ringleader probe` command. Probing sets up a throwaway ring; it never assumes.
#pragma once

#include <string>
#include <vector>

namespace ringleader {

struct ProbeResult {
  bool io_uring = false;  // a ring can be set up and runs every opcode the file ops need
  int error = 0;          // -errno from io_uring_setup (or -EOPNOTSUPP for a missing opcode)
  std::string reason;     // empty when usable
  std::string kernel;     // uname release, e.g. "6.1.0-18-amd64"
  std::vector<std::string> opcodes;  // supported opcode names, e.g. "OPENAT"
  unsigned setup_flags = 0;          // flags the ring accepted (see Ring::init's ladder)
  unsigned features = 0;
  int io_uring_disabled = -1;  // /proc/sys/kernel/io_uring_disabled, -1 when absent
  int seccomp_mode = -1;       // "Seccomp:" from /proc/self/status, -1 when absent
};

ProbeResult probe();

}  // namespace ringleader
