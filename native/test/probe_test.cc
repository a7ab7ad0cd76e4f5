// probe() and errno_name(): sane values on this machine, whichever way io_uring goes.
#include "probe.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>

#include "check.h"
#include "errors.h"

using namespace ringleader;

TEST(reports_the_running_kernel) {
  const ProbeResult r = probe();
  CHECK(!r.kernel.empty());
  CHECK(r.kernel[0] >= '2' && r.kernel[0] <= '9');
}

TEST(usable_means_opcodes_and_no_reason) {
  const ProbeResult r = probe();
  std::printf("  io_uring=%d kernel=%s flags=0x%x features=0x%x opcodes=%zu reason='%s'\n", r.io_uring,
              r.kernel.c_str(), r.setup_flags, r.features, r.opcodes.size(), r.reason.c_str());
  if (r.io_uring) {
    CHECK(r.reason.empty());
    CHECK_EQ(r.error, 0);
    for (const char* name : {"NOP", "OPENAT", "READ", "WRITE", "CLOSE", "STATX"}) {
      CHECK(std::find(r.opcodes.begin(), r.opcodes.end(), name) != r.opcodes.end());
    }
  } else {
    CHECK(!r.reason.empty());
    CHECK(r.error < 0);
  }
}

TEST(reads_the_io_uring_disabled_sysctl) {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  int expected = -1;
  if (!(in >> expected)) expected = -1;
  CHECK_EQ(probe().io_uring_disabled, expected);
}

TEST(errno_names_match_node_codes) {
  CHECK(std::string(errno_name(-ENOENT)) == "ENOENT");
  CHECK(std::string(errno_name(EISDIR)) == "EISDIR");
  CHECK(std::string(errno_name(-ECANCELED)) == "ECANCELED");
  CHECK(std::string(errno_name(0)) == "UNKNOWN");
  CHECK(std::string(errno_name(-100000)) == "UNKNOWN");
}

int main() { return ringleader::test::run_all(); }
