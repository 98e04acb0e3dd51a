#pragma once
#include <napi.h>

namespace keel {
Napi::Value recv_fd(const Napi::CallbackInfo& info);
Napi::Value set_winsize(const Napi::CallbackInfo& info);
}  // namespace keel
