#pragma once
#include "spawn/plan.h"

namespace keel {
// Entry point of the cloned child; arg is a const ChildPlan*. Never returns.
int child_main(void* arg);
}  // namespace keel
