#include "netop.h"

#include <fcntl.h>
#include <sched.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fd.h"

namespace keel {
namespace {

class NetWorker : public Napi::AsyncWorker {
 public:
  NetWorker(Napi::Env env, std::string ns, NetWork work)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), ns_(std::move(ns)), work_(std::move(work)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    err_.sys.path = ns_;
    if (ns_.empty()) {
      ok_ = work_(out_, err_);
      return;
    }
    UniqueFd fd(open(ns_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      ok_ = err_.fail(errno, "open", "network namespace");
      return;
    }
    // The pool thread itself enters the namespace and comes back: a fresh thread per call cost
    // ~0.6 ms in the Node process (a new stack in a large address space) against microseconds
    // for two setns. Coming back cannot fail short of a kernel bug (we hold an fd of our own
    // namespace); if it did, this pool thread would go on in the wrong namespace (and so would
    // the DNS look-ups libuv runs on it), so the process stops instead.
    UniqueFd home(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!home.valid()) {
      ok_ = err_.fail(errno, "open", "own network namespace");
      return;
    }
    if (setns(fd.get(), CLONE_NEWNET) < 0) {
      ok_ = err_.fail(errno, "setns", "network namespace");
      return;
    }
    ok_ = work_(out_, err_);
    if (setns(home.get(), CLONE_NEWNET) < 0) {
      fprintf(stderr, "keel: cannot return a worker thread to its network namespace (setns: %s)\n", strerror(errno));
      abort();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!ok_) {
      err_.sys.path = ns_;
      SysError e = err_.sys;
      e.message = err_.object;
      if (!err_.detail.empty()) e.message += (e.message.empty() ? "" : ": ") + err_.detail;
      Napi::Value v = make_error(env, e);
      if (v.IsObject()) {
        Napi::Object o = v.As<Napi::Object>();
        o.Set("object", err_.object);
        if (!err_.detail.empty()) o.Set("detail", err_.detail);
        if (!ns_.empty()) o.Set("netns", ns_);
      }
      deferred_.Reject(v);
      return;
    }
    switch (out_.kind) {
      case NetOut::Undefined: deferred_.Resolve(env.Undefined()); break;
      case NetOut::Null: deferred_.Resolve(env.Null()); break;
      case NetOut::Text: deferred_.Resolve(Napi::String::New(env, out_.text)); break;
      case NetOut::One: deferred_.Resolve(out_.recs.empty() ? env.Null() : to_object(env, out_.recs[0])); break;
      case NetOut::Many: {
        Napi::Array a = Napi::Array::New(env, out_.recs.size());
        for (size_t i = 0; i < out_.recs.size(); i++) a.Set(i, to_object(env, out_.recs[i]));
        deferred_.Resolve(a);
        break;
      }
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  static Napi::Object to_object(Napi::Env env, const NetRec& r) {
    Napi::Object o = Napi::Object::New(env);
    for (const NetField& f : r.fields) {
      if (f.type == NetField::Str) o.Set(f.key, f.s);
      else if (f.type == NetField::Num) o.Set(f.key, f.n);
      else o.Set(f.key, f.b);
    }
    return o;
  }

  Napi::Promise::Deferred deferred_;
  std::string ns_;
  NetWork work_;
  NetOut out_;
  NetError err_;
  bool ok_ = false;
};

}  // namespace

Napi::Value queue_net_work(Napi::Env env, std::string netns_path, NetWork work) {
  auto* w = new NetWorker(env, std::move(netns_path), std::move(work));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

bool netns_arg(const Napi::CallbackInfo& info, size_t i, std::string& out) {
  if (info[i].IsUndefined() || info[i].IsNull()) {
    out.clear();
    return true;
  }
  if (!info[i].IsString()) return false;
  out = info[i].As<Napi::String>().Utf8Value();
  return !out.empty();
}

}  // namespace keel
