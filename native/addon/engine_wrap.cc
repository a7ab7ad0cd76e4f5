// Engine binding: convert, submit, deliver. A readFiles call turns one NUL-joined string
// of paths into a BatchTable chunk of pooled FileOps, each reading straight into its slot
// of one arena, and submits them with one Engine::submit. When the chunk is finished the
// arena goes to JS as a single external ArrayBuffer (one finalizer per chunk, not per
// file, and no copy); a file larger than its slot comes back in its op's own buffer,
// adopted as its own Buffer.
#include "engine_wrap.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "errors.h"

namespace ringleader::addon {
namespace {

constexpr std::size_t kDrainChunk = 512;
constexpr std::size_t kPathScratch = 16 * 1024;
constexpr unsigned kMaxShards = 256;
constexpr unsigned kMaxQueueDepth = 4096;
constexpr unsigned kMaxCapacity = 1u << 20;

// Syscall names travel to JS as small codes; lib/engine/native.ts holds the same table.
enum SyscallCode : uint8_t { kSysNone, kSysOpen, kSysRead, kSysWrite, kSysClose, kSysStat, kSysFstat };
// Marks an arena entry whose bytes travel as an adopted Buffer instead.
constexpr uint8_t kAdopted = 255;

uint8_t syscall_code(const char* name) {
  if (name == nullptr) return kSysNone;
  static constexpr struct {
    const char* name;
    SyscallCode code;
  } kNames[] = {{"open", kSysOpen},   {"read", kSysRead}, {"write", kSysWrite},
                {"close", kSysClose}, {"stat", kSysStat}, {"fstat", kSysFstat}};
  for (const auto& entry : kNames) {
    if (std::strcmp(entry.name, name) == 0) return entry.code;
  }
  return kSysNone;
}

Napi::Error errno_error(Napi::Env env, int err, const char* syscall) {
  const char* code = errno_name(err);
  Napi::Error e = Napi::Error::New(env, std::string(code) + ": " + std::strerror(err < 0 ? -err : err) + ", " + syscall);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err < 0 ? err : -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

Napi::Error closed_error(Napi::Env env) {
  Napi::Error e = Napi::Error::New(env, "engine is closed");
  e.Set("code", Napi::String::New(env, "ERR_CLOSED"));
  return e;
}

unsigned option_uint(const Napi::Object& options, const char* name, unsigned fallback, unsigned min, unsigned max) {
  Napi::Value v = options.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(options.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || std::floor(d) != d) {
    throw Napi::RangeError::New(options.Env(), std::string(name) + " must be an integer in [" + std::to_string(min) +
                                                   ", " + std::to_string(max) + "]");
  }
  return static_cast<unsigned>(d);
}

// An index argument: an integer in [0, max].
uint32_t index_arg(const Napi::Value& v, const char* name, std::size_t max) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= static_cast<double>(max)) || std::floor(d) != d) {
    throw Napi::RangeError::New(v.Env(), std::string(name) + " is out of range");
  }
  return static_cast<uint32_t>(d);
}

double token_arg(const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), "token must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// Converts a JS string to UTF-8 in the reused scratch buffer and returns its length. One
// pass covers anything that fits; only a string that may have been cut (within one UTF-8
// sequence and the NUL of the end) pays a second pass to measure it.
std::size_t read_utf8(napi_env env, napi_value value, std::vector<char>* scratch, const char* what) {
  std::size_t length = 0;
  if (napi_get_value_string_utf8(env, value, scratch->data(), scratch->size(), &length) != napi_ok) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a string");
  }
  if (length + 4 < scratch->size()) return length;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a string");
  }
  try {
    scratch->resize(length + 5);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory");
  }
  if (napi_get_value_string_utf8(env, value, scratch->data(), scratch->size(), &length) != napi_ok) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a string");
  }
  return length;
}

