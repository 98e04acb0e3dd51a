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

// While netBatch builds a batch, the bindings' work is gathered here instead of being queued.
std::vector<std::pair<std::string, NetWork>>* capturing = nullptr;

Napi::Object to_object(Napi::Env env, const NetRec& r) {
  Napi::Object o = Napi::Object::New(env);
  for (const NetField& f : r.fields) {
    if (f.type == NetField::Str) o.Set(f.key, f.s);
    else if (f.type == NetField::Num) o.Set(f.key, f.n);
    else o.Set(f.key, f.b);
  }
  return o;
}

Napi::Value to_value(Napi::Env env, const NetOut& out) {
  switch (out.kind) {
    case NetOut::Undefined: return env.Undefined();
    case NetOut::Null: return env.Null();
    case NetOut::Text: return Napi::String::New(env, out.text);
    case NetOut::One: return out.recs.empty() ? env.Null() : Napi::Value(to_object(env, out.recs[0]));
    case NetOut::Many: {
      Napi::Array a = Napi::Array::New(env, out.recs.size());
      for (size_t i = 0; i < out.recs.size(); i++) a.Set(i, to_object(env, out.recs[i]));
      return a;
    }
  }
  return env.Undefined();
}

Napi::Value to_error(Napi::Env env, NetError err, const std::string& ns) {
  err.sys.path = ns;
  SysError e = err.sys;
  e.message = err.object;
  if (!err.detail.empty()) e.message += (e.message.empty() ? "" : ": ") + err.detail;
  Napi::Value v = make_error(env, e);
  if (v.IsObject()) {
    Napi::Object o = v.As<Napi::Object>();
    o.Set("object", err.object);
    if (!err.detail.empty()) o.Set("detail", err.detail);
    if (!ns.empty()) o.Set("netns", ns);
  }
  return v;
}

// The pool thread itself enters each namespace and comes back: a fresh thread per call cost
// ~0.6 ms in the Node process (a new stack in a large address space) against microseconds for two
// setns. Coming back cannot fail short of a kernel bug (we hold an fd of our own namespace); if it
// did, this pool thread would go on in the wrong namespace (and so would the DNS look-ups libuv
// runs on it), so the process stops instead.
class NsSwitch {
 public:
  // Enters ns ("" = our own); false with err filled when it cannot.
  bool enter(const std::string& ns, NetError& err) {
    if (ns == current_) return true;
    if (!home_.valid()) {
      home_ = UniqueFd(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      if (!home_.valid()) return err.fail(errno, "open", "own network namespace");
    }
    if (ns.empty()) {
      back();
      return true;
    }
    UniqueFd fd(open(ns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return err.fail(errno, "open", "network namespace");
    if (setns(fd.get(), CLONE_NEWNET) < 0) return err.fail(errno, "setns", "network namespace");
    current_ = ns;
    return true;
  }
  void back() {
    if (current_.empty()) return;
    if (setns(home_.get(), CLONE_NEWNET) < 0) {
      fprintf(stderr, "keel: cannot return a worker thread to its network namespace (setns: %s)\n", strerror(errno));
      abort();
    }
    current_.clear();
  }
  ~NsSwitch() { back(); }

 private:
  UniqueFd home_;
  std::string current_;
};

// One or more steps, in order, as one pool job; the first failure stops the rest.
class NetWorker : public Napi::AsyncWorker {
 public:
  NetWorker(Napi::Env env, std::vector<std::pair<std::string, NetWork>> steps, bool batch)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), steps_(std::move(steps)), batch_(batch) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    NsSwitch sw;
    outs_.resize(steps_.size());
    for (size_t i = 0; i < steps_.size(); i++) {
      if (!sw.enter(steps_[i].first, err_) || !steps_[i].second(outs_[i], err_)) {
        failed_ = i;
        return;
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failed_ >= 0) {
      Napi::Value e = to_error(env, err_, steps_[failed_].first);
      if (batch_ && e.IsObject()) e.As<Napi::Object>().Set("batchStep", Napi::Number::New(env, (double)failed_));
      deferred_.Reject(e);
      return;
    }
    if (!batch_) {
      deferred_.Resolve(to_value(env, outs_[0]));
      return;
    }
    Napi::Array a = Napi::Array::New(env, outs_.size());
    for (size_t i = 0; i < outs_.size(); i++) a.Set(i, to_value(env, outs_[i]));
    deferred_.Resolve(a);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<std::pair<std::string, NetWork>> steps_;
  bool batch_;
  std::vector<NetOut> outs_;
  NetError err_;
  long failed_ = -1;
};

}  // namespace

Napi::Value queue_net_work(Napi::Env env, std::string netns_path, NetWork work) {
  if (capturing) {
    capturing->emplace_back(std::move(netns_path), std::move(work));
    return env.Undefined();
  }
  std::vector<std::pair<std::string, NetWork>> steps;
  steps.emplace_back(std::move(netns_path), std::move(work));
  auto* w = new NetWorker(env, std::move(steps), false);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// netBatch(build): build() calls the addon's network functions (netLink*, netAddr*, netRoute*,
// ...); rather than each being queued on its own, they are run in that order as one pool job
// (entering each call's namespace in turn), and the promise resolves with their results in order.
// The first failure rejects with that call's error plus `batchStep`, its index; later calls do not
// run. A pod's whole veth set-up costs one trip through libuv's pool instead of one per call.
Napi::Value net_batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) return throw_type(env, "netBatch(build): build must be a function");
  if (capturing) return throw_type(env, "netBatch: batches do not nest");
  std::vector<std::pair<std::string, NetWork>> steps;
  capturing = &steps;
  info[0].As<Napi::Function>().Call({});
  capturing = nullptr;
  if (env.IsExceptionPending()) return env.Undefined();
  auto* w = new NetWorker(env, std::move(steps), true);
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
