// The spawn plan's serialized form → Plan. Both the addon (native/index.ts serializes the plan
// TypeScript built) and keel-supervisor (which receives it over its pod socket) parse this one
// form, so a plan means the same thing whoever clones the child.
//
// The form is JSON with SpawnPlan's field names (native/index.ts); 64-bit values (capability
// masks, rlimits) may be decimal strings, and seccomp.filter is the BPF program in hex.
#pragma once
#include <memory>
#include <string>

#include "spawn/plan.h"

namespace keel {
// On a malformed plan, error is set (a message naming the field) and the plan must not be used.
std::unique_ptr<Plan> parse_plan(const std::string& json, std::string& error);
}  // namespace keel
