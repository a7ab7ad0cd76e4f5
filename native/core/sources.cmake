# Source list of the native core, shared by CMakeLists.txt and (later) binding.gyp,
# so both builds compile exactly the same files. Paths are relative to the repo root.
set(RINGLEADER_CORE_SOURCES
  native/core/batch_table.cc
  native/core/blocking_ops.cc
  native/core/engine.cc
  native/core/errors.cc
  native/core/file_ops.cc
  native/core/op_pool.cc
  native/core/probe.cc
  native/core/ring.cc
  native/core/shard.cc
  native/core/uring_ops.cc
)
