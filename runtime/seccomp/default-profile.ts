// podman's default seccomp profile: the data of containers/common pkg/seccomp/seccomp.json
// (Apache-2.0; generated there from default_linux.go), in the version that allows ptrace, io_uring
// and landlock, with its capability- and architecture-conditional entries resolved the way
// containers/common does for a container's capability set.
//
// Its shape: an unknown system call gets ENOSYS (defaultErrnoRet 38) so that programs fall back
// from calls newer than the profile, a short list of dangerous or obsolete calls gets EPERM, a
// long allow list, and calls that need a capability are allowed only when the container has it
// (EPERM otherwise). Note that mount, umount2, pivot_root, unshare, setns, reboot and ptrace are
// on the plain allow list: the kernel's own capability checks guard them.
import type { LinuxSeccomp, LinuxSyscall } from "../../oci/runtime-spec.js";

const EPERM = 1;
const EINVAL = 22;
const ENOSYS = 38;
const AF_NETLINK = 16;
const NETLINK_AUDIT = 9;

/** An entry of seccomp.json: a rule plus when it applies. */
interface ConditionalSyscall extends LinuxSyscall {
  /** Applies only if every listed capability is held / the architecture is one of these. */
  includes?: { caps?: string[]; arches?: string[] };
  /** Does not apply if any listed capability is held / the architecture is one of these. */
  excludes?: { caps?: string[]; arches?: string[] };
}

const words = (s: string) => s.trim().split(/\s+/);

const DENIED_EPERM = words(`
  bdflush io_pgetevents kexec_file_load kexec_load migrate_pages move_pages nfsservctl nice
  oldfstat oldlstat oldolduname oldstat olduname pciconfig_iobase pciconfig_read pciconfig_write
  sgetmask ssetmask swapcontext swapoff swapon sysfs uselib userfaultfd ustat vm86 vm86old vmsplice
`);

const ALLOWED = words(`
  _llseek _newselect accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown
  chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
  clock_gettime64 clock_nanosleep clock_nanosleep_time64 clone clone3 close close_range connect
  copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
  epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
  exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod
  fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork
  fremovexattr fsconfig fsetxattr fsmount fsopen fspick fstat fstat64 fstatat64 fstatfs fstatfs64
  fsync ftruncate ftruncate64 futex futex_time64 futimesat get_mempolicy get_robust_list
  get_thread_area getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid
  getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
  getrandom getresgid getresgid32 getresuid getresuid32 getrlimit getrusage getsid getsockname
  getsockopt gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init
  inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents io_setup io_submit
  io_uring_enter io_uring_register io_uring_setup ioctl ioprio_get ioprio_set ipc keyctl kill
  landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link
  linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat lstat64 madvise mbind
  membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall
  mmap mmap2 mount mount_setattr move_mount mprotect mq_getsetattr mq_notify mq_open
  mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl
  msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat open
  open_tree openat openat2 pause pidfd_getfd pidfd_open pidfd_send_signal pipe pipe2 pivot_root
  pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
  prlimit64 process_mrelease process_vm_readv process_vm_writev pselect6 pselect6_time64 ptrace
  pwrite64 pwritev pwritev2 read readahead readdir readlink readlinkat readv reboot recv recvfrom
  recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2
  restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
  rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
  sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr sched_getparam
  sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
  sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop
  semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_mempolicy
  set_robust_list set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid
  setgid32 setgroups setgroups32 setitimer setns setpgid setpriority setregid setregid32 setresgid
  setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit setsid setsockopt setuid
  setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaction sigaltstack signal signalfd
  signalfd4 sigpending sigprocmask sigreturn sigsuspend socketcall socketpair splice stat stat64
  statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs syscall sysinfo syslog tee
  tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
  timer_settime timer_settime64 timerfd timerfd_create timerfd_gettime timerfd_gettime64
  timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask umount
  umount2 uname unlink unlinkat unshare utime utimensat utimensat_time64 utimes vfork wait4 waitid
  waitpid write writev
`);

/** A capability-gated group: allowed with `cap`, EPERM without it. */
function gated(cap: string, names: string): ConditionalSyscall[] {
  return [
    { names: words(names), action: "SCMP_ACT_ALLOW", includes: { caps: [cap] } },
    { names: words(names), action: "SCMP_ACT_ERRNO", errnoRet: EPERM, excludes: { caps: [cap] } },
  ];
}

const personality = (value: number): ConditionalSyscall => ({
  names: ["personality"],
  action: "SCMP_ACT_ALLOW",
  args: [{ index: 0, value, valueTwo: 0, op: "SCMP_CMP_EQ" }],
});

