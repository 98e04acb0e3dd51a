#pragma once
#include <napi.h>

namespace keel {
Napi::Value wait_pidfd(const Napi::CallbackInfo& info);
Napi::Value pidfd_open(const Napi::CallbackInfo& info);
Napi::Value pidfd_signal(const Napi::CallbackInfo& info);
Napi::Value pidfd_poll(const Napi::CallbackInfo& info);
// spawnDaemon(file, argv, passFd) → {pid, pidfd}: a helper executable in its own session.
Napi::Value spawn_daemon(const Napi::CallbackInfo& info);
}  // namespace keel
