// spawn(plan) → Promise<{pid, pidfd, exec}>: the parent's half of the child protocol.
//
// On a libuv worker thread: open what the child needs, clone (clone3 in "fork" mode; clone with
// CLONE_VM on a private stack in "vm" mode, which copies no page tables however large the Node
// heap is), write uid/gid maps and join cgroups, release the child, and read its report: READY
// resolves the promise, a failed step rejects it with {step, errno, syscall, path}. The report
// pipe stays open until execve closes it (close-on-exec), which settles `exec`.
#include "spawn/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cstring>
#include <unordered_map>

#include "errors.h"
#include "fd.h"
#include "spawn/child.h"
#include "spawn/plan_parse.h"

namespace keel {
namespace {

constexpr size_t kChildStack = 256 * 1024;

const char* step_name(int32_t step) {
  static const char* names[] = {
      "ready",        "signals",        "sync",         "setns",          "setsid",        "cgroupns",
      "hostname",     "domainname",     "sysctl",       "root-propagation", "rootfs-bind", "mount-target",
      "mount",        "mount-propagation", "device",    "symlink",        "pivot-root",    "chroot",
      "mask-path",    "readonly-path",  "readonly-rootfs", "rlimit",      "oom-score-adj", "stdio",
      "caps-bounding", "setgroups",     "setgid",       "setuid",         "capset",        "ambient-caps",
      "no-new-privs", "seccomp",        "cwd",          "start-wait",     "close-fds",     "exec",
      "clone",        "userns-map",     "cgroup-join",  "console"};
  if (step < 0 || step >= (int32_t)(sizeof names / sizeof names[0])) return "unknown";
  return names[step];
}

int move_fd_above(int fd, int min) {
  if (fd < 0 || fd >= min) return fd;
  int d = fcntl(fd, F_DUPFD_CLOEXEC, min);
  ::close(fd);
  return d;
}

bool write_all(const std::string& path, const std::string& data, int& err) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return err = errno, false;
  if (::write(fd.get(), data.data(), data.size()) != (ssize_t)data.size()) return err = errno ? errno : EIO, false;
  return true;
}

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
      e.err = r.err;
      e.syscall = r.syscall;
      e.path = r.path;
      e.step = step_name(r.step);
      napi_reject_deferred(w->env, w->deferred, make_error(env, e));
    } else {
      napi_resolve_deferred(w->env, w->deferred, env.Undefined());
    }
    watches().erase(w->pid);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), [](uv_handle_t* h) {
      auto* w = static_cast<ExecWatch*>(h->data);
      ::close(w->fd);
      if (w->stack) munmap(w->stack, kChildStack);
      delete w;
    });
  }
};

