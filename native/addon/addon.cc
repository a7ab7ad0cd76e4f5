// Module entry: the Engine class, probe() and pinCurrentThread(). Context-aware through
// Napi::Addon (per-environment instance data, no mutable globals), so it loads in
// worker_threads and in several environments of one process at once.
#include <napi.h>
#include <sched.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "engine_wrap.h"
#include "errors.h"
#include "probe.h"

namespace ringleader::addon {
namespace {

class RingleaderAddon : public Napi::Addon<RingleaderAddon> {
 public:
  RingleaderAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceMethod<&RingleaderAddon::probe>("probe"),
                             InstanceMethod<&RingleaderAddon::pin_current_thread>("pinCurrentThread"),
                             InstanceValue("Engine", EngineWrap::define(env)),
                             InstanceValue("napiVersion", Napi::Number::New(env, NAPI_VERSION)),
                         });
  }

 private:
  Napi::Value probe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ProbeResult r = ringleader::probe();
    Napi::Object out = Napi::Object::New(env);
    out.Set("io_uring", r.io_uring);
    out.Set("errno", Napi::Number::New(env, r.error));
    out.Set("code", r.error == 0 ? env.Null() : Napi::String::New(env, errno_name(r.error)));
    out.Set("reason", r.reason);
    out.Set("kernel", r.kernel);
    Napi::Array opcodes = Napi::Array::New(env, r.opcodes.size());
    for (std::size_t i = 0; i < r.opcodes.size(); ++i) opcodes.Set(static_cast<uint32_t>(i), r.opcodes[i]);
    out.Set("opcodes", opcodes);
    out.Set("setupFlags", Napi::Number::New(env, r.setup_flags));
    out.Set("features", Napi::Number::New(env, r.features));
    out.Set("ioUringDisabled", Napi::Number::New(env, r.io_uring_disabled));
    out.Set("seccompMode", Napi::Number::New(env, r.seccomp_mode));
    return out;
  }

  // pinCurrentThread(core) -> core on success, else a reason string ("EINVAL: ...").
  // sched_setaffinity(0) acts on the calling thread only, so a worker pins itself.
  Napi::Value pin_current_thread(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "core must be a number");
    const double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d < CPU_SETSIZE) || std::floor(d) != d) {
      throw Napi::RangeError::New(env, "core must be an integer in [0, " + std::to_string(CPU_SETSIZE) + ")");
    }
    const int core = static_cast<int>(d);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      const int err = errno;
      return Napi::String::New(env, std::string(errno_name(err)) + ": " + std::strerror(err) + " (core " +
                                        std::to_string(core) + ")");
    }
    return Napi::Number::New(env, core);
  }
};

}  // namespace
}  // namespace ringleader::addon

using RingleaderAddon = ringleader::addon::RingleaderAddon;
NODE_API_ADDON(RingleaderAddon)
