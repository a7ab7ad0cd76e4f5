// Ring against the real kernel: NOP round trip, a linked OPENAT -> READ -> CLOSE of a
// known file, errors as negative errno (ENOENT, EISDIR), SQ-full and CQ-empty edges,
// and the opcode probe. Skipped (77) where io_uring is refused.
#include "ring.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "check.h"
#include "probe.h"
#include "temp_dir.h"

using namespace ringleader;
using ringleader::test::TempDir;

namespace {

int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

// Reaps exactly n CQEs into res[] indexed by user_data.
bool reap(Ring& ring, unsigned n, int* res, unsigned slots) {
  for (unsigned i = 0; i < n; ++i) {
    io_uring_cqe* cqe = nullptr;
    if (ring.wait_cqe(&cqe) != 0) return false;
    if (cqe->user_data < slots) res[cqe->user_data] = cqe->res;
    ring.cqe_seen(cqe);
  }
  return true;
}

}  // namespace

TEST(nop_round_trip_carries_user_data) {
  Ring ring;
  REQUIRE(ring.init(RingOptions{}) == 0);
  io_uring_sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(sqe);
  sqe_set_data64(sqe, 0xfeedfacecafebeefull);
  CHECK_EQ(ring.submit_and_wait(1), 1);
  io_uring_cqe* cqe = nullptr;
  REQUIRE(ring.peek_cqe(&cqe) == 0);
  CHECK(cqe->user_data == 0xfeedfacecafebeefull);
  CHECK_EQ(cqe->res, 0);
  ring.cqe_seen(cqe);
  CHECK_EQ(ring.peek_cqe(&cqe), -EAGAIN);
}

TEST(tries_the_strongest_setup_flags_first) {
  Ring ring;
  REQUIRE(ring.init(RingOptions{}) == 0);
  // This kernel (>= 6.1) takes the first rung; older ones land on a later one.
  const unsigned first = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  const unsigned second = IORING_SETUP_COOP_TASKRUN;
  const unsigned flags = ring.setup_flags();
  CHECK((flags & first) == first || (flags & second) == second || flags == 0);
  CHECK(ring.sq_entries() >= 256);
  CHECK(ring.cq_entries() >= 2 * ring.sq_entries());
}

TEST(get_sqe_returns_null_when_the_sq_is_full) {
  Ring ring;
  RingOptions o;
  o.entries = 4;
  REQUIRE(ring.init(o) == 0);
  for (unsigned i = 0; i < ring.sq_entries(); ++i) {
    io_uring_sqe* sqe = ring.get_sqe();
    REQUIRE(sqe != nullptr);
    prep_nop(sqe);
  }
  CHECK(ring.get_sqe() == nullptr);
  CHECK_EQ(ring.sq_space_left(), 0u);
  CHECK_EQ(ring.submit_and_wait(ring.sq_entries()), static_cast<int>(ring.sq_entries()));
  io_uring_cqe* cqes[8];
  const unsigned n = ring.peek_batch_cqe(cqes, 8);
  CHECK_EQ(n, ring.sq_entries());
  ring.cq_advance(n);
  CHECK(ring.get_sqe() != nullptr);
}

