// The export table of keel's native addon. Nothing else lives here.
#include <napi.h>

#include "errors.h"
#include "fsops.h"
#include "process.h"
#include "netns.h"
#include "spawn/spawn.h"
#include "tty.h"

namespace keel {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New(env, set_error_class));
  exports.Set("spawn", Napi::Function::New(env, spawn));
  exports.Set("execUnref", Napi::Function::New(env, exec_unref));
  exports.Set("waitPidfd", Napi::Function::New(env, wait_pidfd));
  exports.Set("pidfdOpen", Napi::Function::New(env, pidfd_open));
  exports.Set("pidfdSignal", Napi::Function::New(env, pidfd_signal));
  exports.Set("pidfdPoll", Napi::Function::New(env, pidfd_poll));
  exports.Set("spawnDaemon", Napi::Function::New(env, spawn_daemon));
  exports.Set("mount", Napi::Function::New(env, mount_));
  exports.Set("umount2", Napi::Function::New(env, umount2_));
  exports.Set("mkfifo", Napi::Function::New(env, mkfifo_));
  exports.Set("mknod", Napi::Function::New(env, mknod_));
  exports.Set("pipe", Napi::Function::New(env, pipe_));
  exports.Set("openat2", Napi::Function::New(env, openat2_));
  exports.Set("linkUp", Napi::Function::New(env, link_up));
  exports.Set("socketIn", Napi::Function::New(env, socket_in));
  exports.Set("recvFd", Napi::Function::New(env, recv_fd));
  exports.Set("setWinsize", Napi::Function::New(env, set_winsize));
  return exports;
}

}  // namespace keel

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return keel::init(env, exports); }
NODE_API_MODULE(keel_native, Init)
