// The cloned child: namespaces, filesystem, credentials, then execve.
//
// Only raw system calls (sys.h) and plain memory access run here: the child may share the
// parent's memory and thread pointer (vm mode), and a multi-threaded parent may have held any
// libc lock at the time of the clone. A failure is written to the report pipe as
// {step, errno, syscall, path} and the child exits; it never throws and never returns.
#include "spawn/child.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>

#include "sys.h"

namespace keel {
namespace {

struct Child {
  const ChildPlan* p;
  int root_fd = -1;  // the rootfs after its bind mount, before pivot_root
};

[[noreturn]] void fail(const Child& c, Step step, long ret, const char* syscall, const char* path) {
  ChildReport r;
  for (size_t i = 0; i < sizeof r; i++) reinterpret_cast<char*>(&r)[i] = 0;
  r.step = step;
  r.err = (int32_t)(ret < 0 ? -ret : ret);
  c_strlcpy(r.syscall, syscall, sizeof r.syscall);
  c_strlcpy(r.path, path ? path : "", sizeof r.path);
  sys(SYS_write, c.p->report_fd, &r, sizeof r);
  sys_exit(127);
}

#define CHECK(step, call, name, path)            \
  do {                                           \
    long _r = (call);                            \
    if (_r < 0) fail(c, step, _r, name, path);   \
  } while (0)

// "/proc/self/fd/N" into buf, for mounting onto an fd resolved safely inside the rootfs.
void fd_path(char* buf, int fd) {
  const char* pre = "/proc/self/fd/";
  size_t i = 0;
  for (; pre[i]; i++) buf[i] = pre[i];
  char digits[16];
  int n = 0;
  unsigned v = (unsigned)fd;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) buf[i++] = digits[--n];
  buf[i] = 0;
}

long open_in_root(int root, const char* path, uint64_t flags, uint64_t mode) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  // openat2 resolves relative to root; strip leading slashes so the path is relative.
  while (*path == '/') path++;
  if (!*path) path = ".";
  return sys(SYS_openat2, root, path, &how, sizeof how);
}

// mkdir -p inside the rootfs, each component resolved with RESOLVE_IN_ROOT so a symlink in the
// image cannot lead outside. Returns an O_PATH fd of the last directory, or -errno.
long mkdir_in_root(int root, const char* path, char* scratch, size_t cap) {
  size_t len = c_strlcpy(scratch, path, cap);
  if (len + 1 >= cap) return -ENAMETOOLONG;
  for (size_t i = 1; i <= len; i++) {
    if (scratch[i] != '/' && scratch[i] != 0) continue;
    char saved = scratch[i];
    scratch[i] = 0;
    long fd = open_in_root(root, scratch, O_PATH | O_DIRECTORY, 0);
    if (fd == -ENOENT) {
      // Create the last component in its (safely resolved) parent.
      char* slash = scratch + i;
      while (slash > scratch && *slash != '/') slash--;
      *slash = 0;
      long parent = open_in_root(root, scratch, O_PATH | O_DIRECTORY, 0);
      *slash = '/';
      if (parent < 0) return parent;
      long r = sys(SYS_mkdirat, parent, slash + 1, 0755);
      sys(SYS_close, parent);
      if (r < 0 && r != -EEXIST) return r;
      fd = open_in_root(root, scratch, O_PATH | O_DIRECTORY, 0);
    }
    if (fd < 0) return fd;
    scratch[i] = saved;
    if (saved == 0) return fd;
    sys(SYS_close, fd);
  }
  return open_in_root(root, "/", O_PATH | O_DIRECTORY, 0);
}

// The parent directory of path is created; the file itself is created empty if missing.
long touch_in_root(int root, const char* path, char* scratch, size_t cap) {
  size_t len = c_strlcpy(scratch, path, cap);
  size_t cut = len;
  while (cut > 0 && scratch[cut] != '/') cut--;
  scratch[cut] = 0;
  long dir = mkdir_in_root(root, cut ? scratch : "/", scratch + len + 1, cap - len - 1);
  if (dir < 0) return dir;
  sys(SYS_close, dir);
  long fd = open_in_root(root, path, O_CREAT | O_WRONLY | O_NOFOLLOW, 0644);
  if (fd == -EISDIR) return open_in_root(root, path, O_PATH, 0);
  return fd;
}

