// The JS-facing Engine: converts a batch of paths into FileOps in one call, submits them
// to the core engine, and hands each finished batch back to JS in one callback, woken by
// a uv_poll on the engine's eventfd. Everything here runs on the JS thread that made it.
#pragma once

#include <napi.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "arena_pool.h"
#include "engine.h"

namespace ringleader::addon {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function define(Napi::Env env);

  explicit EngineWrap(const Napi::CallbackInfo& info);
  ~EngineWrap() override;

 private:
  // One submit call's ops; reported to JS once, when the last of them comes back.
  struct Batch {
    double token = 0;
    OpKind kind = OpKind::kNop;
    uint32_t done = 0;
    // kReadFile: ops the shards have not yet delivered, as FileOp::countdown; the batch is
    // reused only once it reads zero.
    std::atomic<uint32_t> countdown{0};
    std::vector<FileOp*> ops;
    std::unique_ptr<uint8_t[]> write_copy;  // kWriteFile: JS may detach its buffer mid-write
    // kReadFile: the arena the shards read into, slot i for op i, header for JS after
    // delivery; owned here until handed to JS (or back to the pool).
    uint8_t* arena = nullptr;
    std::size_t arena_bytes = 0;
    std::size_t data = 0;  // offset of slot 0
    std::size_t slot = 0;
  };

  Napi::Value read_files(const Napi::CallbackInfo& info);
  Napi::Value write_file(const Napi::CallbackInfo& info);
  Napi::Value stat(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value outstanding(const Napi::CallbackInfo& info);
  Napi::Value room(const Napi::CallbackInfo& info);

  void check_open(Napi::Env env) const;
  // Files the next read batch may hold: as many slots as fill one arena, within bounds.
  uint32_t batch_limit() const;
  FileOp* take_op();
  void recycle(FileOp* op);
  uint32_t take_batch(double token, OpKind kind);
  void free_batch(uint32_t slot);
  // Rings the engine's notify eventfd from this thread, as a shard would.
  void notify_self();
  bool submit_one(uint32_t slot, FileOp* op);

  // The poll handle outlives the wrap until libuv's close callback; an async cleanup hook
  // holds a terminating worker's environment (and so the addon's code) until it has run.
  struct Poll {
    uv_poll_t handle;
    EngineWrap* owner = nullptr;
    napi_async_cleanup_hook_handle hook = nullptr;
  };

  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_env_teardown(napi_async_cleanup_hook_handle hook, void* arg);
  void close_poll();
  // Drains every finished op; delivers completed batches through JS when in_js allows.
  void pump(bool from_loop);
  void deliver(uint32_t slot, bool from_loop);
  void deliver_reads(Batch& batch, bool from_loop);
  void call(const Napi::FunctionReference& fn, const std::vector<napi_value>& args, bool from_loop);
  void update_ref();
  // Stops the core engine and frees every op and handle without calling into JS.
  void shutdown();

  Napi::Env env_;
  std::shared_ptr<ArenaPool> arenas_;
  std::unique_ptr<Engine> engine_;
  Poll* poll_ = nullptr;
  bool referenced_ = false;
  bool closed_ = false;
  Napi::FunctionReference on_read_;
  Napi::FunctionReference on_write_;
  Napi::FunctionReference on_stat_;
  std::unique_ptr<Napi::AsyncContext> async_context_;

  std::vector<std::unique_ptr<Batch>> batches_;
  std::vector<uint32_t> free_batches_;
  // Batches whose ops have all drained while a shard has yet to count down its last one.
  std::vector<uint32_t> settling_;
  uint32_t live_batches_ = 0;
  std::vector<FileOp*> free_ops_;
  std::size_t pooled_bytes_ = 0;
  // Arena slot size for the next reads: the largest file of the last batch, so files
  // like it land in their slot with one read.
  std::size_t slot_ = 0;
  std::vector<FileOp*> drain_scratch_;
  std::vector<char> path_scratch_;
  std::vector<std::string_view> views_scratch_;  // read_files: the batch's paths
};

}  // namespace ringleader::addon