void assign_path(napi_env env, napi_value value, std::string* out, std::vector<char>* scratch) {
  const std::size_t length = read_utf8(env, value, scratch, "path");
  out->assign(scratch->data(), length);
}

struct ArenaRelease {
  std::shared_ptr<ArenaPool> pool;
  std::size_t size;
};

// An ArrayBuffer over an arena of `size` bytes, `length` of them visible, whose
// collection (its finalizer runs on this JS thread) gives the arena back to the pool.
Napi::ArrayBuffer arena_to_js(Napi::Env env, const std::shared_ptr<ArenaPool>& pool, uint8_t* data, std::size_t size,
                              std::size_t length) {
  auto* hint = new ArenaRelease{pool, size};
  try {
    return Napi::ArrayBuffer::New(
        env, data, length,
        [](Napi::Env, void* p, ArenaRelease* r) {
          r->pool->give(static_cast<uint8_t*>(p), r->size);
          delete r;
        },
        hint);
  } catch (...) {
    delete hint;
    throw;
  }
}

}  // namespace

Napi::Function EngineWrap::define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {
                         InstanceMethod<&EngineWrap::read_files>("readFiles"),
                         InstanceMethod<&EngineWrap::write_file>("writeFile"),
                         InstanceMethod<&EngineWrap::stat>("stat"),
                         InstanceMethod<&EngineWrap::close>("close"),
                         InstanceMethod<&EngineWrap::info>("info"),
                         InstanceMethod<&EngineWrap::outstanding>("outstanding"),
                         InstanceMethod<&EngineWrap::room>("room"),
                     });
}

// new Engine({ backend, shards, pin, queueDepth, capacity }, onRead, onWrite, onStat)
EngineWrap::EngineWrap(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<EngineWrap>(info), env_(info.Env()), arenas_(std::make_shared<ArenaPool>()), batches_(arenas_) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction() ||
      !info[3].IsFunction()) {
    throw Napi::TypeError::New(env, "Engine(options, onRead, onWrite, onStat)");
  }
  const Napi::Object options = info[0].As<Napi::Object>();
  EngineOptions eo;
  const Napi::Value backend = options.Get("backend");
  if (!backend.IsString()) throw Napi::TypeError::New(env, "backend must be 'io_uring' or 'threads'");
  const std::string name = backend.As<Napi::String>().Utf8Value();
  if (name == "io_uring") {
    eo.backend = Backend::kIoUring;
  } else if (name == "threads") {
    eo.backend = Backend::kThreads;
  } else {
    throw Napi::RangeError::New(env, "backend must be 'io_uring' or 'threads'");
  }
  eo.shards = option_uint(options, "shards", 1, 1, kMaxShards);
  eo.queue_depth = option_uint(options, "queueDepth", 64, 1, kMaxQueueDepth);
  eo.capacity = option_uint(options, "capacity", 4096, 1, kMaxCapacity);
  const Napi::Value pin = options.Get("pin");
  if (!pin.IsUndefined() && !pin.IsBoolean()) throw Napi::TypeError::New(env, "pin must be a boolean");
  eo.pin = pin.IsBoolean() && pin.As<Napi::Boolean>().Value();
  // Each op to the shard with the most room: a shard the OS scheduler shortchanges takes
  // less of the next batch instead of holding the whole engine back, and a batch sized by
  // room() is always taken whole. Nothing here depends on a path's shard: ops on one
  // path run concurrently on one ring just as on two.
  eo.routing = Routing::kLeastLoaded;

  const int r = Engine::open(eo, &engine_);
  if (r < 0) throw errno_error(env, r, eo.backend == Backend::kIoUring ? "io_uring_setup" : "pthread_create");

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    shutdown();
    throw Napi::Error::New(env, "no event loop");
  }
  poll_ = new Poll;
  if (uv_poll_init(loop, &poll_->handle, engine_->notify_fd()) != 0) {
    delete poll_;
    poll_ = nullptr;
    shutdown();
    throw Napi::Error::New(env, "uv_poll_init failed");
  }
  poll_->owner = this;
  poll_->handle.data = poll_;
  if (napi_add_async_cleanup_hook(env, &EngineWrap::on_env_teardown, poll_, &poll_->hook) != napi_ok) poll_->hook = nullptr;
  uv_poll_start(&poll_->handle, UV_READABLE, &EngineWrap::on_poll);
  // An idle engine must not keep the process alive; update_ref() refs it while work is out.
  uv_unref(reinterpret_cast<uv_handle_t*>(&poll_->handle));

  on_read_ = Napi::Persistent(info[1].As<Napi::Function>());
  on_write_ = Napi::Persistent(info[2].As<Napi::Function>());
  on_stat_ = Napi::Persistent(info[3].As<Napi::Function>());
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "ringleader:engine");
  drain_scratch_.resize(kDrainChunk);
  path_scratch_.resize(kPathScratch);
}

