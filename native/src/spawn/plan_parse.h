#pragma once
#include <napi.h>

#include "spawn/plan.h"

namespace keel {
// On a malformed plan, error is set (a message naming the field) and the plan must not be used.
std::unique_ptr<Plan> parse_plan(Napi::Object o, std::string& error);
}  // namespace keel
