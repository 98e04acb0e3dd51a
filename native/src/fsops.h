#pragma once
#include <napi.h>

namespace keel {
Napi::Value mount_(const Napi::CallbackInfo& info);
Napi::Value umount2_(const Napi::CallbackInfo& info);
Napi::Value mkfifo_(const Napi::CallbackInfo& info);
Napi::Value mknod_(const Napi::CallbackInfo& info);
Napi::Value openat2_(const Napi::CallbackInfo& info);
Napi::Value pipe_(const Napi::CallbackInfo& info);
}  // namespace keel
