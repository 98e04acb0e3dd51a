// keel-supervisor, container mode: one small process per container, like conmon.
//
//   keel-supervisor --exit-file F --log-file L --pid-file P [--status-fd N] -- COMMAND...
//
// It detaches (setsid), becomes a child subreaper, and runs COMMAND (keel creating and starting
// the container, with this process's pipes as the container's stdout and stderr). COMMAND exits
// once the container runs; the container, orphaned, is reparented here. From then on this
// process copies the container's output to L in the CRI log format kubelet uses
// ("<RFC3339Nano> stdout|stderr F|P <text>"), reaps it, and writes its exit status to F
// (atomically: {"exitCode":N,"signal":S,"finishedAt":"..."}). The container never depends on the
// keel process that made it. COMMAND's own status goes to --status-fd as "ok\n" or "failed N\n",
// so the caller knows whether the container started.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cri_log.h"
#include "supervisor.h"

namespace keel {
namespace {

struct Args {
  std::string exit_file, log_file, pid_file;
  int status_fd = -1;
  std::vector<char*> command;
};

[[noreturn]] void die(const char* what) {
  fprintf(stderr, "keel-supervisor: %s: %s\n", what, strerror(errno));
  exit(125);
}

Args parse(int argc, char** argv) {
  Args a;
  int i = 1;
  for (; i < argc; i++) {
    std::string k = argv[i];
    if (k == "--") {
      i++;
      break;
    }
    if (i + 1 >= argc) break;
    if (k == "--exit-file") a.exit_file = argv[++i];
    else if (k == "--log-file") a.log_file = argv[++i];
    else if (k == "--pid-file") a.pid_file = argv[++i];
    else if (k == "--status-fd") a.status_fd = atoi(argv[++i]);
    else {
      fprintf(stderr, "keel-supervisor: unknown option %s\n", k.c_str());
      exit(125);
    }
  }
  for (; i < argc; i++) a.command.push_back(argv[i]);
  a.command.push_back(nullptr);
  if (a.command.size() < 2 || a.exit_file.empty() || a.log_file.empty() || a.pid_file.empty()) {
    fprintf(stderr, "usage: keel-supervisor --exit-file F --log-file L --pid-file P [--status-fd N] -- COMMAND...\n");
    exit(125);
  }
  return a;
}

pid_t read_pid_file(const std::string& path) {
  FILE* f = fopen(path.c_str(), "re");
  if (!f) return -1;
  long pid = -1;
  if (fscanf(f, "%ld", &pid) != 1) pid = -1;
  fclose(f);
  return (pid_t)pid;
}

}  // namespace

int container_main(int argc, char** argv) {
  Args a = parse(argc, argv);
  setsid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die("prctl(PR_SET_CHILD_SUBREAPER)");

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) die("pipe2");
  int log = open(a.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log < 0) die(a.log_file.c_str());

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  // A stray SIGTERM/SIGHUP for the session must not take the container's records with it.
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);

  pid_t inner = fork();
  if (inner < 0) die("fork");
  if (inner == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, nullptr);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    if (a.status_fd >= 0) close(a.status_fd);
    execvp(a.command[0], a.command.data());
    fprintf(stderr, "keel-supervisor: exec %s: %s\n", a.command[0], strerror(errno));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);

  LogStream streams[2];
  streams[0].fd = out[0];
  streams[1].fd = err[0];
  streams[1].name = "stderr";
  bool inner_done = false, container_done = false;
  pid_t container = -1;
  while (true) {
    struct pollfd fds[3] = {{sfd, POLLIN, 0}, {streams[0].fd, POLLIN, 0}, {streams[1].fd, POLLIN, 0}};
    bool open_streams = streams[0].fd >= 0 || streams[1].fd >= 0;
    if (inner_done && (container_done || container < 0) && !open_streams) break;
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int i = 0; i < 2; i++) {
      LogStream& s = streams[i];
      if (s.fd < 0 || !(fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      pump(log, s);
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == inner) {
          inner_done = true;
          bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
          if (ok) container = read_pid_file(a.pid_file);
          if (a.status_fd >= 0) {
            std::string msg = ok ? "ok\n" : "failed " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) + "\n";
            write_all(a.status_fd, msg);
            close(a.status_fd);
            a.status_fd = -1;
          }
          // The container may have exited (and been reaped below) before its pid was known.
          if (ok && container > 0 && kill(container, 0) < 0 && errno == ESRCH && !container_done) {
            // Reaped earlier as an unknown pid: its status was recorded then.
            container_done = true;
          }
        } else if (pid == container || container < 0) {
          // Before the pid file is read, the only orphan that can arrive is the container.
          write_exit_file(a.exit_file, status);
          if (pid == container || container < 0) container_done = pid == container;
          if (container < 0) container = pid;
          container_done = true;
        }
      }
    }
  }
  return 0;
}

}  // namespace keel
