// A failed system call, as both the addon and keel-supervisor report it: a positive errno, the
// call, the path it acted on, and for spawn the container set-up step. No N-API here: the
// supervisor links the spawn code without Node.
#pragma once
#include <string>

namespace keel {

struct SysError {
  int err = 0;  // positive errno
  std::string syscall;
  std::string path;
  std::string step;  // empty outside spawn
  std::string message;  // optional extra words
};

}  // namespace keel
