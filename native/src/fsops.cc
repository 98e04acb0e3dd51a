// Small filesystem operations Node's fs lacks: mount, umount2, mkfifo, mknod, and openat2 with
// RESOLVE_IN_ROOT for resolving paths inside a container or layer root.
#include "fsops.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "errors.h"

namespace keel {
namespace {
std::string opt_str(const Napi::Value& v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(); }
}  // namespace

// mount(source|null, target, fstype|null, flags, data|null)
Napi::Value mount_(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = opt_str(info[0]), target = opt_str(info[1]), fstype = opt_str(info[2]), data = opt_str(info[4]);
  unsigned long flags = info[3].IsNumber() ? (unsigned long)info[3].As<Napi::Number>().Int64Value() : 0;
  if (target.empty()) return throw_type(env, "mount: target must be a path");
  if (::mount(info[0].IsString() ? source.c_str() : nullptr, target.c_str(), info[2].IsString() ? fstype.c_str() : nullptr,
              flags, info[4].IsString() ? data.c_str() : nullptr) < 0)
    return throw_sys(env, errno, "mount", target);
  return env.Undefined();
}

Napi::Value umount2_(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = opt_str(info[0]);
  int flags = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (::umount2(target.c_str(), flags) < 0) return throw_sys(env, errno, "umount2", target);
  return env.Undefined();
}

Napi::Value mkfifo_(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = opt_str(info[0]);
  int mode = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0600;
  if (::mkfifo(path.c_str(), mode) < 0) return throw_sys(env, errno, "mkfifo", path);
  return env.Undefined();
}

// mknod(path, mode, major, minor)
Napi::Value mknod_(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = opt_str(info[0]);
  mode_t mode = (mode_t)info[1].As<Napi::Number>().Uint32Value();
  dev_t dev = makedev(info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value());
  if (::mknod(path.c_str(), mode, dev) < 0) return throw_sys(env, errno, "mknod", path);
  return env.Undefined();
}

// openat2(rootFd, path, flags, mode, resolve) → fd. resolve defaults to RESOLVE_IN_ROOT.
Napi::Value openat2_(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd = info[0].As<Napi::Number>().Int32Value();
  std::string path = opt_str(info[1]);
  struct open_how how = {};
  how.flags = (uint64_t)info[2].As<Napi::Number>().Int64Value() | O_CLOEXEC;
  how.mode = info[3].IsNumber() ? (uint64_t)info[3].As<Napi::Number>().Int64Value() : 0;
  how.resolve = info[4].IsNumber() ? (uint64_t)info[4].As<Napi::Number>().Int64Value() : RESOLVE_IN_ROOT;
  long fd = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
  if (fd < 0) return throw_sys(env, errno, "openat2", path);
  return Napi::Number::New(env, (double)fd);
}

// pipe() → [readFd, writeFd], both close-on-exec (Node has no pipe(2); stdio for containers).
Napi::Value pipe_(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return throw_sys(env, errno, "pipe2");
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set((uint32_t)0, fds[0]);
  out.Set((uint32_t)1, fds[1]);
  return out;
}

}  // namespace keel
