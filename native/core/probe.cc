// Probe: set up a small ring the same way a shard would, then explain any refusal in
// the terms an operator can act on (sysctl, seccomp profile, memlock limit, kernel age).
#include "probe.h"

#include <sys/resource.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "errors.h"
#include "ring.h"

namespace ringleader {
namespace {

int read_int_file(const char* path) {
  std::ifstream in(path);
  int value = -1;
  if (!(in >> value)) return -1;
  return value;
}

int seccomp_mode() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Seccomp:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

std::string explain(int err, int disabled, int seccomp) {
  const std::string code = errno_name(err);
  switch (-err) {
    case ENOSYS:
      return "io_uring_setup: ENOSYS (kernel older than 5.1, built without CONFIG_IO_URING, or the syscall is "
             "filtered)";
    case EPERM:
      if (disabled == 2) return "io_uring_setup: EPERM (kernel.io_uring_disabled=2: io_uring is off for everyone)";
      if (disabled == 1) {
        return "io_uring_setup: EPERM (kernel.io_uring_disabled=1 and this process is not in "
               "kernel.io_uring_group)";
      }
      if (seccomp == 2) {
        return "io_uring_setup: EPERM (blocked by a seccomp filter; Docker's default profile blocks io_uring)";
      }
      return "io_uring_setup: EPERM (refused by a security policy)";
    case ENOMEM: {
      rlimit rl{};
      getrlimit(RLIMIT_MEMLOCK, &rl);
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "io_uring_setup: ENOMEM (RLIMIT_MEMLOCK is %llu KiB; kernels before 5.12 charge rings to it)",
                    static_cast<unsigned long long>(rl.rlim_cur / 1024));
      return buf;
    }
    default:
      return "io_uring_setup: " + code;
  }
}

}  // namespace

ProbeResult probe() {
  ProbeResult result;
  utsname u{};
  if (uname(&u) == 0) result.kernel = u.release;
  result.io_uring_disabled = read_int_file("/proc/sys/kernel/io_uring_disabled");
  result.seccomp_mode = seccomp_mode();

  Ring ring;
  RingOptions options;
  options.entries = 8;
  const int r = ring.init(options);
  if (r < 0) {
    result.error = r;
    result.reason = explain(r, result.io_uring_disabled, result.seccomp_mode);
    return result;
  }
  result.setup_flags = ring.setup_flags();
  result.features = ring.features();
  for (unsigned op = 0; op < 256; ++op) {
    if (!ring.opcode_supported(op)) continue;
    const char* name = opcode_name(op);
    result.opcodes.push_back(name != nullptr ? name : "OP_" + std::to_string(op));
  }
  static constexpr unsigned kNeeded[] = {IORING_OP_NOP,  IORING_OP_OPENAT, IORING_OP_READ,
                                         IORING_OP_WRITE, IORING_OP_CLOSE, IORING_OP_STATX};
  for (unsigned op : kNeeded) {
    if (!ring.opcode_supported(op)) {
      result.error = -EOPNOTSUPP;
      result.reason = std::string("kernel ") + result.kernel + " lacks IORING_OP_" + opcode_name(op) +
                      " (file ops need Linux 5.6 or later)";
      return result;
    }
  }
  result.io_uring = true;
  return result;
}

}  // namespace ringleader