EngineWrap::~EngineWrap() { shutdown(); }

void EngineWrap::on_env_teardown(napi_async_cleanup_hook_handle, void* arg) {
  auto* poll = static_cast<Poll*>(arg);
  if (poll->owner != nullptr) {
    poll->owner->shutdown();  // stops the shards and closes the poll handle
  } else {
    // The engine was closed and its handle is closing; the close callback ends the hook.
  }
}

void EngineWrap::close_poll() {
  if (poll_ == nullptr) return;
  uv_poll_stop(&poll_->handle);
  poll_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle), [](uv_handle_t* h) {
    auto* poll = static_cast<Poll*>(h->data);
    if (poll->hook != nullptr) napi_remove_async_cleanup_hook(poll->hook);
    delete poll;
  });
  poll_ = nullptr;
}

void EngineWrap::shutdown() {
  closed_ = true;
  if (engine_) {
    // Every op comes back from drain; each also sits in exactly one batch, which frees it.
    engine_->close();
    std::vector<FileOp*> sink(kDrainChunk);
    while (engine_->drain(sink.data(), sink.size()) != 0) {
    }
  }
  close_poll();
  batches_.clear();
  engine_.reset();
}

void EngineWrap::check_open(Napi::Env env) const {
  if (closed_ || !engine_) throw closed_error(env);
}

// readFiles(paths: string, count, token) -> ops accepted. `paths` holds count paths
// joined by NUL (which no path can contain), so a batch crosses as one string, converted
// in one pass. Takes a prefix: at most one arena's worth, less when the shards fill up;
// 0 when they are full.
Napi::Value EngineWrap::read_files(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  if (info.Length() < 3 || !info[0].IsString()) throw Napi::TypeError::New(env, "readFiles(paths: string, count, token)");
  const uint32_t count = index_arg(info[1], "count", UINT32_MAX);
  const double token = token_arg(info[2]);
  if (count == 0) throw Napi::RangeError::New(env, "count must be at least 1");
  const std::size_t length = read_utf8(env, info[0], &path_scratch_, "paths");
  const char* at = path_scratch_.data();
  const char* const end = at + length;
  views_scratch_.clear();
  try {
    // A NUL-joined string of `length` bytes holds at most length + 1 paths.
    views_scratch_.reserve(count < length + 1 ? count : length + 1);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory");
  }
  for (;;) {
    const auto* nul = static_cast<const char*>(std::memchr(at, '\0', static_cast<std::size_t>(end - at)));
    const char* stop = nul != nullptr ? nul : end;
    if (views_scratch_.size() == count) throw Napi::RangeError::New(env, "paths must hold count paths separated by NUL");
    views_scratch_.emplace_back(at, static_cast<std::size_t>(stop - at));
    if (nul == nullptr) break;
    at = nul + 1;
  }
  if (views_scratch_.size() != count) throw Napi::RangeError::New(env, "paths must hold count paths separated by NUL");

  // Only what the shards have room for, so no op is built just to be refused. A sliver
  // waits for more room instead (a full shard has ops out, whose delivery pumps again).
  const uint32_t limit = count < batches_.batch_limit() ? count : batches_.batch_limit();
  const auto n = static_cast<uint32_t>(engine_->fitting(views_scratch_.data(), limit));
  if (n == 0 || (n < BatchTable::kMinBatch && n < count)) return Napi::Number::New(env, 0);

  const uint32_t slot = batches_.take_reads(token, views_scratch_.data(), n);
  if (slot == BatchTable::kNoBatch) throw Napi::Error::New(env, "out of memory");
  Batch& batch = batches_.at(slot);
  const int accepted = engine_->submit(batch.ops.data(), batch.ops.size());
  const std::size_t taken = accepted > 0 ? static_cast<std::size_t>(accepted) : 0;
  if (batches_.keep_taken(slot, taken)) notify_self();
  update_ref();
  return Napi::Number::New(env, static_cast<double>(taken));
}