class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, std::unique_ptr<Plan> plan)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), plan_(std::move(plan)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    Plan& P = *plan_;
    ChildPlan& c = P.child;
    int min_fd = 3 + (c.preserve_fds > 0 ? c.preserve_fds : 0);
    if (min_fd < 10) min_fd = 10;

    for (int i = 0; i < c.join_count; i++) {
      int fd = ::open(c.join[i].path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) return fail(errno, "open", c.join[i].path, "setns");
      fd = move_fd_above(fd, min_fd);
      P.owned_fds.push_back(fd);
      c.join[i].fd = fd;
    }
    if (!P.start_path.empty()) {
      // Read-write so the open cannot block; the child blocks reading one byte from it, which
      // `start` writes (from this or any later process).
      int fd = ::open(P.start_path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) return fail(errno, "open", P.start_path, "start-wait");
      fd = move_fd_above(fd, min_fd);
      P.owned_fds.push_back(fd);
      c.start_fd = fd;
    }
    if (!P.console_socket.empty()) {
      // Connected here, on the host side, before the child pivots away from the socket's path.
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      struct sockaddr_un addr = {};
      addr.sun_family = AF_UNIX;
      if (P.console_socket.size() >= sizeof addr.sun_path) return fail(ENAMETOOLONG, "connect", P.console_socket, "console");
      memcpy(addr.sun_path, P.console_socket.c_str(), P.console_socket.size() + 1);
      if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        int e = errno;
        if (fd >= 0) ::close(fd);
        return fail(e, "connect", P.console_socket, "console");
      }
      fd = move_fd_above(fd, min_fd);
      P.owned_fds.push_back(fd);
      c.console_fd = fd;
    }
    int rep[2], syn[2] = {-1, -1};
    if (pipe2(rep, O_CLOEXEC) < 0) return fail(errno, "pipe2", "", "clone");
    report_.reset(move_fd_above(rep[0], min_fd));
    UniqueFd report_w(move_fd_above(rep[1], min_fd));
    c.report_fd = report_w.get();
    bool parent_work = !P.uid_map.empty() || !P.gid_map.empty() || !P.cgroup_procs.empty();
    UniqueFd sync_w;
    if (parent_work) {
      if (pipe2(syn, O_CLOEXEC) < 0) return fail(errno, "pipe2", "", "clone");
      P.owned_fds.push_back(move_fd_above(syn[0], min_fd));
      c.sync_fd = P.owned_fds.back();
      sync_w.reset(syn[1]);
      c.userns_sync = true;
    }

    UniqueFd own_pidns, cgroup_fd;
    if (!P.pidns_path.empty()) {
      // Born into an existing pid namespace (exec): this thread's pid_for_children is switched
      // for the clone and switched back right after.
      UniqueFd target(::open(P.pidns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!target.valid()) return fail(errno, "open", P.pidns_path, "setns");
      own_pidns.reset(::open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC));
      if (setns(target.get(), CLONE_NEWPID) < 0) return fail(errno, "setns", P.pidns_path, "setns");
    }
    if (!P.cgroup_dir.empty()) {
      cgroup_fd.reset(::open(P.cgroup_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!cgroup_fd.valid()) return restore_pidns(own_pidns), fail(errno, "open", P.cgroup_dir, "cgroup-join");
    }

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pidfd = -1;
    long pid;
    if (P.mode == "vm") {
      stack_ = mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (stack_ == MAP_FAILED) {
        stack_ = nullptr;
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        restore_pidns(own_pidns);
        return fail(errno, "mmap", "", "clone");
      }
      int flags = (int)(c.clone_flags | CLONE_VM | CLONE_PIDFD | SIGCHLD);
      pid = ::clone(child_main, static_cast<char*>(stack_) + kChildStack, flags, &c, &pidfd);
    } else {
      struct clone_args args;
      memset(&args, 0, sizeof args);
      args.flags = c.clone_flags | CLONE_PIDFD | (cgroup_fd.valid() ? CLONE_INTO_CGROUP : 0);
      args.pidfd = (uint64_t)(uintptr_t)&pidfd;
      args.exit_signal = SIGCHLD;
      args.cgroup = cgroup_fd.valid() ? (uint64_t)cgroup_fd.get() : 0;
      pid = syscall(SYS_clone3, &args, sizeof args);
      if (pid == 0) child_main(&c);  // never returns
    }
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    restore_pidns(own_pidns);
    report_w.reset();
    for (int& fd : P.owned_fds) {
      ::close(fd);
      fd = -1;
    }
    if (pid < 0) return fail(clone_errno, P.mode == "vm" ? "clone" : "clone3", "", "clone");
    pid_ = (int)pid;
    pidfd_ = pidfd;

    if (!P.uid_map.empty() || !P.gid_map.empty()) {
      std::string base = "/proc/" + std::to_string(pid_);
      int err = 0;
      if (P.setgroups_deny && !write_all(base + "/setgroups", "deny", err)) return abort_child(err, "write", base + "/setgroups", "userns-map");
      if (!P.uid_map.empty() && !write_all(base + "/uid_map", P.uid_map, err)) return abort_child(err, "write", base + "/uid_map", "userns-map");
      if (!P.gid_map.empty() && !write_all(base + "/gid_map", P.gid_map, err)) return abort_child(err, "write", base + "/gid_map", "userns-map");
    }
    for (const std::string& procs : P.cgroup_procs) {
      int err = 0;
      if (!write_all(procs, std::to_string(pid_), err)) return abort_child(err, "write", procs, "cgroup-join");
    }
    if (sync_w.valid()) {
      char go = 1;
      if (::write(sync_w.get(), &go, 1) != 1) return abort_child(errno, "write", "sync pipe", "sync");
      sync_w.reset();
    }

    ChildReport r;
    ssize_t n;
    do n = ::read(report_.get(), &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof r && r.step == STEP_READY) return;
    if (n == (ssize_t)sizeof r) {
      reap();
      error_.err = r.err;
      error_.syscall = r.syscall;
      error_.path = r.path;
      error_.step = step_name(r.step);
      failed_ = true;
      return;
    }
    // EOF before READY: the child died (killed, or crashed) without a word.
    int status = reap();
    error_.err = ECHILD;
    error_.syscall = "clone";
    error_.step = "clone";
    error_.message = "the container's first process died during set-up (" +
                     (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                          : "exit " + std::to_string(WEXITSTATUS(status))) + ")";
    failed_ = true;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      if (stack_) munmap(stack_, kChildStack);
      deferred_.Reject(make_error(env, error_));
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("pid", pid_);
    out.Set("pidfd", pidfd_);
    auto* w = new ExecWatch();
    w->env = env;
    w->plan = std::move(plan_);
    w->stack = stack_;
    w->fd = report_.release();
    napi_value promise;
    napi_create_promise(env, &w->deferred, &promise);
    out.Set("exec", Napi::Value(env, promise));
    uv_loop_t* loop;
    napi_get_uv_event_loop(env, &loop);
    fcntl(w->fd, F_SETFL, O_NONBLOCK);
    uv_poll_init(loop, &w->poll, w->fd);
    w->poll.data = w;
    uv_poll_start(&w->poll, UV_READABLE | UV_DISCONNECT, ExecWatch::on_readable);
    w->pid = pid_;
    watches()[pid_] = w;
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  void fail(int err, const char* syscall, const std::string& path, const char* step) {
    error_.err = err;
    error_.syscall = syscall;
    error_.path = path;
    error_.step = step;
    failed_ = true;
  }
  void restore_pidns(UniqueFd& own) {
    if (own.valid()) setns(own.get(), CLONE_NEWPID);
  }
  int reap() {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid(P_PIDFD, pidfd_, &si, WEXITED) < 0 && errno == EINTR) {
    }
    ::close(pidfd_);
    pidfd_ = -1;
    if (si.si_code == CLD_EXITED) return W_EXITCODE(si.si_status, 0);
    return si.si_status & 0x7f;
  }
  void abort_child(int err, const char* call, const std::string& path, const char* step) {
    syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
    reap();
    fail(err, call, path, step);
  }

  Napi::Promise::Deferred deferred_;
  std::unique_ptr<Plan> plan_;
  UniqueFd report_;
  void* stack_ = nullptr;
  int pid_ = -1, pidfd_ = -1;
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
  if (!info[0].IsObject()) return throw_type(env, "spawn(plan): plan must be an object");
  std::string error;
  std::unique_ptr<Plan> plan = parse_plan(info[0].As<Napi::Object>(), error);
  if (!error.empty()) return throw_type(env, error);
  if (plan->mode != "fork" && plan->mode != "vm") return throw_type(env, "spawn plan: mode must be 'fork' or 'vm'");
  if (plan->mode == "vm" && (plan->child.clone_flags & CLONE_NEWTIME))
    return throw_type(env, "spawn plan: a new time namespace needs mode 'fork' (clone3)");
  auto* worker = new SpawnWorker(env, std::move(plan));
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

}  // namespace keel
