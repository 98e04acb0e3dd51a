// See spawn_core.h.
#include "spawn/spawn_core.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "spawn/child.h"

namespace keel {
namespace {

constexpr size_t kChildStack = 256 * 1024;

int move_fd_above(int fd, int min) {
  if (fd < 0 || fd >= min) return fd;
  int d = fcntl(fd, F_DUPFD_CLOEXEC, min);
  ::close(fd);
  return d;
}

bool write_file(const std::string& path, const std::string& data, int& err) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return err = errno, false;
  if (::write(fd.get(), data.data(), data.size()) != (ssize_t)data.size()) return err = errno ? errno : EIO, false;
  return true;
}

bool fail(SysError& e, int err, const char* syscall, const std::string& path, const char* step) {
  e.err = err;
  e.syscall = syscall;
  e.path = path;
  e.step = step;
  return false;
}

int reap(int pidfd) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid(P_PIDFD, pidfd, &si, WEXITED) < 0 && errno == EINTR) {
  }
  ::close(pidfd);
  if (si.si_code == CLD_EXITED) return W_EXITCODE(si.si_status, 0);
  return si.si_status & 0x7f;
}

}  // namespace

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

void report_to_error(const ChildReport& r, SysError& err) {
  err.err = r.err;
  err.syscall = std::string(r.syscall, strnlen(r.syscall, sizeof r.syscall));
  err.path = std::string(r.path, strnlen(r.path, sizeof r.path));
  err.step = step_name(r.step);
}

void free_child_stack(void* stack) {
  if (stack) munmap(stack, kChildStack);
}

