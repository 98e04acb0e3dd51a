#pragma once
#include <napi.h>

namespace keel {
// socketIn(netnsPath, family, type): a new, unconnected socket that belongs to another network
// namespace; its fd, close-on-exec and non-blocking.
Napi::Value socket_in(const Napi::CallbackInfo& info);
}  // namespace keel
