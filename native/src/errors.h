// Errors crossing into JavaScript: shaped like Node's own system errors
// (code 'EPERM', errno, syscall, path), plus step for a failure inside the cloned child.
#pragma once
#include <napi.h>

#include <string>

#include "sys_error.h"

namespace keel {

// The JS error class registered by native/index.ts at start-up (setErrorClass).
void set_error_class(const Napi::CallbackInfo& info);
Napi::Value make_error(Napi::Env env, const SysError& e);
Napi::Value throw_sys(Napi::Env env, int err, const char* syscall, const std::string& path = "");
Napi::Value throw_type(Napi::Env env, const std::string& message);

}  // namespace keel
