// Processes by pidfd: wait without blocking the event loop, signal without pid reuse races.
#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cstring>
#include <string>
#include <vector>

#include "errors.h"

namespace keel {
namespace {

struct ExitWatch {
  uv_poll_t poll;
  napi_env env;
  napi_deferred deferred;
  int fd;

  static void on_readable(uv_poll_t* h, int status, int events) {
    auto* w = static_cast<ExitWatch*>(h->data);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PIDFD, w->fd, &si, WEXITED | WNOHANG);
    if (r == 0 && si.si_pid == 0) return;  // spurious: still running
    uv_poll_stop(&w->poll);
    Napi::Env env(w->env);
    Napi::HandleScope scope(env);
    Napi::Object out = Napi::Object::New(env);
    if (r < 0) {
      // Not our child (a container created by another process): it is gone, status unknown.
      out.Set("exitCode", env.Null());
      out.Set("signal", env.Null());
    } else if (si.si_code == CLD_EXITED) {
      out.Set("exitCode", si.si_status);
      out.Set("signal", env.Null());
    } else {
      out.Set("exitCode", env.Null());
      out.Set("signal", si.si_status);
    }
    napi_resolve_deferred(w->env, w->deferred, out);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), [](uv_handle_t* h) { delete static_cast<ExitWatch*>(h->data); });
  }
};

}  // namespace

// waitPidfd(pidfd, ref = true) → Promise<{exitCode, signal}>; reaps if the process is our child.
// The pidfd stays open (the caller closes it). ref false: the wait does not keep Node running.
Napi::Value wait_pidfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return throw_type(env, "waitPidfd(pidfd): pidfd must be a number");
  auto* w = new ExitWatch();
  w->env = env;
  w->fd = info[0].As<Napi::Number>().Int32Value();
  napi_value promise;
  napi_create_promise(env, &w->deferred, &promise);
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  int r = uv_poll_init(loop, &w->poll, w->fd);
  if (r < 0) {
    delete w;
    return throw_sys(env, -r == EEXIST ? EBUSY : -r, "uv_poll_init", "pidfd");
  }
  w->poll.data = w;
  uv_poll_start(&w->poll, UV_READABLE, ExitWatch::on_readable);
  // waitPidfd(fd, false): the watch does not keep the event loop alive (a daemon we only reap)
  if (info.Length() > 1 && info[1].IsBoolean() && !info[1].As<Napi::Boolean>().Value())
    uv_unref(reinterpret_cast<uv_handle_t*>(&w->poll));
  return Napi::Value(env, promise);
}

Napi::Value pidfd_open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return throw_type(env, "pidfdOpen(pid): pid must be a number");
  int pid = info[0].As<Napi::Number>().Int32Value();
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return throw_sys(env, errno, "pidfd_open", std::to_string(pid));
  fcntl((int)fd, F_SETFD, FD_CLOEXEC);
  return Napi::Number::New(env, (double)fd);
}

Napi::Value pidfd_signal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) return throw_type(env, "pidfdSignal(pidfd, signal): numbers");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) < 0) return throw_sys(env, errno, "pidfd_send_signal");
  return env.Undefined();
}

// A non-blocking poll of a pidfd: {exitCode, signal} if it exited (reaped if ours), else null.
Napi::Value pidfd_poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG);
  if (r < 0) return throw_sys(env, errno, "waitid");
  if (si.si_pid == 0) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("exitCode", si.si_code == CLD_EXITED ? Napi::Value(Napi::Number::New(env, si.si_status)) : env.Null());
  out.Set("signal", si.si_code == CLD_EXITED ? env.Null() : Napi::Value(Napi::Number::New(env, si.si_status)));
  return out;
}

// spawnDaemon(file, argv, passFd) → {pid, pidfd}: runs a helper executable (keel-supervisor) in
// a session of its own, stdin/stdout/stderr on /dev/null and passFd (when >= 0) as its fd 3.
// posix_spawn, because glibc's is a vfork-style clone that shares our memory until the execve:
// child_process.spawn forks, copying the page tables of a process that holds a whole cluster
// (milliseconds per spawn, during which the event loop stands still). The child stays ours: the
// caller reaps it through the pidfd (waitPidfd).
Napi::Value spawn_daemon(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsArray() || !info[2].IsNumber())
    return throw_type(env, "spawnDaemon(file, argv, passFd): a string, an array of strings, a number");
  std::string file = info[0].As<Napi::String>().Utf8Value();
  Napi::Array arr = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) return throw_type(env, "spawnDaemon: argv must hold strings");
    args.push_back(v.As<Napi::String>().Utf8Value());
  }
  int pass_fd = info[2].As<Napi::Number>().Int32Value();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // dup2 onto 3 clears close-on-exec there, except from 3 itself: move such an fd out of the way
  int moved = pass_fd == 3 ? fcntl(3, F_DUPFD_CLOEXEC, 10) : -1;
  if (pass_fd == 3 && moved < 0) return throw_sys(env, errno, "fcntl(F_DUPFD_CLOEXEC)");
  if (moved >= 0) pass_fd = moved;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  for (int fd = 0; fd < 3; fd++) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  // (dup2 onto 3 clears close-on-exec there)
  if (pass_fd >= 0) posix_spawn_file_actions_adddup2(&fa, pass_fd, 3);
  // a new session, and default signal dispositions and an empty mask whatever Node has set
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int err = posix_spawn(&pid, file.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (moved >= 0) close(moved);
  if (err != 0) return throw_sys(env, err, "posix_spawn", file);
  long pidfd = syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    int e = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return throw_sys(env, e, "pidfd_open", std::to_string(pid));
  }
  fcntl((int)pidfd, F_SETFD, FD_CLOEXEC);
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", pid);
  out.Set("pidfd", (double)pidfd);
  return out;
}

}  // namespace keel
