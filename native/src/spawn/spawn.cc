// spawn(planJson) → Promise<{pid, pidfd, exec}>: the addon's face on spawn_core.
//
// On a libuv worker thread spawn_child clones the child and waits for READY, which resolves the
// promise; a failed step rejects it with {step, errno, syscall, path}. The report pipe stays
// open until execve closes it (close-on-exec), which settles `exec`.
#include "spawn/spawn.h"

#include <fcntl.h>
#include <uv.h>

#include <unordered_map>

#include "errors.h"
#include "fd.h"
#include "spawn/plan_parse.h"
#include "spawn/spawn_core.h"

namespace keel {
namespace {

// Watches the report pipe after READY: EOF means execve succeeded. Owns the plan (and in vm
// mode the child's stack), which the child reads until then.
struct ExecWatch;
std::unordered_map<int, ExecWatch*>& watches() {
  static std::unordered_map<int, ExecWatch*> m;
  return m;
}

struct ExecWatch {
  uv_poll_t poll;
  int pid = -1;
  napi_env env;
  napi_deferred deferred;
  std::unique_ptr<Plan> plan;
  void* stack = nullptr;
  int fd = -1;

  static void on_readable(uv_poll_t* h, int status, int events) {
    auto* w = static_cast<ExecWatch*>(h->data);
    ChildReport r;
    ssize_t n;
    do n = ::read(w->fd, &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) return;
    uv_poll_stop(&w->poll);
    Napi::Env env(w->env);
    Napi::HandleScope scope(env);
    if (n == (ssize_t)sizeof r) {
      SysError e;
      report_to_error(r, e);
      napi_reject_deferred(w->env, w->deferred, make_error(env, e));
    } else {
      napi_resolve_deferred(w->env, w->deferred, env.Undefined());
    }
    watches().erase(w->pid);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), [](uv_handle_t* h) {
      auto* w = static_cast<ExecWatch*>(h->data);
      ::close(w->fd);
      free_child_stack(w->stack);
      delete w;
    });
  }
};

class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, std::unique_ptr<Plan> plan)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), plan_(std::move(plan)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override { failed_ = !spawn_child(*plan_, child_, error_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      deferred_.Reject(make_error(env, error_));
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("pid", child_.pid);
    out.Set("pidfd", child_.pidfd);
    auto* w = new ExecWatch();
    w->env = env;
    w->plan = std::move(plan_);
    w->stack = child_.stack;
    w->fd = child_.report.release();
    napi_value promise;
    napi_create_promise(env, &w->deferred, &promise);
    out.Set("exec", Napi::Value(env, promise));
    uv_loop_t* loop;
    napi_get_uv_event_loop(env, &loop);
    fcntl(w->fd, F_SETFL, O_NONBLOCK);
    uv_poll_init(loop, &w->poll, w->fd);
    w->poll.data = w;
    uv_poll_start(&w->poll, UV_READABLE | UV_DISCONNECT, ExecWatch::on_readable);
    w->pid = child_.pid;
    watches()[child_.pid] = w;
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<Plan> plan_;
  SpawnedChild child_;
  bool failed_ = false;
  SysError error_;
};

}  // namespace

// execUnref(pid): a created container waiting to be started no longer keeps this process alive
// (a CLI `create` exits and leaves it waiting, as runc does).
Napi::Value exec_unref(const Napi::CallbackInfo& info) {
  int pid = info[0].ToNumber().Int32Value();
  auto it = watches().find(pid);
  if (it != watches().end()) uv_unref(reinterpret_cast<uv_handle_t*>(&it->second->poll));
  return info.Env().Undefined();
}

Napi::Value spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) return throw_type(env, "spawn(plan): plan must be its serialized form (a string)");
  std::string error;
  std::unique_ptr<Plan> plan = parse_plan(info[0].As<Napi::String>().Utf8Value(), error);
  if (!error.empty()) return throw_type(env, error);
  auto* worker = new SpawnWorker(env, std::move(plan));
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

}  // namespace keel
