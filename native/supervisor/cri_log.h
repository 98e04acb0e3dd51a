// What a supervisor writes: container output in the CRI log format kubelet uses
// ("<RFC3339Nano> stdout|stderr F|P <text>"), and the exit record
// ({"exitCode":N|null,"signal":S|null,"finishedAt":"..."}, written atomically).
#pragma once
#include <string>

namespace keel {

std::string now_rfc3339();
void write_all(int fd, const std::string& s);

// One output stream of a container: split into lines, full lines tagged F, a flushed partial P.
struct LogStream {
  int fd = -1;  // the pipe's read end; -1 once closed
  const char* name = "stdout";
  std::string pending;
};

// Writes the complete lines of s.pending to log (and, with flush or a long line, the rest).
void log_lines(int log, LogStream& s, bool flush);
// Reads what is there; at EOF (or an error) flushes and closes. Returns false once closed.
bool pump(int log, LogStream& s);

// status as waitpid reports it.
void write_exit_file(const std::string& path, int status);

}  // namespace keel