TEST(linked_open_read_close_reads_a_known_file) {
  TempDir dir;
  REQUIRE(dir.ok());
  const std::string contents = ringleader::test::pattern(3000);
  const std::string path = dir.write("known.bin", contents);
  REQUIRE(!path.empty());
  Ring ring;
  REQUIRE(ring.init(RingOptions{}) == 0);
  REQUIRE(ring.register_files_sparse(4) == 0);
  const int fds_before = open_fds();
  std::string buf(8192, '\0');
  io_uring_sqe* open = ring.get_sqe();
  prep_openat_direct(open, AT_FDCWD, path.c_str(), O_RDONLY, 0, 2);
  sqe_set_data64(open, 0);
  sqe_set_flags(open, IOSQE_IO_LINK);
  io_uring_sqe* read = ring.get_sqe();
  prep_read(read, 2, buf.data(), static_cast<uint32_t>(buf.size()), 0);
  sqe_set_data64(read, 1);
  // Hard link: the read is short (file smaller than the buffer), which would cancel a
  // plain-linked close.
  sqe_set_flags(read, IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK);
  io_uring_sqe* close = ring.get_sqe();
  prep_close_direct(close, 2);
  sqe_set_data64(close, 2);
  CHECK_EQ(ring.submit(), 3);
  int res[3] = {-1, -1, -1};
  REQUIRE(reap(ring, 3, res, 3));
  CHECK_EQ(res[0], 0);
  CHECK_EQ(res[1], 3000);
  CHECK_EQ(res[2], 0);
  CHECK(buf.compare(0, 3000, contents) == 0);
  CHECK_EQ(open_fds(), fds_before);
}

TEST(open_of_a_missing_file_is_enoent_and_cancels_its_link) {
  TempDir dir;
  REQUIRE(dir.ok());
  Ring ring;
  REQUIRE(ring.init(RingOptions{}) == 0);
  const std::string missing = dir.file("missing");
  io_uring_sqe* open = ring.get_sqe();
  prep_openat(open, AT_FDCWD, missing.c_str(), O_RDONLY | O_CLOEXEC, 0);
  sqe_set_data64(open, 0);
  sqe_set_flags(open, IOSQE_IO_LINK);
  io_uring_sqe* nop = ring.get_sqe();
  prep_nop(nop);
  sqe_set_data64(nop, 1);
  CHECK_EQ(ring.submit(), 2);
  int res[2] = {0, 0};
  REQUIRE(reap(ring, 2, res, 2));
  CHECK_EQ(res[0], -ENOENT);
  CHECK_EQ(res[1], -ECANCELED);
}

TEST(read_of_a_directory_is_eisdir) {
  TempDir dir;
  REQUIRE(dir.ok());
  Ring ring;
  REQUIRE(ring.init(RingOptions{}) == 0);
  const int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  char buf[64];
  io_uring_sqe* read = ring.get_sqe();
  prep_read(read, fd, buf, sizeof buf, 0);
  sqe_set_data64(read, 0);
  ring.submit();
  int res[1] = {0};
  REQUIRE(reap(ring, 1, res, 1));
  CHECK_EQ(res[0], -EISDIR);
  ::close(fd);
}

TEST(probe_lists_the_file_opcodes) {
  Ring ring;
  REQUIRE(ring.init(RingOptions{}) == 0);
  CHECK(ring.opcode_supported(IORING_OP_NOP));
  CHECK(ring.opcode_supported(IORING_OP_OPENAT));
  CHECK(ring.opcode_supported(IORING_OP_READ));
  CHECK(ring.opcode_supported(IORING_OP_CLOSE));
  CHECK(ring.opcode_supported(IORING_OP_STATX));
  CHECK(!ring.opcode_supported(255));
  CHECK(std::string(opcode_name(IORING_OP_OPENAT)) == "OPENAT");
  CHECK(std::string(opcode_name(IORING_OP_SENDMSG_ZC)) == "SENDMSG_ZC");
  CHECK(opcode_name(200) == nullptr);
}

TEST(calls_on_a_closed_ring_return_errors) {
  Ring ring;
  CHECK(ring.get_sqe() == nullptr);
  CHECK_EQ(ring.submit(), -EBADF);
  io_uring_cqe* cqe = nullptr;
  CHECK_EQ(ring.peek_cqe(&cqe), -EAGAIN);
  CHECK_EQ(ring.register_files_sparse(4), -EBADF);
  RingOptions bad;
  bad.entries = 0;
  CHECK_EQ(ring.init(bad), -EINVAL);
}

int main() {
  if (!ringleader::probe().io_uring) {
    std::printf("io_uring unavailable: %s\n", ringleader::probe().reason.c_str());
    return 77;
  }
  return ringleader::test::run_all();
}
