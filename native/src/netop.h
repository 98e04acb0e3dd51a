// One network operation run off the event loop, inside a given network namespace: the addon's
// netlink (netlink.cc) and nftables (nft.cc) calls share it. The work runs on a libuv pool
// thread that setns()es into the namespace (setns(CLONE_NEWNET) changes only the calling thread)
// and back afterwards; with no namespace it runs there in this process's own. The work fills a plain C++ result (no N-API off the main thread) that is
// turned into JavaScript values when the promise settles.
#pragma once
#include <napi.h>

#include <functional>
#include <string>
#include <vector>

#include "sys_error.h"

namespace keel {

struct NetField {
  enum Type { Str, Num, Bool } type;
  std::string key;
  std::string s;
  double n = 0;
  bool b = false;
};

// One record (a link, an address, a route ...): becomes a plain object.
struct NetRec {
  std::vector<NetField> fields;
  void str(const char* k, std::string v) { fields.push_back({NetField::Str, k, std::move(v), 0, false}); }
  void num(const char* k, double v) { fields.push_back({NetField::Num, k, "", v, false}); }
  void boolean(const char* k, bool v) { fields.push_back({NetField::Bool, k, "", 0, v}); }
};

struct NetOut {
  enum Kind { Undefined, Null, One, Many, Text } kind = Undefined;
  std::vector<NetRec> recs;
  std::string text;
};

// What failed: errno, the operation (netlink message type or "nft"), the namespace (in
// SysError.path), the object acted on ("link keel0", "route default"), and the kernel's or
// nft's own words when it gave some.
struct NetError {
  SysError sys;
  std::string object;
  std::string detail;
  bool fail(int err, const char* op, std::string obj, std::string det = "") {
    sys.err = err;
    sys.syscall = op;
    object = std::move(obj);
    detail = std::move(det);
    return false;
  }
};

// Returns false with err filled on failure.
using NetWork = std::function<bool(NetOut&, NetError&)>;

// Queues work for netns_path ("" = this process's namespace) and returns its promise.
Napi::Value queue_net_work(Napi::Env env, std::string netns_path, NetWork work);

// netBatch(build): the network calls build() makes, run in order as one pool job.
Napi::Value net_batch(const Napi::CallbackInfo& info);

// Argument helpers shared by the bindings: a netns argument is a path string, null or undefined.
bool netns_arg(const Napi::CallbackInfo& info, size_t i, std::string& out);

}  // namespace keel