void EngineWrap::notify_self() {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated, which still reads as "wake up".
  while (::write(engine_->notify_fd(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

bool EngineWrap::submit_one(uint32_t slot) {
  if (engine_->submit(batches_.at(slot).ops.data(), 1) == 1) {
    update_ref();
    return true;
  }
  batches_.retire(slot);
  return false;
}

// writeFile(path, data: Uint8Array, token) -> accepted
Napi::Value EngineWrap::write_file(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "writeFile(path: string, data: Uint8Array, token)");
  }
  const Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  const double token = token_arg(info[2]);
  const std::size_t size = data.ElementLength();
  if (size > kMaxReadBytes) throw Napi::RangeError::New(env, "data is too large");
  const uint32_t slot = batches_.take(token, OpKind::kWriteFile);
  Batch& batch = batches_.at(slot);
  FileOp* op = batches_.add_op(slot);
  op->kind = OpKind::kWriteFile;
  op->keep_buffer = false;
  try {
    assign_path(env, info[0], &op->path, &path_scratch_);
    batch.write_copy.reset(new uint8_t[size == 0 ? 1 : size]);
  } catch (const std::bad_alloc&) {
    batches_.retire(slot);
    throw Napi::Error::New(env, "out of memory");
  } catch (...) {
    batches_.retire(slot);
    throw;
  }
  if (size != 0) std::memcpy(batch.write_copy.get(), data.Data(), size);
  op->write_data = batch.write_copy.get();
  op->write_size = size;
  return Napi::Boolean::New(env, submit_one(slot));
}

// stat(path, token) -> accepted
Napi::Value EngineWrap::stat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  if (info.Length() < 2 || !info[0].IsString()) throw Napi::TypeError::New(env, "stat(path: string, token)");
  const double token = token_arg(info[1]);
  const uint32_t slot = batches_.take(token, OpKind::kStat);
  FileOp* op = batches_.add_op(slot);
  op->kind = OpKind::kStat;
  op->keep_buffer = false;
  try {
    assign_path(env, info[0], &op->path, &path_scratch_);
  } catch (...) {
    batches_.retire(slot);
    throw;
  }
  return Napi::Boolean::New(env, submit_one(slot));
}

// close(): stops the shards; every batch still out is delivered (cancelled ops carry
// -ECANCELED) before this returns.
Napi::Value EngineWrap::close(const Napi::CallbackInfo& info) {
  if (closed_ || !engine_) return info.Env().Undefined();
  closed_ = true;
  engine_->close();
  pump(false);
  close_poll();
  batches_.drop_pools();
  return info.Env().Undefined();
}

Napi::Value EngineWrap::info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_open(env);
  Napi::Object out = Napi::Object::New(env);
  out.Set("backend", backend_name(engine_->backend()));
  Napi::Array shards = Napi::Array::New(env, engine_->shard_count());
  for (std::size_t i = 0; i < engine_->shard_count(); ++i) {
    const ShardInfo& si = engine_->shard_info(i);
    Napi::Object s = Napi::Object::New(env);
    s.Set("cpu", si.cpu);
    s.Set("cpuRequested", si.cpu_requested);
    s.Set("pinError", si.pin_error == 0 ? env.Null() : Napi::String::New(env, errno_name(si.pin_error)));
    s.Set("ringFlags", si.ring_flags);
    s.Set("sqEntries", si.sq_entries);
    s.Set("directDescriptors", si.direct_descriptors);
    shards.Set(static_cast<uint32_t>(i), s);
  }
  out.Set("shards", shards);
  return out;
}

