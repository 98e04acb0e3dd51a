// Processes by pidfd: wait without blocking the event loop, signal without pid reuse races.
#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cstring>

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

// waitPidfd(pidfd) → Promise<{exitCode, signal}>; reaps if the process is our child. The pidfd
// stays open (the caller closes it).
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

}  // namespace keel
