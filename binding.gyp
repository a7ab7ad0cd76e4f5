# Install build of the N-API addon (node-gyp ships with npm, so users need no CMake).
# The core's source list must match native/core/sources.cmake: test/engine/sources.test.ts
# checks that both builds compile the same files. Linux only: elsewhere the target is
# empty, the addon is absent and the `js` backend runs.
{
  "targets": [
    {
      "target_name": "ringleader",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/core/batch_table.cc",
            "native/core/blocking_ops.cc",
            "native/core/engine.cc",
            "native/core/errors.cc",
            "native/core/file_ops.cc",
            "native/core/op_pool.cc",
            "native/core/probe.cc",
            "native/core/ring.cc",
            "native/core/shard.cc",
            "native/core/uring_ops.cc",
            "native/addon/addon.cc",
            "native/addon/engine_wrap.cc"
          ],
          "include_dirs": [
            "<!(node -p \"require('node-addon-api').include_dir\")",
            "native/core"
          ],
          "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
          "cflags!": ["-fno-exceptions"],
          "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
          "cflags": ["-Wall", "-Wextra", "-O2"],
          "cflags_cc": ["-std=c++20", "-fexceptions", "-Wall", "-Wextra"],
          "libraries": ["-lpthread"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
