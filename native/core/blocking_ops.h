// The threads backend's executor: a FileOp run start to finish with plain blocking
// syscalls, for kernels or containers where io_uring is blocked.
#pragma once

#include "file_ops.h"

namespace ringleader {

// Runs op to completion on the calling thread and sets its outputs.
void run_blocking(FileOp* op);

}  // namespace ringleader
