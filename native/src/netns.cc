// Work inside another network namespace without a helper process: a short-lived thread enters
// it (setns changes only the calling thread's namespace) and does its one thing there
// (DESIGN.md: one process, sockets in several network namespaces). Bringing a pod's `lo` up this
// way costs microseconds where `nsenter ip link set lo up` cost a fork and two execs.
#include "netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "errors.h"
#include "fd.h"

namespace keel {

Napi::Value link_up(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString()) return throw_type(env, "linkUp(netnsPath, ifname): two strings");
  std::string ns_path = info[0].As<Napi::String>().Utf8Value();
  std::string ifname = info[1].As<Napi::String>().Utf8Value();
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return throw_type(env, "linkUp: ifname must be 1-15 bytes");
  UniqueFd ns(open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return throw_sys(env, errno, "open", ns_path);
  int err = 0;
  const char* call = "";
  std::thread t([&] {
    if (setns(ns.get(), CLONE_NEWNET) < 0) {
      err = errno, call = "setns";
      return;
    }
    UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) {
      err = errno, call = "socket";
      return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
    if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) {
      err = errno, call = "ioctl(SIOCGIFFLAGS)";
      return;
    }
    if (ifr.ifr_flags & IFF_UP) return;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) err = errno, call = "ioctl(SIOCSIFFLAGS)";
  });
  t.join();
  if (err) return throw_sys(env, err, call, ns_path);
  return env.Undefined();
}

// A socket's network namespace is the one its creator was in when it called socket(2), and it
// keeps it for life: made on a thread inside the pod's namespace, it connects (or listens) there
// from this process. The kubelet's httpGet and tcpSocket probes connect this way to a pod whose
// address only its node's namespace can reach, instead of running a helper under nsenter.
Napi::Value socket_in(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) return throw_type(env, "socketIn(netnsPath, family, type): a string and two numbers");
  std::string ns_path = info[0].As<Napi::String>().Utf8Value();
  int family = info[1].As<Napi::Number>().Int32Value();
  int type = info[2].As<Napi::Number>().Int32Value();
  UniqueFd ns(open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return throw_sys(env, errno, "open", ns_path);
  int err = 0, fd = -1;
  const char* call = "";
  std::thread t([&] {
    if (setns(ns.get(), CLONE_NEWNET) < 0) {
      err = errno, call = "setns";
      return;
    }
    fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) err = errno, call = "socket";
  });
  t.join();
  if (err) return throw_sys(env, err, call, ns_path);
  return Napi::Number::New(env, fd);
}

}  // namespace keel
