#pragma once
#include <napi.h>

namespace keel {
// linkUp(netnsPath, ifname): sets IFF_UP on an interface inside another network namespace.
Napi::Value link_up(const Napi::CallbackInfo& info);
}  // namespace keel