void setup_signals(Child& c) {
  // Handlers copied from the parent point into its code: reset them before anything else can
  // deliver a signal here, then unblock what the parent blocked around the clone.
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } act = {};
  act.handler = nullptr;  // SIG_DFL
  for (int s = 1; s < 65; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sys(SYS_rt_sigaction, s, &act, nullptr, 8);
  }
  uint64_t empty = 0;
  CHECK(STEP_SIGNALS, sys(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, 8), "rt_sigprocmask", nullptr);
}

void wait_parent(Child& c) {
  char b;
  long r;
  do r = sys(SYS_read, c.p->sync_fd, &b, 1);
  while (r == -EINTR);
  if (r != 1) fail(c, STEP_SYNC, r == 0 ? -EPIPE : r, "read", "sync pipe");
  sys(SYS_close, c.p->sync_fd);
}

void join_namespaces(Child& c) {
  const ChildPlan* p = c.p;
  // A user namespace first: the others are owned by it and need its capabilities.
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < p->join_count; i++) {
      bool user = p->join[i].nstype == CLONE_NEWUSER;
      if (user != (pass == 0)) continue;
      CHECK(STEP_SETNS, sys(SYS_setns, p->join[i].fd, p->join[i].nstype), "setns", p->join[i].path);
    }
  }
}