Napi::Value EngineWrap::outstanding(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), engine_ ? static_cast<double>(engine_->outstanding()) : 0);
}

// room() -> ops the shards would take now (0 once closed); JS sizes its next batch by it.
Napi::Value EngineWrap::room(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), engine_ && !closed_ ? static_cast<double>(engine_->room()) : 0);
}

void EngineWrap::on_poll(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<Poll*>(handle->data)->owner;
  if (self == nullptr || status < 0) return;
  uint64_t value;
  // Reset the eventfd before draining: a completion posted after the drain rings again.
  while (::read(self->engine_->notify_fd(), &value, sizeof value) < 0 && errno == EINTR) {
  }
  // Nothing may unwind into libuv's C frames. A JS error from a callback is reported as an
  // uncaught exception; anything else means the environment is shutting down (a worker
  // being terminated refuses every call into JS), when there is nobody left to tell.
  napi_handle_scope scope;
  if (napi_open_handle_scope(self->env_, &scope) != napi_ok) return;
  try {
    self->pump(true);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(self->env_, e.Value());
  } catch (...) {
  }
  napi_close_handle_scope(self->env_, scope);
}

void EngineWrap::pump(bool from_loop) {
  if (!engine_) return;
  // Phase 1 counts completions without running JS; phase 2 delivers. A callback may call
  // close(), which pumps again from inside phase 2 - hence locals, not members.
  std::vector<uint32_t> finished;
  batches_.collect_settled(&finished);
  for (;;) {
    const std::size_t n = engine_->drain(drain_scratch_.data(), drain_scratch_.size());
    batches_.collect(drain_scratch_.data(), n, &finished);
    if (n < drain_scratch_.size()) break;
  }
  Napi::Error first_error;
  for (uint32_t slot : finished) {
    try {
      deliver(slot, from_loop);
    } catch (const Napi::Error& e) {
      // Keep delivering: every other batch's promises must still settle.
      if (first_error.IsEmpty()) first_error = e;
    }
    batches_.retire(slot);
  }
  update_ref();
  if (closed_ && batches_.live() == 0) {
    // Nothing can reach JS any more; dropping the callbacks lets the engine be collected.
    on_read_.Reset();
    on_write_.Reset();
    on_stat_.Reset();
  }
  if (!first_error.IsEmpty()) throw first_error;
}

void EngineWrap::call(const Napi::FunctionReference& fn, const std::vector<napi_value>& args, bool from_loop) {
  if (fn.IsEmpty()) return;
  if (from_loop) {
    // MakeCallback runs the microtask queue afterwards, so awaiting code resumes at once.
    fn.MakeCallback(env_.Global(), args, *async_context_);
  } else {
    fn.Call(args);
  }
}

void EngineWrap::deliver(uint32_t slot, bool from_loop) {
  Batch& batch = batches_.at(slot);
  Napi::Env env = env_;
  if (batch.kind == OpKind::kReadFile) {
    deliver_reads(batch, from_loop);
    return;
  }
  const FileOp* op = batch.ops[0];
  const Napi::Number token = Napi::Number::New(env, batch.token);
  const Napi::Number result = Napi::Number::New(env, static_cast<double>(op->result));
  const Napi::Number syscall = Napi::Number::New(env, syscall_code(op->syscall));
  if (batch.kind == OpKind::kWriteFile) {
    call(on_write_, {token, result, syscall}, from_loop);
    return;
  }
  // mtime as seconds and nanoseconds, so JS computes mtimeMs with Node's own formula.
  int64_t sec = op->stat.mtime_ns / 1000000000;
  int64_t nsec = op->stat.mtime_ns % 1000000000;
  if (nsec < 0) {
    nsec += 1000000000;
    --sec;
  }
  call(on_stat_,
       {token, result, syscall, Napi::Number::New(env, static_cast<double>(op->stat.size)),
        Napi::Number::New(env, static_cast<double>(sec)), Napi::Number::New(env, static_cast<double>(nsec)),
        Napi::Number::New(env, op->stat.mode)},
       from_loop);
}

