#include "errors.h"

#include <string.h>

namespace keel {
namespace {
Napi::FunctionReference* error_class = nullptr;

const char* errno_code(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : "EUNKNOWN";
}
}  // namespace

void set_error_class(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), "setErrorClass needs a constructor").ThrowAsJavaScriptException();
    return;
  }
  if (!error_class) error_class = new Napi::FunctionReference();
  *error_class = Napi::Persistent(info[0].As<Napi::Function>());
}

Napi::Value make_error(Napi::Env env, const SysError& e) {
  std::string msg = std::string(errno_code(e.err)) + ": " + strerror(e.err) + ", " + e.syscall;
  if (!e.path.empty()) msg += " '" + e.path + "'";
  if (!e.step.empty()) msg += " (container set-up step " + e.step + ")";
  if (!e.message.empty()) msg += ": " + e.message;
  Napi::Object props = Napi::Object::New(env);
  props.Set("code", errno_code(e.err));
  props.Set("errno", e.err);
  props.Set("syscall", e.syscall);
  if (!e.path.empty()) props.Set("path", e.path);
  if (!e.step.empty()) props.Set("step", e.step);
  if (error_class && !error_class->IsEmpty()) {
    // Raw N-API so that a failure (e.g. while Node tears the environment down) falls back to a
    // plain Error instead of aborting the process.
    napi_value argv[2] = {Napi::String::New(env, msg), props};
    napi_value out;
    if (napi_new_instance(env, error_class->Value(), 2, argv, &out) == napi_ok) return Napi::Value(env, out);
    napi_value pending;
    napi_get_and_clear_last_exception(env, &pending);
  }
  Napi::Error err = Napi::Error::New(env, msg);
  Napi::Object o = err.Value();
  for (auto& key : {"code", "errno", "syscall", "path", "step"})
    if (props.Has(key)) o.Set(key, props.Get(key));
  return o;
}

Napi::Value throw_sys(Napi::Env env, int err, const char* syscall, const std::string& path) {
  SysError e;
  e.err = err;
  e.syscall = syscall;
  e.path = path;
  Napi::Value v = make_error(env, e);
  napi_throw(env, v);
  return env.Undefined();
}

Napi::Value throw_type(Napi::Env env, const std::string& message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace keel