void write_file(Child& c, Step step, const char* path, const char* value) {
  long fd = sys(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(c, step, fd, "open", path);
  long r = sys(SYS_write, fd, value, c_strlen(value));
  sys(SYS_close, fd);
  if (r < 0) fail(c, step, r, "write", path);
}

void setup_mounts(Child& c, char* scratch, size_t cap) {
  const ChildPlan* p = c.p;
  CHECK(STEP_ROOT_PROPAGATION, sys(SYS_mount, nullptr, "/", nullptr, p->root_propagation, nullptr), "mount", "/");
  // pivot_root needs the rootfs to be a mount point of its own.
  CHECK(STEP_ROOTFS_BIND, sys(SYS_mount, p->rootfs, p->rootfs, nullptr, MS_BIND | MS_REC, nullptr), "mount", p->rootfs);
  long root = sys(SYS_openat, AT_FDCWD, p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail(c, STEP_ROOTFS_BIND, root, "open", p->rootfs);
  c.root_fd = (int)root;
  if (p->rootfs_propagation)
    CHECK(STEP_ROOTFS_BIND, sys(SYS_mount, nullptr, p->rootfs, nullptr, p->rootfs_propagation, nullptr), "mount", p->rootfs);

  char target[32];
  for (int i = 0; i < p->mount_count; i++) {
    const PlanMount& m = p->mounts[i];
    long fd = m.file ? touch_in_root(c.root_fd, m.target, scratch, cap) : mkdir_in_root(c.root_fd, m.target, scratch, cap);
    if (fd < 0) fail(c, STEP_MOUNT_TARGET, fd, m.file ? "openat2" : "mkdirat", m.target);
    fd_path(target, (int)fd);
    unsigned long flags = m.flags;
    if (m.bind) {
      CHECK(STEP_MOUNT, sys(SYS_mount, m.source, target, m.fstype, flags & (MS_BIND | MS_REC), m.data), "mount", m.target);
      // Bind mounts take other flags only on a remount.
      unsigned long rest = flags & ~(unsigned long)(MS_BIND | MS_REC);
      if (rest) {
        // Re-open the fd: the mount above stacked a new mount on the old one.
        sys(SYS_close, fd);
        fd = open_in_root(c.root_fd, m.target, O_PATH, 0);
        if (fd < 0) fail(c, STEP_MOUNT, fd, "openat2", m.target);
        fd_path(target, (int)fd);
        CHECK(STEP_MOUNT, sys(SYS_mount, nullptr, target, nullptr, MS_BIND | MS_REMOUNT | rest, nullptr), "mount(remount)", m.target);
      }
    } else {
      CHECK(STEP_MOUNT, sys(SYS_mount, m.source, target, m.fstype, flags, m.data), "mount", m.target);
    }
    if (m.propagation_count) {
      sys(SYS_close, fd);
      fd = open_in_root(c.root_fd, m.target, O_PATH, 0);
      if (fd < 0) fail(c, STEP_MOUNT_PROPAGATION, fd, "openat2", m.target);
      fd_path(target, (int)fd);
      for (int k = 0; k < m.propagation_count; k++)
        CHECK(STEP_MOUNT_PROPAGATION, sys(SYS_mount, nullptr, target, nullptr, m.propagation[k], nullptr), "mount", m.target);
    }
    sys(SYS_close, fd);
  }

  for (int i = 0; i < p->device_count; i++) {
    const PlanDevice& d = p->devices[i];
    if (d.bind) {
      long fd = touch_in_root(c.root_fd, d.path, scratch, cap);
      if (fd < 0) fail(c, STEP_DEVICE, fd, "openat2", d.path);
      fd_path(target, (int)fd);
      // The host's node of the same path: only standard devices are bound this way.
      CHECK(STEP_DEVICE, sys(SYS_mount, d.path, target, nullptr, MS_BIND, nullptr), "mount", d.path);
      sys(SYS_close, fd);
      continue;
    }
    size_t len = c_strlcpy(scratch, d.path, cap);
    size_t cut = len;
    while (cut > 0 && scratch[cut] != '/') cut--;
    scratch[cut] = 0;
    long dir = mkdir_in_root(c.root_fd, cut ? scratch : "/", scratch + len + 1, cap - len - 1);
    if (dir < 0) fail(c, STEP_DEVICE, dir, "mkdirat", d.path);
    const char* name = d.path + cut + 1;
    sys(SYS_unlinkat, dir, name, 0);
    unsigned long dev = ((unsigned long)(d.major & 0xfffff000) << 32) | ((d.major & 0xfff) << 8) |
                        ((unsigned long)(d.minor & 0xffffff00) << 12) | (d.minor & 0xff);
    long r = sys(SYS_mknodat, dir, name, d.mode, dev);
    if (r < 0) fail(c, STEP_DEVICE, r, "mknodat", d.path);
    // mknod applies the umask: set the exact mode, then the owner.
    r = sys(SYS_fchmodat, dir, name, d.mode & 07777);
    if (r >= 0) r = sys(SYS_fchownat, dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW);
    sys(SYS_close, dir);
    if (r < 0) fail(c, STEP_DEVICE, r, "fchownat", d.path);
  }

  for (int i = 0; i < p->symlink_count; i++) {
    const PlanSymlink& s = p->symlinks[i];
    size_t len = c_strlcpy(scratch, s.linkpath, cap);
    size_t cut = len;
    while (cut > 0 && scratch[cut] != '/') cut--;
    scratch[cut] = 0;
    long dir = mkdir_in_root(c.root_fd, cut ? scratch : "/", scratch + len + 1, cap - len - 1);
    if (dir < 0) fail(c, STEP_SYMLINK, dir, "mkdirat", s.linkpath);
    long r = sys(SYS_symlinkat, s.target, dir, s.linkpath + cut + 1);
    sys(SYS_close, dir);
    if (r < 0 && r != -EEXIST) fail(c, STEP_SYMLINK, r, "symlinkat", s.linkpath);
  }
}

void enter_rootfs(Child& c) {
  const ChildPlan* p = c.p;
  CHECK(STEP_PIVOT_ROOT, sys(SYS_fchdir, c.root_fd), "fchdir", p->rootfs);
  if (p->no_pivot) {
    CHECK(STEP_CHROOT, sys(SYS_mount, ".", "/", nullptr, MS_MOVE, nullptr), "mount(move)", p->rootfs);
    CHECK(STEP_CHROOT, sys(SYS_chroot, "."), "chroot", p->rootfs);
  } else {
    // pivot_root(".", ".") stacks the old root under the new one; detach it from there. Make
    // it a slave first so the unmount cannot propagate to the host.
    CHECK(STEP_PIVOT_ROOT, sys(SYS_pivot_root, ".", "."), "pivot_root", p->rootfs);
    CHECK(STEP_PIVOT_ROOT, sys(SYS_mount, nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr), "mount", "old root");
    CHECK(STEP_PIVOT_ROOT, sys(SYS_umount2, ".", MNT_DETACH), "umount2", "old root");
  }
  CHECK(STEP_PIVOT_ROOT, sys(SYS_chdir, "/"), "chdir", "/");
  sys(SYS_close, c.root_fd);
  c.root_fd = -1;
}

// Mount flags that a remount must keep (the kernel refuses to clear locked ones in a userns).
unsigned long kept_flags(const char* path) {
  struct statfs st;
  if (sys(SYS_statfs, path, &st) < 0) return 0;
  return (unsigned long)st.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
}

void restrict_paths(Child& c) {
  const ChildPlan* p = c.p;
  for (int i = 0; i < p->masked_count; i++) {
    const char* path = p->masked[i];
    long r = sys(SYS_mount, "/dev/null", path, nullptr, MS_BIND, nullptr);
    if (r == -ENOTDIR) r = sys(SYS_mount, "tmpfs", path, "tmpfs", MS_RDONLY, "size=0k");
    if (r < 0 && r != -ENOENT) fail(c, STEP_MASK_PATH, r, "mount", path);
  }
  for (int i = 0; i < p->readonly_count; i++) {
    const char* path = p->readonly[i];
    long r = sys(SYS_mount, path, path, nullptr, MS_BIND | MS_REC, nullptr);
    if (r == -ENOENT) continue;
    if (r < 0) fail(c, STEP_READONLY_PATH, r, "mount", path);
    r = sys(SYS_mount, nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags(path), nullptr);
    if (r < 0) fail(c, STEP_READONLY_PATH, r, "mount(remount)", path);
  }
  if (p->readonly_rootfs)
    CHECK(STEP_READONLY_ROOTFS,
          sys(SYS_mount, nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags("/"), nullptr),
          "mount(remount)", "/");
}

void setup_stdio(Child& c) {
  const ChildPlan* p = c.p;
  // Move the sources out of the way first: a source may itself be 0, 1 or 2. Any free fd above
  // 2 will do (a fixed high floor fails under a low RLIMIT_NOFILE, which is already applied).
  int src[3];
  for (int i = 0; i < 3; i++) {
    src[i] = -1;
    if (p->stdio[i] < 0) continue;
    long d = sys(SYS_fcntl, p->stdio[i], F_DUPFD_CLOEXEC, 3);
    if (d < 0) fail(c, STEP_STDIO, d, "fcntl", "stdio");
    src[i] = (int)d;
  }
  for (int i = 0; i < 3; i++) {
    if (src[i] >= 0) CHECK(STEP_STDIO, sys(SYS_dup3, src[i], i, 0), "dup3", "stdio");
    else sys(SYS_fcntl, i, F_SETFD, 0);  // inherited: Node marks its own stdio close-on-exec
  }
}

// A terminal, as runc makes one: a pty from the container's own devpts; its slave becomes the
// controlling terminal and stdio, its master goes to the console socket (SCM_RIGHTS).
void setup_console(Child& c) {
  const ChildPlan* p = c.p;
  long master = sys(SYS_openat, AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail(c, STEP_CONSOLE, master, "open", "/dev/ptmx");
  int unlock = 0;
  CHECK(STEP_CONSOLE, sys(SYS_ioctl, master, TIOCSPTLCK, &unlock), "ioctl(TIOCSPTLCK)", "/dev/ptmx");
  long slave = sys(SYS_ioctl, master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) fail(c, STEP_CONSOLE, slave, "ioctl(TIOCGPTPEER)", "/dev/ptmx");
  if (p->console_rows && p->console_cols) {
    struct winsize ws = {};
    ws.ws_row = p->console_rows;
    ws.ws_col = p->console_cols;
    sys(SYS_ioctl, slave, TIOCSWINSZ, &ws);
  }
  unsigned int n = 0;
  char name[32] = "/dev/pts/";
  if (sys(SYS_ioctl, master, TIOCGPTN, &n) >= 0) {
    char digits[12];
    int k = 0;
    do digits[k++] = (char)('0' + n % 10), n /= 10;
    while (n);
    size_t i = 9;
    while (k) name[i++] = digits[--k];
    name[i] = 0;
  }
  for (int i = 0; i < 3; i++) CHECK(STEP_CONSOLE, sys(SYS_dup3, slave, i, 0), "dup3", name);
  sys(SYS_close, slave);
  CHECK(STEP_CONSOLE, sys(SYS_ioctl, 0, TIOCSCTTY, 0), "ioctl(TIOCSCTTY)", name);
  struct msghdr msg = {};
  struct iovec iov = {name, c_strlen(name)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  for (size_t i = 0; i < sizeof ctl.buf; i++) ctl.buf[i] = 0;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  int mfd = (int)master;
  char* data = reinterpret_cast<char*>(CMSG_DATA(cm));
  for (size_t i = 0; i < sizeof mfd; i++) data[i] = reinterpret_cast<char*>(&mfd)[i];
  CHECK(STEP_CONSOLE, sys(SYS_sendmsg, p->console_fd, &msg, 0), "sendmsg", "console socket");
  sys(SYS_close, master);
  sys(SYS_close, p->console_fd);
}

void load_seccomp(Child& c) {
  const ChildPlan* p = c.p;
  if (!p->seccomp) return;
  struct sock_fprog prog;
  prog.len = (unsigned short)p->seccomp_len;
  prog.filter = (struct sock_filter*)p->seccomp;
  CHECK(STEP_SECCOMP, sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog), "seccomp", nullptr);
}

void set_credentials(Child& c) {
  const ChildPlan* p = c.p;
  if (p->set_caps) {
    for (int cap = 0; cap <= p->cap_last; cap++) {
      if (p->cap_bounding & (1ULL << cap)) continue;
      long r = sys(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
      if (r < 0 && r != -EINVAL) fail(c, STEP_CAPS_BOUNDING, r, "prctl(PR_CAPBSET_DROP)", nullptr);
    }
  }
  if (p->seccomp_early) load_seccomp(c);
  if (p->set_user) {
    // Keep the permitted set across the uid change; the exact sets are applied right after.
    CHECK(STEP_SETUID, sys(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)", nullptr);
    CHECK(STEP_SETGROUPS, sys(SYS_setgroups, p->group_count, p->groups), "setgroups", nullptr);
    CHECK(STEP_SETGID, sys(SYS_setresgid, p->gid, p->gid, p->gid), "setresgid", nullptr);
    CHECK(STEP_SETUID, sys(SYS_setresuid, p->uid, p->uid, p->uid), "setresuid", nullptr);
  }
  if (p->set_caps) {
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)p->cap_effective;
    data[1].effective = (uint32_t)(p->cap_effective >> 32);
    data[0].permitted = (uint32_t)p->cap_permitted;
    data[1].permitted = (uint32_t)(p->cap_permitted >> 32);
    data[0].inheritable = (uint32_t)p->cap_inheritable;
    data[1].inheritable = (uint32_t)(p->cap_inheritable >> 32);
    CHECK(STEP_CAPSET, sys(SYS_capset, &hdr, data), "capset", nullptr);
    CHECK(STEP_AMBIENT, sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT)", nullptr);
    for (int cap = 0; cap <= p->cap_last; cap++) {
      if (!(p->cap_ambient & (1ULL << cap))) continue;
      CHECK(STEP_AMBIENT, sys(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), "prctl(PR_CAP_AMBIENT_RAISE)", nullptr);
    }
  }
  if (p->set_user) sys(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (p->no_new_privs)
    CHECK(STEP_NO_NEW_PRIVS, sys(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)", nullptr);
}

// Finds the executable as execvpe would (PATH from the container's env, EACCES remembered over
// ENOENT), before READY, so a missing binary fails `create` rather than `start` (runc does the
// same). Returns the path to execute (file itself, or built in buf).
const char* find_executable(Child& c, char* buf, size_t cap) {
  const ChildPlan* p = c.p;
  const char* file = p->argv[0];
  bool has_slash = false;
  for (const char* s = file; *s; s++)
    if (*s == '/') has_slash = true;
  if (has_slash || !p->path_env) {
    long r = sys(SYS_faccessat, AT_FDCWD, file, X_OK, 0);
    if (r < 0) fail(c, STEP_EXEC, r, "execve", file);
    return file;
  }
  long best = -ENOENT;
  const char* dir = p->path_env;
  size_t flen = c_strlen(file);
  while (true) {
    const char* end = dir;
    while (*end && *end != ':') end++;
    size_t dlen = (size_t)(end - dir);
    if (dlen + flen + 3 < cap) {
      size_t k = 0;
      for (; k < dlen; k++) buf[k] = dir[k];
      if (dlen == 0) buf[k++] = '.';
      buf[k++] = '/';
      for (size_t j = 0; j <= flen; j++) buf[k + j] = file[j];
      struct stat st;
      long r = sys(SYS_newfstatat, AT_FDCWD, buf, &st, 0);
      if (r == 0 && S_ISREG(st.st_mode)) {
        r = sys(SYS_faccessat, AT_FDCWD, buf, X_OK, 0);
        if (r == 0) return buf;
        best = r;
      }
    }
    if (!*end) break;
    dir = end + 1;
  }
  fail(c, STEP_EXEC, best, "execve", file);
}

[[noreturn]] void exec(Child& c, const char* path) {
  long r = sys(SYS_execve, path, c.p->argv, c.p->envp);
  fail(c, STEP_EXEC, r, "execve", path);
}

}  // namespace

int child_main(void* arg) {
  Child c;
  c.p = static_cast<const ChildPlan*>(arg);
  const ChildPlan* p = c.p;
  char scratch[4096];

  setup_signals(c);
  if (p->userns_sync) wait_parent(c);
  if (p->clone_flags & CLONE_NEWUSER) {
    // Become the new namespace's root (the host uid it maps to): files this process creates
    // in the container's own mounts must be owned by a uid that namespace can represent.
    CHECK(STEP_SETGID, sys(SYS_setresgid, 0, 0, 0), "setresgid", "user namespace root");
    CHECK(STEP_SETUID, sys(SYS_setresuid, 0, 0, 0), "setresuid", "user namespace root");
  }
  join_namespaces(c);
  if (p->new_cgroupns) CHECK(STEP_CGROUPNS, sys(SYS_unshare, CLONE_NEWCGROUP), "unshare(CLONE_NEWCGROUP)", nullptr);
  if (p->setsid) CHECK(STEP_SETSID, sys(SYS_setsid), "setsid", nullptr);
  if (p->hostname)
    CHECK(STEP_HOSTNAME, sys(SYS_sethostname, p->hostname, c_strlen(p->hostname)), "sethostname", p->hostname);
  if (p->domainname)
    CHECK(STEP_DOMAINNAME, sys(SYS_setdomainname, p->domainname, c_strlen(p->domainname)), "setdomainname", p->domainname);
  // Through the host's /proc, which shows this process's own net and ipc namespaces.
  for (int i = 0; i < p->sysctl_count; i++) write_file(c, STEP_SYSCTL, p->sysctls[i].path, p->sysctls[i].value);
  if (p->oom_score_adj) write_file(c, STEP_OOM_SCORE_ADJ, "/proc/self/oom_score_adj", p->oom_score_adj);

  if (p->rootfs) {
    setup_mounts(c, scratch, sizeof scratch);
    enter_rootfs(c);
    restrict_paths(c);
  }
  for (int i = 0; i < p->rlimit_count; i++) {
    struct rlimit64 {
      uint64_t cur, max;
    } lim = {p->rlimits[i].soft, p->rlimits[i].hard};
    CHECK(STEP_RLIMIT, sys(SYS_prlimit64, 0, p->rlimits[i].resource, &lim, nullptr), "prlimit64", nullptr);
  }
  if (p->console_fd >= 0) setup_console(c);
  else setup_stdio(c);
  if (p->umask >= 0) sys(SYS_umask, p->umask);
  // Everything but stdio and the preserved fds closes at execve; the report pipe with them,
  // which is how the parent learns that execve succeeded. Done before a seccomp filter can be
  // loaded (an older profile may not allow close_range), with a plain loop where it is missing.
  if (sys(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = 3; fd < 65536; fd++) sys(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
  for (int fd = 3; fd < 3 + p->preserve_fds; fd++) sys(SYS_fcntl, fd, F_SETFD, 0);
  set_credentials(c);
  if (p->cwd) CHECK(STEP_CWD, sys(SYS_chdir, p->cwd), "chdir", p->cwd);


  // The lookup runs with the final credentials and cwd, as execve will.
  char exe_buf[4096];
  const char* exe = find_executable(c, exe_buf, sizeof exe_buf);

  ChildReport ready = {};
  ready.step = STEP_READY;
  sys(SYS_write, p->report_fd, &ready, sizeof ready);
  if (p->start_fd >= 0) {
    char b;
    long r;
    do r = sys(SYS_read, p->start_fd, &b, 1);
    while (r == -EINTR);
    if (r != 1) fail(c, STEP_START_WAIT, r == 0 ? -EPIPE : r, "read", "exec fifo");
    sys(SYS_close, p->start_fd);
  }
  if (!p->seccomp_early) load_seccomp(c);
  exec(c, exe);
}

}  // namespace keel