// Fills the arena's header (see Batch) with each op's result and syscall code, adopts
// what outgrew its slot (adopted[i] is then its Buffer, or for a file refused with
// -EFBIG its size), and hands the arena to JS, which cuts view i at
// data_offset + i * slot_size.
void EngineWrap::deliver_reads(Batch& batch, bool from_loop) {
  Napi::Env env = env_;
  const std::size_t n = batch.ops.size();
  int32_t* results = batch.results();
  uint8_t* syscalls = batch.codes();
  std::size_t largest = 0;
  bool adopts = false;
  for (std::size_t i = 0; i < n; ++i) {
    FileOp* op = batch.ops[i];
    if (op->result < 0) {
      results[i] = static_cast<int32_t>(op->result);
      syscalls[i] = syscall_code(op->syscall);
      // A file refused as too large sends its size along, for fs.promises' message.
      if (op->result == -EFBIG) adopts = true;
      continue;
    }
    const auto size = static_cast<std::size_t>(op->result);
    results[i] = static_cast<int32_t>(size);
    if (size > largest) largest = size;
    syscalls[i] = kSysNone;
    if (op->in_dest) continue;
    // Outgrew its slot (or was read without one): a small remainder is copied into the
    // slot, anything else keeps its own buffer.
    if (op->data.size() <= batch.slot_size) {
      if (op->data.size() != 0) std::memcpy(batch.slot_at(i), op->data.data(), op->data.size());
    } else {
      syscalls[i] = kAdopted;
      adopts = true;
    }
  }
  batches_.learn_slot(largest);
  Napi::Array adopted = adopts ? Napi::Array::New(env, n) : Napi::Array();
  if (adopts) {
    for (std::size_t i = 0; i < n; ++i) {
      if (results[i] == -EFBIG) {
        adopted.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(batch.ops[i]->stat.size)));
        continue;
      }
      if (syscalls[i] != kAdopted) continue;
      FileOp* op = batch.ops[i];
      const std::size_t size = op->data.size();
      uint8_t* bytes = op->data.release();
      adopted.Set(static_cast<uint32_t>(i),
                  Napi::Buffer<uint8_t>::New(env, bytes, size, [](Napi::Env, uint8_t* p) { std::free(p); }));
    }
  }
  const Napi::ArrayBuffer buffer = arena_to_js(env, arenas_, batch.arena, batch.arena_bytes, batch.arena_length());
  batch.arena = nullptr;  // JS owns it now; its finalizer returns it to the pool
  batch.arena_bytes = 0;
  call(on_read_,
       {Napi::Number::New(env, batch.token), Napi::Number::New(env, static_cast<double>(n)), buffer,
        adopts ? static_cast<napi_value>(adopted) : static_cast<napi_value>(env.Undefined()),
        Napi::Number::New(env, static_cast<double>(batch.data_offset)),
        Napi::Number::New(env, static_cast<double>(batch.slot_size)), Napi::Number::New(env, batches_.batch_limit())},
       from_loop);
}

void EngineWrap::update_ref() {
  if (poll_ == nullptr) return;
  const bool want = batches_.live() != 0;
  if (want == referenced_) return;
  referenced_ = want;
  if (want) {
    uv_ref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
  } else {
    uv_unref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
  }
}

}  // namespace ringleader::addon
