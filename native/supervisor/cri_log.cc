#include "cri_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace keel {

std::string now_rfc3339() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
  return buf;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = write(fd, s.data() + off, s.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += (size_t)w;
  }
}

void log_lines(int log, LogStream& s, bool flush) {
  size_t start = 0;
  for (;;) {
    size_t nl = s.pending.find('\n', start);
    if (nl == std::string::npos) break;
    write_all(log, now_rfc3339() + " " + s.name + " F " + s.pending.substr(start, nl - start) + "\n");
    start = nl + 1;
  }
  s.pending.erase(0, start);
  // Long partial lines are written as P records (CRI's partial tag), as kubelet's runtimes do.
  if (!s.pending.empty() && (flush || s.pending.size() >= 16384)) {
    write_all(log, now_rfc3339() + " " + s.name + " P " + s.pending + "\n");
    s.pending.clear();
  }
}

bool pump(int log, LogStream& s) {
  char buf[16384];
  ssize_t n = read(s.fd, buf, sizeof buf);
  if (n > 0) {
    s.pending.append(buf, (size_t)n);
    log_lines(log, s, false);
    return true;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  log_lines(log, s, true);
  close(s.fd);
  s.fd = -1;
  s.pending.shrink_to_fit();
  return false;
}

void write_exit_file(const std::string& path, int status) {
  std::string json = "{\"exitCode\":";
  json += WIFEXITED(status) ? std::to_string(WEXITSTATUS(status)) : "null";
  json += ",\"signal\":";
  json += WIFSIGNALED(status) ? std::to_string(WTERMSIG(status)) : "null";
  json += ",\"finishedAt\":\"" + now_rfc3339() + "\"}\n";
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_all(fd, json);
  fsync(fd);
  close(fd);
  rename(tmp.c_str(), path.c_str());
}

}  // namespace keel
