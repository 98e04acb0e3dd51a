// keel-supervisor, pod mode: one small process per pod (DESIGN.md: the per-pod supervisor).
//
//   keel-supervisor pod --socket PATH [--status-fd N]
//
// It detaches (setsid), becomes a child subreaper and serves PATH, a unix socket. The kubelet
// sends it spawn plans that TypeScript built (native/src/spawn/plan_parse.h's serialized form);
// it clones each container with the same spawn code the addon uses, so the pod's sandbox and
// containers are its children, not the kubelet's. For each container it copies stdout/stderr to
// a CRI log file, reaps it and writes its exit record; the kubelet may stop, crash or restart
// meanwhile (a new kubelet connects to the same socket). It exits once every container it ran
// has exited, or on `shutdown` (or SIGTERM) once none is left.
//
// Protocol: one JSON object per line each way; every request has an "id", echoed in its reply
// ({"id":N,"ok":true,...} or {"id":N,"ok":false,"error":{code,errno,syscall,path,step,message}}).
//   {"op":"create","container":ID,"plan":"<serialized plan>","logFile":L,"exitFile":E}
//        → {"pid":P} once the child is set up and waits on its exec FIFO (or runs, without one)
//   {"op":"exec-wait","container":ID}  → once the container's execve has happened (or failed)
//   {"op":"info"}                      → {"pid":P,"containers":[{"id","pid","running"}]}
//   {"op":"shutdown"}                  → ok; the supervisor exits when no container is left
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "cri_log.h"
#include "spawn/plan_parse.h"
#include "spawn/spawn_core.h"
#include "supervisor.h"

namespace keel {
namespace {

using json = nlohmann::json;

struct Waiter {
  int client;
  json request_id;
};

struct Container {
  std::string id, log_file, exit_file;
  int pid = -1;
  int log_fd = -1;
  LogStream out, err;
  std::unique_ptr<Plan> plan;  // read by the child until execve
  void* stack = nullptr;       // vm mode: the child's stack, until execve or reaping
  int report_fd = -1;          // open until the exec settles
  enum class Exec { pending, ok, failed } exec = Exec::pending;
  SysError exec_error;
  std::vector<Waiter> waiters;
  bool reaped = false;
};

enum Kind : uint32_t { K_SIGNAL = 1, K_LISTEN, K_CLIENT, K_OUT, K_ERR, K_REPORT };

uint64_t tag(Kind k, int fd) { return (uint64_t)k << 32 | (uint32_t)fd; }

class Server {
 public:
  int run(const std::string& socket_path, int status_fd);

