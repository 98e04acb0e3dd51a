#pragma once
#include <napi.h>

namespace keel {
Napi::Value spawn(const Napi::CallbackInfo& info);
Napi::Value exec_unref(const Napi::CallbackInfo& info);
}