/** seccomp.json's syscalls, in its order (first match wins in keel's compiler). */
export const PODMAN_SECCOMP_SYSCALLS: readonly ConditionalSyscall[] = [
  { names: DENIED_EPERM, action: "SCMP_ACT_ERRNO", errnoRet: EPERM },
  { names: ALLOWED, action: "SCMP_ACT_ALLOW" },
  // PER_LINUX, UNAME26, PER_LINUX32, UNAME26|PER_LINUX32, and 0xffffffff (query).
  personality(0x0),
  personality(0x8),
  personality(0x20000),
  personality(0x20008),
  personality(0xffffffff),
  { names: ["sync_file_range2"], action: "SCMP_ACT_ALLOW", includes: { arches: ["ppc64le"] } },
  {
    names: words("arm_fadvise64_64 arm_sync_file_range breakpoint cacheflush set_tls sync_file_range2"),
    action: "SCMP_ACT_ALLOW",
    includes: { arches: ["arm", "arm64"] },
  },
  { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64", "x32"] } },
  { names: ["modify_ldt"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64", "x32", "x86"] } },
  { names: words("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr"), action: "SCMP_ACT_ALLOW", includes: { arches: ["s390", "s390x"] } },
  ...gated("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
  ...gated("CAP_SYS_ADMIN", "bpf fanotify_init lookup_dcookie perf_event_open quotactl setdomainname sethostname setns"),
  ...gated("CAP_SYS_CHROOT", "chroot"),
  ...gated("CAP_SYS_MODULE", "delete_module finit_module init_module query_module"),
  ...gated("CAP_SYS_PACCT", "acct"),
  ...gated("CAP_SYS_PTRACE", "kcmp process_madvise"),
  ...gated("CAP_SYS_RAWIO", "ioperm iopl"),
  ...gated("CAP_SYS_TIME", "clock_settime clock_settime64 settimeofday stime"),
  ...gated("CAP_SYS_TTY_CONFIG", "vhangup"),
  // Without CAP_AUDIT_WRITE: no audit netlink socket (EINVAL, so that login tools carry on).
  {
    names: ["socket"],
    action: "SCMP_ACT_ERRNO",
    errnoRet: EINVAL,
    args: [
      { index: 0, value: AF_NETLINK, valueTwo: 0, op: "SCMP_CMP_EQ" },
      { index: 2, value: NETLINK_AUDIT, valueTwo: 0, op: "SCMP_CMP_EQ" },
    ],
    excludes: { caps: ["CAP_AUDIT_WRITE"] },
  },
  { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 2, value: NETLINK_AUDIT, valueTwo: 0, op: "SCMP_CMP_NE" }], excludes: { caps: ["CAP_AUDIT_WRITE"] } },
  { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: AF_NETLINK, valueTwo: 0, op: "SCMP_CMP_NE" }], excludes: { caps: ["CAP_AUDIT_WRITE"] } },
  { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 2, value: NETLINK_AUDIT, valueTwo: 0, op: "SCMP_CMP_NE" }], excludes: { caps: ["CAP_AUDIT_WRITE"] } },
  { names: ["socket"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_AUDIT_WRITE"] } },
];

/** seccomp.json's archMap: the native architecture and the ones it also runs. */
const ARCH_MAP: Readonly<Record<string, { scmp: string[]; goarch: string }>> = {
  x64: { scmp: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], goarch: "amd64" },
  arm64: { scmp: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"], goarch: "arm64" },
  s390x: { scmp: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"], goarch: "s390x" },
};

export class UnsupportedSeccompArchError extends Error {
  readonly code = "ESECCOMPARCH";
  constructor(readonly arch: string) {
    super(`no default seccomp profile for architecture '${arch}' (known: ${Object.keys(ARCH_MAP).join(", ")})`);
    this.name = "UnsupportedSeccompArchError";
  }
}

export interface DefaultProfileOptions {
  /** The container's capabilities (its bounding set, as containers/common uses). */
  capabilities: readonly string[];
  /** Node's process.arch of the host; keel compiles filters for x64 only. Default: process.arch. */
  arch?: string;
}

/** podman's default profile for a container with `capabilities`, resolved for the host. */
export function defaultSeccompProfile(opts: DefaultProfileOptions): LinuxSeccomp {
  const arch = opts.arch ?? process.arch;
  const map = ARCH_MAP[arch];
  if (!map || !Object.hasOwn(ARCH_MAP, arch)) throw new UnsupportedSeccompArchError(arch);
  const caps = new Set(opts.capabilities);
  const applies = (s: ConditionalSyscall) => {
    const inc = s.includes ?? {};
    const exc = s.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(map.goarch)) return false;
    if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) return false;
    if (exc.arches?.includes(map.goarch)) return false;
    if (exc.caps?.some((c) => caps.has(c))) return false;
    return true;
  };
  const syscalls = PODMAN_SECCOMP_SYSCALLS.filter(applies).map(({ includes: _i, excludes: _e, ...rule }) => ({
    ...rule,
    names: [...rule.names],
    ...(rule.args ? { args: rule.args.map((a) => ({ ...a })) } : {}),
  }));
  return { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: ENOSYS, architectures: [...map.scmp], syscalls };
}
