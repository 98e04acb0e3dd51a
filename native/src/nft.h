// nftables scripts run inside a network namespace through libnftables (nft.cc).
#pragma once
#include <napi.h>

namespace keel {

// nftRun(netns, script) → Promise<string>: the script's output (`list ...` commands print).
Napi::Value nft_run(const Napi::CallbackInfo& info);

}  // namespace keel
