// The JS-facing Engine: converts a batch of paths into FileOps in one call, submits them
// to the core engine, and hands each finished batch back to JS in one callback, woken by
// a uv_poll on the engine's eventfd. Everything here runs on the JS thread that made it.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "arena_pool.h"
#include "batch_table.h"
#include "engine.h"

namespace ringleader::addon {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function define(Napi::Env env);

  explicit EngineWrap(const Napi::CallbackInfo& info);
  ~EngineWrap() override;

 private:
  Napi::Value read_files(const Napi::CallbackInfo& info);
  Napi::Value write_file(const Napi::CallbackInfo& info);
  Napi::Value stat(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value outstanding(const Napi::CallbackInfo& info);
  Napi::Value room(const Napi::CallbackInfo& info);

  void check_open(Napi::Env env) const;
  // Rings the engine's notify eventfd from this thread, as a shard would.
  void notify_self();
  // Submits a write's or stat's batch, whose one op is ready; retires it if refused.
  bool submit_one(uint32_t slot);

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

  BatchTable batches_;
  std::vector<FileOp*> drain_scratch_;
  std::vector<char> path_scratch_;
  std::vector<std::string_view> views_scratch_;  // read_files: the batch's paths
};

}  // namespace ringleader::addon
