// The export table of keel's native addon. Nothing else lives here.
#include <napi.h>

#include "errors.h"
#include "fsops.h"
#include "process.h"
#include "netlink.h"
#include "netns.h"
#include "netop.h"
#include "nft.h"
#include "spawn/spawn.h"
#include "tty.h"

namespace keel {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New(env, set_error_class));
  exports.Set("spawn", Napi::Function::New(env, spawn));
  exports.Set("execUnref", Napi::Function::New(env, exec_unref));
  exports.Set("waitPidfd", Napi::Function::New(env, wait_pidfd));
  exports.Set("pidfdOpen", Napi::Function::New(env, pidfd_open));
  exports.Set("pidfdSignal", Napi::Function::New(env, pidfd_signal));
  exports.Set("pidfdPoll", Napi::Function::New(env, pidfd_poll));
  exports.Set("spawnDaemon", Napi::Function::New(env, spawn_daemon));
  exports.Set("mount", Napi::Function::New(env, mount_));
  exports.Set("umount2", Napi::Function::New(env, umount2_));
  exports.Set("mkfifo", Napi::Function::New(env, mkfifo_));
  exports.Set("mknod", Napi::Function::New(env, mknod_));
  exports.Set("pipe", Napi::Function::New(env, pipe_));
  exports.Set("openat2", Napi::Function::New(env, openat2_));
  exports.Set("socketIn", Napi::Function::New(env, socket_in));
  // pod networking in a network namespace, off the event loop (netlink.cc, nft.cc)
  exports.Set("netBatch", Napi::Function::New(env, net_batch));
  exports.Set("netLinkGet", Napi::Function::New(env, net_link_get));
  exports.Set("netLinkAddBridge", Napi::Function::New(env, net_link_add_bridge));
  exports.Set("netLinkAddVeth", Napi::Function::New(env, net_link_add_veth));
  exports.Set("netLinkAddVxlan", Napi::Function::New(env, net_link_add_vxlan));
  exports.Set("netLinkSet", Napi::Function::New(env, net_link_set));
  exports.Set("netLinkDel", Napi::Function::New(env, net_link_del));
  exports.Set("netAddrReplace", Napi::Function::New(env, net_addr_replace));
  exports.Set("netAddrList", Napi::Function::New(env, net_addr_list));
  exports.Set("netRouteReplace", Napi::Function::New(env, net_route_replace));
  exports.Set("netRouteDel", Napi::Function::New(env, net_route_del));
  exports.Set("netRouteList", Napi::Function::New(env, net_route_list));
  exports.Set("netNeighReplace", Napi::Function::New(env, net_neigh_replace));
  exports.Set("netNeighDel", Napi::Function::New(env, net_neigh_del));
  exports.Set("netNeighList", Napi::Function::New(env, net_neigh_list));
  exports.Set("netFdbReplace", Napi::Function::New(env, net_fdb_replace));
  exports.Set("netFdbDel", Napi::Function::New(env, net_fdb_del));
  exports.Set("netFdbList", Napi::Function::New(env, net_fdb_list));
  exports.Set("netSysctlRead", Napi::Function::New(env, net_sysctl_read));
  exports.Set("netSysctlWrite", Napi::Function::New(env, net_sysctl_write));
  exports.Set("nftRun", Napi::Function::New(env, nft_run));
  exports.Set("recvFd", Napi::Function::New(env, recv_fd));
  exports.Set("setWinsize", Napi::Function::New(env, set_winsize));
  return exports;
}

}  // namespace keel

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return keel::init(env, exports); }
NODE_API_MODULE(keel_native, Init)
