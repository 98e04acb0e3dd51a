// rtnetlink primitives run inside a network namespace (netlink.cc); each returns a Promise.
#pragma once
#include <napi.h>

namespace keel {

Napi::Value net_link_get(const Napi::CallbackInfo& info);
Napi::Value net_link_add_bridge(const Napi::CallbackInfo& info);
Napi::Value net_link_add_veth(const Napi::CallbackInfo& info);
Napi::Value net_link_add_vxlan(const Napi::CallbackInfo& info);
Napi::Value net_link_set(const Napi::CallbackInfo& info);
Napi::Value net_link_del(const Napi::CallbackInfo& info);
Napi::Value net_addr_replace(const Napi::CallbackInfo& info);
Napi::Value net_addr_list(const Napi::CallbackInfo& info);
Napi::Value net_route_replace(const Napi::CallbackInfo& info);
Napi::Value net_route_del(const Napi::CallbackInfo& info);
Napi::Value net_route_list(const Napi::CallbackInfo& info);
Napi::Value net_neigh_replace(const Napi::CallbackInfo& info);
Napi::Value net_neigh_del(const Napi::CallbackInfo& info);
Napi::Value net_neigh_list(const Napi::CallbackInfo& info);
Napi::Value net_fdb_replace(const Napi::CallbackInfo& info);
Napi::Value net_fdb_del(const Napi::CallbackInfo& info);
Napi::Value net_fdb_list(const Napi::CallbackInfo& info);
Napi::Value net_sysctl_read(const Napi::CallbackInfo& info);
Napi::Value net_sysctl_write(const Napi::CallbackInfo& info);

}  // namespace keel
