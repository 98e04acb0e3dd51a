// A socket in another network namespace without a helper process: a short-lived thread enters it
// (setns changes only the calling thread's namespace) and makes the socket there (DESIGN.md: one
// process, sockets in several network namespaces). Synchronous, unlike netop's pool jobs, so that
// a caller can wrap the fd at once. Netlink work goes through netop.cc.
#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "errors.h"
#include "fd.h"

namespace keel {

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