bool spawn_child(Plan& P, SpawnedChild& out, SysError& err) {
  ChildPlan& c = P.child;
  int min_fd = 3 + (c.preserve_fds > 0 ? c.preserve_fds : 0);
  if (min_fd < 10) min_fd = 10;
  auto close_owned = [&P] {
    for (int& fd : P.owned_fds) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  };

  for (int i = 0; i < c.join_count; i++) {
    int fd = ::open(c.join[i].path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return close_owned(), fail(err, errno, "open", c.join[i].path, "setns");
    fd = move_fd_above(fd, min_fd);
    P.owned_fds.push_back(fd);
    c.join[i].fd = fd;
  }
  if (!P.start_path.empty()) {
    // Read-write so the open cannot block; the child blocks reading one byte from it, which
    // `start` writes (from this or any later process).
    int fd = ::open(P.start_path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return close_owned(), fail(err, errno, "open", P.start_path, "start-wait");
    fd = move_fd_above(fd, min_fd);
    P.owned_fds.push_back(fd);
    c.start_fd = fd;
  }
  if (!P.console_socket.empty()) {
    // Connected here, on the host side, before the child pivots away from the socket's path.
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (P.console_socket.size() >= sizeof addr.sun_path) {
      if (fd >= 0) ::close(fd);
      return close_owned(), fail(err, ENAMETOOLONG, "connect", P.console_socket, "console");
    }
    memcpy(addr.sun_path, P.console_socket.c_str(), P.console_socket.size() + 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
      int e = errno;
      if (fd >= 0) ::close(fd);
      return close_owned(), fail(err, e, "connect", P.console_socket, "console");
    }
    fd = move_fd_above(fd, min_fd);
    P.owned_fds.push_back(fd);
    c.console_fd = fd;
  }
  int rep[2], syn[2] = {-1, -1};
  if (pipe2(rep, O_CLOEXEC) < 0) return close_owned(), fail(err, errno, "pipe2", "", "clone");
  UniqueFd report(move_fd_above(rep[0], min_fd));
  UniqueFd report_w(move_fd_above(rep[1], min_fd));
  c.report_fd = report_w.get();
  bool parent_work = !P.uid_map.empty() || !P.gid_map.empty() || !P.cgroup_procs.empty();
  UniqueFd sync_w;
  if (parent_work) {
    if (pipe2(syn, O_CLOEXEC) < 0) return close_owned(), fail(err, errno, "pipe2", "", "clone");
    P.owned_fds.push_back(move_fd_above(syn[0], min_fd));
    c.sync_fd = P.owned_fds.back();
    sync_w.reset(syn[1]);
    c.userns_sync = true;
  }

  UniqueFd own_pidns, cgroup_fd;
  auto restore_pidns = [&own_pidns] {
    if (own_pidns.valid()) setns(own_pidns.get(), CLONE_NEWPID);
  };
  if (!P.pidns_path.empty()) {
    // Born into an existing pid namespace (exec): this thread's pid_for_children is switched
    // for the clone and switched back right after.
    UniqueFd target(::open(P.pidns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!target.valid()) return close_owned(), fail(err, errno, "open", P.pidns_path, "setns");
    own_pidns.reset(::open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (setns(target.get(), CLONE_NEWPID) < 0) return close_owned(), fail(err, errno, "setns", P.pidns_path, "setns");
  }
  if (!P.cgroup_dir.empty()) {
    cgroup_fd.reset(::open(P.cgroup_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cgroup_fd.valid()) return restore_pidns(), close_owned(), fail(err, errno, "open", P.cgroup_dir, "cgroup-join");
  }

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  long pid;
  void* stack = nullptr;
  if (P.mode == "vm") {
    stack = mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
      int e = errno;
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      restore_pidns();
      return close_owned(), fail(err, e, "mmap", "", "clone");
    }
    int flags = (int)(c.clone_flags | CLONE_VM | CLONE_PIDFD | SIGCHLD);
    pid = ::clone(child_main, static_cast<char*>(stack) + kChildStack, flags, &c, &pidfd);
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
  restore_pidns();
  report_w.reset();
  close_owned();
  if (pid < 0) {
    free_child_stack(stack);
    return fail(err, clone_errno, P.mode == "vm" ? "clone" : "clone3", "", "clone");
  }
  auto abort_child = [&](int e, const char* call, const std::string& path, const char* step) {
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    reap(pidfd);
    free_child_stack(stack);
    return fail(err, e, call, path, step);
  };

  if (!P.uid_map.empty() || !P.gid_map.empty()) {
    std::string base = "/proc/" + std::to_string(pid);
    int e = 0;
    if (P.setgroups_deny && !write_file(base + "/setgroups", "deny", e)) return abort_child(e, "write", base + "/setgroups", "userns-map");
    if (!P.uid_map.empty() && !write_file(base + "/uid_map", P.uid_map, e)) return abort_child(e, "write", base + "/uid_map", "userns-map");
    if (!P.gid_map.empty() && !write_file(base + "/gid_map", P.gid_map, e)) return abort_child(e, "write", base + "/gid_map", "userns-map");
  }
  for (const std::string& procs : P.cgroup_procs) {
    int e = 0;
    if (!write_file(procs, std::to_string(pid), e)) return abort_child(e, "write", procs, "cgroup-join");
  }
  if (sync_w.valid()) {
    char go = 1;
    if (::write(sync_w.get(), &go, 1) != 1) return abort_child(errno, "write", "sync pipe", "sync");
    sync_w.reset();
  }

  ChildReport r;
  ssize_t n;
  do n = ::read(report.get(), &r, sizeof r);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof r && r.step == STEP_READY) {
    out.pid = (int)pid;
    out.pidfd = pidfd;
    out.report = std::move(report);
    out.stack = stack;
    return true;
  }
  if (n == (ssize_t)sizeof r) {
    reap(pidfd);
    free_child_stack(stack);
    report_to_error(r, err);
    return false;
  }
  // EOF before READY: the child died (killed, or crashed) without a word.
  int status = reap(pidfd);
  free_child_stack(stack);
  err.err = ECHILD;
  err.syscall = "clone";
  err.step = "clone";
  err.message = "the container's first process died during set-up (" +
                (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status)) : "exit " + std::to_string(WEXITSTATUS(status))) + ")";
  return false;
}

}  // namespace keel