 private:
  void add(Kind k, int fd) {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u64 = tag(k, fd);
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }
  void remove(int fd) { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

  void on_client(int fd);
  void handle(int client, const std::string& line);
  void create(int client, const json& req);
  void exec_wait(int client, const json& req);
  void info(int client, const json& req);
  void on_stream(Container& c, LogStream& s);
  void settle_exec(Container& c);
  void reap_children();
  void retire(Container& c);
  void close_client(int fd);

  void reply(int client, const json& id, json body) {
    body["id"] = id;
    body["ok"] = true;
    write_all(client, body.dump() + "\n");
  }
  void reply_error(int client, const json& id, const SysError& e) {
    const char* code = strerrorname_np(e.err);
    json err = {{"code", code ? code : "EUNKNOWN"}, {"errno", e.err}, {"syscall", e.syscall}};
    if (!e.path.empty()) err["path"] = e.path;
    if (!e.step.empty()) err["step"] = e.step;
    if (!e.message.empty()) err["message"] = e.message;
    write_all(client, json{{"id", id}, {"ok", false}, {"error", err}}.dump() + "\n");
  }
  static SysError error(int err, const char* syscall, const std::string& path, const std::string& message = "") {
    SysError e;
    e.err = err;
    e.syscall = syscall;
    e.path = path;
    e.message = message;
    return e;
  }
  bool done() const {
    if (live_ > 0) return false;
    if (shutting_down_) return true;
    // Every container it ran has exited and its output is in the log: nothing left to keep.
    return had_children_ && open_streams_ == 0;
  }

  int epfd_ = -1;
  int listen_fd_ = -1;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  std::deque<std::string> finished_;  // retired containers, oldest first (kept for exec-wait)
  std::unordered_map<int, Container*> by_fd_;
  std::unordered_map<int, std::string> clients_;  // fd → unfinished input line
  int live_ = 0, open_streams_ = 0;
  bool had_children_ = false, shutting_down_ = false;
};

void Server::create(int client, const json& req) {
  const json& idv = req["id"];
  auto field = [&req](const char* k) -> std::string {
    auto it = req.find(k);
    return it != req.end() && it->is_string() ? it->get<std::string>() : "";
  };
  std::string id = field("container"), plan_text = field("plan"), log_file = field("logFile"), exit_file = field("exitFile");
  if (id.empty() || plan_text.empty() || log_file.empty() || exit_file.empty())
    return reply_error(client, idv, error(EINVAL, "create", "", "create needs container, plan, logFile and exitFile"));
  auto old = containers_.find(id);
  if (old != containers_.end()) {
    if (!old->second->reaped) return reply_error(client, idv, error(EEXIST, "create", id, "a container with this id runs here"));
    containers_.erase(old);
  }
  std::string perr;
  std::unique_ptr<Plan> plan = parse_plan(plan_text, perr);
  if (!perr.empty()) return reply_error(client, idv, error(EINVAL, "create", id, perr));

  auto c = std::make_unique<Container>();
  c->id = id;
  c->log_file = log_file;
  c->exit_file = exit_file;
  c->log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (c->log_fd < 0) return reply_error(client, idv, error(errno, "open", log_file));
  int out[2], err[2];
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || pipe2(out, O_CLOEXEC) < 0) {
    int e = errno;
    close(c->log_fd);
    if (devnull >= 0) close(devnull);
    return reply_error(client, idv, error(e, "pipe2", ""));
  }
  if (pipe2(err, O_CLOEXEC) < 0) {
    int e = errno;
    close(c->log_fd), close(devnull), close(out[0]), close(out[1]);
    return reply_error(client, idv, error(e, "pipe2", ""));
  }
  // The container's stdio is ours to give: /dev/null in, its output to the log.
  plan->child.stdio[0] = devnull;
  plan->child.stdio[1] = out[1];
  plan->child.stdio[2] = err[1];
  plan->child.preserve_fds = 0;
  SpawnedChild child;
  SysError serr;
  bool ok = spawn_child(*plan, child, serr);
  close(devnull), close(out[1]), close(err[1]);
  if (!ok) {
    close(c->log_fd), close(out[0]), close(err[0]);
    return reply_error(client, idv, serr);
  }
  close(child.pidfd);  // reaped by waitpid, as every child of a subreaper
  c->pid = child.pid;
  c->plan = std::move(plan);
  c->stack = child.stack;
  c->report_fd = child.report.release();
  fcntl(c->report_fd, F_SETFL, O_NONBLOCK);
  c->out.fd = out[0];
  c->err.fd = err[0];
  c->err.name = "stderr";
  Container* p = c.get();
  containers_[id] = std::move(c);
  for (auto [k, fd] : {std::pair{K_OUT, p->out.fd}, {K_ERR, p->err.fd}, {K_REPORT, p->report_fd}}) {
    by_fd_[fd] = p;
    add(k, fd);
  }
  open_streams_ += 2;
  live_++;
  had_children_ = true;
  reply(client, idv, {{"pid", p->pid}});
}

// The report pipe: EOF once execve succeeded, a ChildReport if the child failed before it.
void Server::settle_exec(Container& c) {
  if (c.exec != Container::Exec::pending || c.report_fd < 0) return;
  ChildReport r;
  ssize_t n;
  do n = read(c.report_fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  if (n == (ssize_t)sizeof r) {
    c.exec = Container::Exec::failed;
    report_to_error(r, c.exec_error);
  } else {
    c.exec = Container::Exec::ok;
    // execve replaced the child's memory: its stack and plan here are ours again.
    free_child_stack(c.stack);
    c.stack = nullptr;
  }
  if (c.exec == Container::Exec::ok || c.reaped) {
    c.plan.reset();
    malloc_trim(0);
  }
  remove(c.report_fd);
  by_fd_.erase(c.report_fd);
  close(c.report_fd);
  c.report_fd = -1;
  for (const Waiter& w : c.waiters) {
    if (c.exec == Container::Exec::ok) reply(w.client, w.request_id, json::object());
    else reply_error(w.client, w.request_id, c.exec_error);
  }
  c.waiters.clear();
}

void Server::exec_wait(int client, const json& req) {
  auto it = req.find("container");
  std::string id = it != req.end() && it->is_string() ? it->get<std::string>() : "";
  auto found = containers_.find(id);
  if (found == containers_.end()) return reply_error(client, req["id"], error(ENOENT, "exec-wait", id, "no such container here"));
  Container& c = *found->second;
  if (c.exec == Container::Exec::pending) settle_exec(c);
  if (c.exec == Container::Exec::pending) return c.waiters.push_back({client, req["id"]});
  if (c.exec == Container::Exec::ok) return reply(client, req["id"], json::object());
  reply_error(client, req["id"], c.exec_error);
}

void Server::info(int client, const json& req) {
  json list = json::array();
  for (auto& [id, c] : containers_) list.push_back({{"id", id}, {"pid", c->pid}, {"running", !c->reaped}});
  reply(client, req["id"], {{"pid", getpid()}, {"containers", list}});
}

void Server::handle(int client, const std::string& line) {
  json req = json::parse(line, nullptr, false);
  if (req.is_discarded() || !req.is_object()) return reply_error(client, nullptr, error(EINVAL, "parse", "", "a request is one JSON object per line"));
  if (!req.contains("id")) req["id"] = nullptr;
  auto opv = req.find("op");
  std::string op = opv != req.end() && opv->is_string() ? opv->get<std::string>() : "";
  if (op == "create") {
    create(client, req);
    // A plan's parse leaves freed heap behind; give it back (one supervisor per pod: its dirty
    // pages are most of what a pod costs beyond its containers).
    malloc_trim(0);
    return;
  }
  if (op == "exec-wait") return exec_wait(client, req);
  if (op == "info") return info(client, req);
  if (op == "shutdown") {
    shutting_down_ = true;
    return reply(client, req["id"], json::object());
  }
  reply_error(client, req["id"], error(EINVAL, "request", "", "unknown op '" + op + "'"));
}

void Server::close_client(int fd) {
  remove(fd);
  close(fd);
  clients_.erase(fd);
  for (auto& [id, c] : containers_) {
    auto& ws = c->waiters;
    for (size_t i = 0; i < ws.size();) {
      if (ws[i].client == fd) ws.erase(ws.begin() + (long)i);
      else i++;
    }
  }
}

void Server::on_client(int fd) {
  char buf[16384];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) return close_client(fd);
  std::string& pending = clients_[fd];
  pending.append(buf, (size_t)n);
  size_t start = 0;
  for (;;) {
    size_t nl = pending.find('\n', start);
    if (nl == std::string::npos) break;
    std::string line = pending.substr(start, nl - start);
    start = nl + 1;
    handle(fd, line);
    if (!clients_.count(fd)) return;
  }
  std::string& rest = clients_[fd];
  rest.erase(0, start);
  // A plan is tens of KiB: do not keep that capacity for an idle connection.
  if (rest.empty()) std::string().swap(rest);
}

void Server::on_stream(Container& c, LogStream& s) {
  int fd = s.fd;
  if (pump(c.log_fd, s)) return;
  remove(fd);  // closed by pump
  by_fd_.erase(fd);
  open_streams_--;
  retire(c);
}

// A container that has exited and whose output is all in its log: keep only what exec-wait needs.
void Server::retire(Container& c) {
  if (!c.reaped || c.out.fd >= 0 || c.err.fd >= 0) return;
  if (c.log_fd >= 0) close(c.log_fd);
  c.log_fd = -1;
  finished_.push_back(c.id);
  while (finished_.size() > 32) {
    auto it = containers_.find(finished_.front());
    if (it != containers_.end() && it->second->reaped && it->second->log_fd < 0) containers_.erase(it);
    finished_.pop_front();
  }
}

void Server::reap_children() {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    Container* c = nullptr;
    for (auto& [id, ct] : containers_)
      if (ct->pid == pid && !ct->reaped) c = ct.get();
    if (!c) continue;  // an orphan of a container (shared pid namespace) reparented to us
    settle_exec(*c);
    c->reaped = true;
    free_child_stack(c->stack);
    c->stack = nullptr;
    c->plan.reset();
    live_--;
    write_exit_file(c->exit_file, status);
    retire(*c);
  }
}

int Server::run(const std::string& path, int status_fd) {
  auto report = [&](const std::string& msg) {
    if (status_fd < 0) return;
    write_all(status_fd, msg);
    close(status_fd);
    status_fd = -1;
  };
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (sfd < 0 || epfd_ < 0 || listen_fd_ < 0) return report(std::string("failed ") + strerror(errno) + "\n"), 125;
  if (path.size() >= sizeof addr.sun_path) return report("failed socket path too long: " + path + "\n"), 125;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unlink(path.c_str());
  mode_t old = umask(0077);
  int b = bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (b < 0 || listen(listen_fd_, 16) < 0) return report("failed bind " + path + ": " + strerror(errno) + "\n"), 125;
  add(K_SIGNAL, sfd);
  add(K_LISTEN, listen_fd_);
  report("ok " + std::to_string(getpid()) + "\n");

  struct epoll_event evs[32];
  while (!done()) {
    int n = epoll_wait(epfd_, evs, 32, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      Kind k = (Kind)(evs[i].data.u64 >> 32);
      int fd = (int)(uint32_t)evs[i].data.u64;
      if (k == K_SIGNAL) {
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
          if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) shutting_down_ = true;
        reap_children();
      } else if (k == K_LISTEN) {
        int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          clients_[c];
          add(K_CLIENT, c);
        }
      } else if (k == K_CLIENT) {
        if (clients_.count(fd)) on_client(fd);
      } else {
        auto it = by_fd_.find(fd);
        if (it == by_fd_.end()) continue;
        Container& c = *it->second;
        if (k == K_REPORT) settle_exec(c);
        else on_stream(c, k == K_OUT ? c.out : c.err);
      }
    }
  }
  unlink(path.c_str());
  return 0;
}

}  // namespace

int pod_main(int argc, char** argv) {
  std::string socket_path;
  int status_fd = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--socket") socket_path = argv[i + 1];
    else if (k == "--status-fd") status_fd = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "keel-supervisor pod: unknown option %s\n", k.c_str());
      return 125;
    }
  }
  if (socket_path.empty()) {
    fprintf(stderr, "usage: keel-supervisor pod --socket PATH [--status-fd N]\n");
    return 125;
  }
  setsid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
    perror("keel-supervisor pod: prctl(PR_SET_CHILD_SUBREAPER)");
    return 125;
  }
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  // Hold no directory busy and no terminal open: the supervisor outlives whoever started it.
  if (chdir("/") < 0) return 125;
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2);
    if (devnull > 2) close(devnull);
  }
  Server server;
  return server.run(socket_path, status_fd);
}

}  // namespace keel
