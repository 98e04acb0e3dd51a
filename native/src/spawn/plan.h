// The spawn plan as the cloned child reads it: plain data, prepared completely by the parent.
//
// Every pointer here points into storage owned by the Plan object (see plan_parse.cc), which the
// parent keeps alive until the child has called execve or died.
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace keel {

// Child steps, in the order the child performs them. Keep in sync with native/index.ts.
enum Step : int32_t {
  STEP_READY = 0,
  STEP_SIGNALS = 1,
  STEP_SYNC = 2,
  STEP_SETNS = 3,
  STEP_SETSID = 4,
  STEP_CGROUPNS = 5,
  STEP_HOSTNAME = 6,
  STEP_DOMAINNAME = 7,
  STEP_SYSCTL = 8,
  STEP_ROOT_PROPAGATION = 9,
  STEP_ROOTFS_BIND = 10,
  STEP_MOUNT_TARGET = 11,
  STEP_MOUNT = 12,
  STEP_MOUNT_PROPAGATION = 13,
  STEP_DEVICE = 14,
  STEP_SYMLINK = 15,
  STEP_PIVOT_ROOT = 16,
  STEP_CHROOT = 17,
  STEP_MASK_PATH = 18,
  STEP_READONLY_PATH = 19,
  STEP_READONLY_ROOTFS = 20,
  STEP_RLIMIT = 21,
  STEP_OOM_SCORE_ADJ = 22,
  STEP_STDIO = 23,
  STEP_CAPS_BOUNDING = 24,
  STEP_SETGROUPS = 25,
  STEP_SETGID = 26,
  STEP_SETUID = 27,
  STEP_CAPSET = 28,
  STEP_AMBIENT = 29,
  STEP_NO_NEW_PRIVS = 30,
  STEP_SECCOMP = 31,
  STEP_CWD = 32,
  STEP_START_WAIT = 33,
  STEP_CLOSE_FDS = 34,
  STEP_EXEC = 35,
  STEP_CLONE = 36,
  STEP_USERNS_MAP = 37,
  STEP_CGROUP_JOIN = 38,
  STEP_CONSOLE = 39,
};

// What the child writes to the report pipe: READY once set-up is done, or the step that failed.
struct ChildReport {
  int32_t step;
  int32_t err;  // positive errno, 0 for READY
  char syscall[32];
  char path[472];
};

struct PlanMount {
  const char* source;  // may be null
  const char* target;  // inside the rootfs, absolute
  const char* fstype;  // may be null
  const char* data;    // may be null
  unsigned long flags;  // MS_* without propagation flags
  unsigned long propagation[4];  // MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (|MS_REC), applied in order
  int propagation_count;
  bool bind;       // MS_BIND: flags other than MS_REC need a remount
  bool file;       // the target is a file, not a directory (bind of a file)
};

struct PlanDevice {
  const char* path;  // inside the rootfs
  uint32_t mode;     // S_IFCHR/S_IFBLK/S_IFIFO | permissions
  uint32_t major, minor;
  uint32_t uid, gid;
  bool bind;  // bind-mount the host's node instead of mknod (user namespaces)
};

struct PlanSymlink {
  const char* target;
  const char* linkpath;  // inside the rootfs
};

struct PlanNs {
  int fd;       // opened by the parent
  int nstype;   // CLONE_NEW*
  const char* path;
};

struct PlanSysctl {
  const char* path;  // /proc/sys/...
  const char* value;
};

struct PlanRlimit {
  int resource;
  uint64_t soft, hard;
};

struct ChildPlan {
  // Namespaces created by clone (cgroup namespace excepted: unshared after the cgroup join).
  unsigned long clone_flags;
  bool new_cgroupns;
  PlanNs* join;
  int join_count;
  bool userns_sync;  // wait for the parent to write uid/gid maps and join cgroups

  bool setsid;
  const char* hostname;    // null: leave
  const char* domainname;  // null: leave
  PlanSysctl* sysctls;
  int sysctl_count;

  // Filesystem.
  const char* rootfs;  // null: no filesystem set-up (exec into a running container)
  unsigned long root_propagation;  // applied to "/" first (MS_SLAVE|MS_REC by default)
  unsigned long rootfs_propagation;  // 0: leave
  bool no_pivot;
  bool readonly_rootfs;
  PlanMount* mounts;
  int mount_count;
  PlanDevice* devices;
  int device_count;
  PlanSymlink* symlinks;
  int symlink_count;
  const char** masked;
  int masked_count;
  const char** readonly;
  int readonly_count;

  // Process.
  PlanRlimit* rlimits;
  int rlimit_count;
  const char* oom_score_adj;  // null: leave
  int stdio[3];  // parent fds to become 0, 1, 2; -1 leaves that fd as inherited
  int console_fd;  // connected unix socket: a new pty's master goes there, its slave is stdio; -1 none
  unsigned short console_rows, console_cols;
  int preserve_fds;  // fds 3 .. 3+n-1 stay open across execve
  int cap_last;
  uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
  bool set_caps;
  bool no_new_privs;
  const uint8_t* seccomp;  // struct sock_filter[], null: none
  uint32_t seccomp_len;    // instructions
  uint32_t seccomp_flags;
  bool seccomp_early;      // load before dropping privileges (when no_new_privs is off)
  bool set_user;
  uint32_t uid, gid;
  uint32_t* groups;
  int group_count;
  int umask;  // -1: leave
  const char* cwd;  // null: leave
  char* const* argv;
  char* const* envp;
  const char* path_env;  // PATH from envp, for the executable search
  int start_fd;  // -1: execute at once after READY
  int report_fd;
  int sync_fd;
};

// Owns every byte a ChildPlan points to.
class Plan {
 public:
  ChildPlan child{};
  std::string mode;  // "fork" (clone3) or "vm" (clone with CLONE_VM on a private stack)
  std::string uid_map, gid_map;
  bool setgroups_deny = false;
  std::vector<std::string> cgroup_procs;  // cgroup.procs files the parent writes the pid into
  std::string cgroup_dir;  // cgroup v2 directory for CLONE_INTO_CGROUP (fork mode)
  std::string pidns_path;  // an existing pid namespace the child is born into
  std::string start_path;  // exec FIFO
  std::string console_socket;  // runc's --console-socket
  std::vector<int> owned_fds;  // namespace fds and the FIFO, closed after the clone

  const char* keep(const std::string& s) {
    strings_.push_back(std::make_unique<std::string>(s));
    return strings_.back()->c_str();
  }
  template <typename T>
  T* array(size_t n) {
    auto block = std::make_unique<std::vector<uint8_t>>(sizeof(T) * (n ? n : 1), 0);
    T* p = reinterpret_cast<T*>(block->data());
    blocks_.push_back(std::move(block));
    return p;
  }
  ~Plan();

 private:
  std::vector<std::unique_ptr<std::string>> strings_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> blocks_;
};

}  // namespace keel
