// The parent's half of the child protocol, without Node: open what the child needs, clone
// (clone3 in "fork" mode; clone with CLONE_VM on a private stack in "vm" mode), write uid/gid
// maps and join cgroups, release the child, and read its report until READY. The addon runs
// this on a libuv worker thread; keel-supervisor runs it in its own loop.
#pragma once
#include <stdint.h>

#include "fd.h"
#include "spawn/plan.h"
#include "sys_error.h"

namespace keel {

struct SpawnedChild {
  int pid = -1;
  int pidfd = -1;
  // The report pipe: EOF once execve succeeded (close-on-exec), a ChildReport if it failed.
  UniqueFd report;
  // vm mode: the child's stack, which it runs on until execve (free with free_child_stack).
  void* stack = nullptr;
};

// On failure returns false with err set; a child that was made is killed and reaped.
// The plan must stay alive until `report` reaches EOF or a report (the child reads it).
bool spawn_child(Plan& plan, SpawnedChild& out, SysError& err);
void free_child_stack(void* stack);
const char* step_name(int32_t step);
// A ChildReport read from the report pipe → err.
void report_to_error(const ChildReport& r, SysError& err);

}  // namespace keel
