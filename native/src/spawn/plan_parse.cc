// JavaScript plan object → Plan. Argument shapes are checked in TypeScript (native/index.ts);
// here a wrong type is a TypeError naming the field.
#include "spawn/plan_parse.h"

#include <fcntl.h>
#include <unistd.h>

#include "errors.h"

namespace keel {

Plan::~Plan() {
  for (int fd : owned_fds)
    if (fd >= 0) ::close(fd);
}

namespace {

struct Reader {
  Napi::Env env;
  std::string error;

  bool fail(const std::string& field, const char* want) {
    if (error.empty()) error = "spawn plan: " + field + " must be " + want;
    return false;
  }
  bool has(Napi::Object o, const char* k) {
    if (!o.Has(k)) return false;
    Napi::Value v = o.Get(k);
    return !v.IsUndefined() && !v.IsNull();
  }
  std::string str(Napi::Object o, const char* k, const std::string& def = "") {
    if (!has(o, k)) return def;
    Napi::Value v = o.Get(k);
    if (!v.IsString()) return fail(k, "a string"), def;
    return v.As<Napi::String>().Utf8Value();
  }
  double num(Napi::Object o, const char* k, double def = 0) {
    if (!has(o, k)) return def;
    Napi::Value v = o.Get(k);
    if (!v.IsNumber()) return fail(k, "a number"), def;
    return v.As<Napi::Number>().DoubleValue();
  }
  uint64_t big(Napi::Object o, const char* k, uint64_t def = 0) {
    if (!has(o, k)) return def;
    Napi::Value v = o.Get(k);
    if (v.IsNumber()) return (uint64_t)v.As<Napi::Number>().Int64Value();
    if (!v.IsBigInt()) return fail(k, "a bigint"), def;
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  bool flag(Napi::Object o, const char* k) {
    if (!has(o, k)) return false;
    return o.Get(k).ToBoolean().Value();
  }
  Napi::Array arr(Napi::Object o, const char* k) {
    if (!has(o, k)) return Napi::Array::New(env, 0);
    Napi::Value v = o.Get(k);
    if (!v.IsArray()) return fail(k, "an array"), Napi::Array::New(env, 0);
    return v.As<Napi::Array>();
  }
  Napi::Object obj(Napi::Value v, const std::string& field) {
    if (!v.IsObject()) fail(field, "an object");
    return v.IsObject() ? v.As<Napi::Object>() : Napi::Object::New(env);
  }
};

char* const* string_vector(Plan& plan, Reader& r, Napi::Array a, const char* field) {
  auto** out = plan.array<char*>(a.Length() + 1);
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString()) {
      r.fail(field, "an array of strings");
      break;
    }
    out[i] = const_cast<char*>(plan.keep(v.As<Napi::String>().Utf8Value()));
  }
  out[a.Length()] = nullptr;
  return out;
}

}  // namespace

std::unique_ptr<Plan> parse_plan(Napi::Object o, std::string& error) {
  auto plan = std::make_unique<Plan>();
  Plan& P = *plan;
  ChildPlan& c = P.child;
  Reader r{o.Env(), ""};

  P.mode = r.str(o, "mode", "fork");
  c.clone_flags = (unsigned long)r.num(o, "cloneFlags");
  c.new_cgroupns = r.flag(o, "newCgroupNs");
  P.uid_map = r.str(o, "uidMap");
  P.gid_map = r.str(o, "gidMap");
  P.setgroups_deny = r.flag(o, "setgroupsDeny");
  P.pidns_path = r.str(o, "pidNsPath");
  P.cgroup_dir = r.str(o, "cgroupDir");
  P.start_path = r.str(o, "startFifo");
  P.console_socket = r.str(o, "consoleSocket");
  c.console_fd = -1;
  c.console_rows = (unsigned short)r.num(o, "consoleRows");
  c.console_cols = (unsigned short)r.num(o, "consoleCols");

  Napi::Array cg = r.arr(o, "cgroupProcs");
  for (uint32_t i = 0; i < cg.Length(); i++) P.cgroup_procs.push_back(cg.Get(i).ToString().Utf8Value());

  Napi::Array join = r.arr(o, "joinNamespaces");
  c.join = P.array<PlanNs>(join.Length());
  c.join_count = (int)join.Length();
  for (uint32_t i = 0; i < join.Length(); i++) {
    Napi::Object j = r.obj(join.Get(i), "joinNamespaces[]");
    c.join[i].path = P.keep(r.str(j, "path"));
    c.join[i].nstype = (int)r.num(j, "type");
    c.join[i].fd = -1;
  }

  c.setsid = r.flag(o, "setsid");
  if (r.has(o, "hostname")) c.hostname = P.keep(r.str(o, "hostname"));
  if (r.has(o, "domainname")) c.domainname = P.keep(r.str(o, "domainname"));
  Napi::Array sysctls = r.arr(o, "sysctls");
  c.sysctls = P.array<PlanSysctl>(sysctls.Length());
  c.sysctl_count = (int)sysctls.Length();
  for (uint32_t i = 0; i < sysctls.Length(); i++) {
    Napi::Object s = r.obj(sysctls.Get(i), "sysctls[]");
    c.sysctls[i].path = P.keep(r.str(s, "path"));
    c.sysctls[i].value = P.keep(r.str(s, "value"));
  }

  if (r.has(o, "rootfs")) c.rootfs = P.keep(r.str(o, "rootfs"));
  c.root_propagation = (unsigned long)r.num(o, "rootPropagation");
  c.rootfs_propagation = (unsigned long)r.num(o, "rootfsPropagation");
  c.no_pivot = r.flag(o, "noPivot");
  c.readonly_rootfs = r.flag(o, "readonlyRootfs");

  Napi::Array mounts = r.arr(o, "mounts");
  c.mounts = P.array<PlanMount>(mounts.Length());
  c.mount_count = (int)mounts.Length();
  for (uint32_t i = 0; i < mounts.Length(); i++) {
    Napi::Object m = r.obj(mounts.Get(i), "mounts[]");
    PlanMount& pm = c.mounts[i];
    pm.source = r.has(m, "source") ? P.keep(r.str(m, "source")) : nullptr;
    pm.target = P.keep(r.str(m, "target"));
    pm.fstype = r.has(m, "fstype") ? P.keep(r.str(m, "fstype")) : nullptr;
    pm.data = r.has(m, "data") ? P.keep(r.str(m, "data")) : nullptr;
    pm.flags = (unsigned long)r.num(m, "flags");
    pm.bind = r.flag(m, "bind");
    pm.file = r.flag(m, "file");
    Napi::Array prop = r.arr(m, "propagation");
    pm.propagation_count = (int)std::min<uint32_t>(prop.Length(), 4);
    for (int k = 0; k < pm.propagation_count; k++) pm.propagation[k] = (unsigned long)prop.Get(k).ToNumber().Int64Value();
  }

  Napi::Array devices = r.arr(o, "devices");
  c.devices = P.array<PlanDevice>(devices.Length());
  c.device_count = (int)devices.Length();
  for (uint32_t i = 0; i < devices.Length(); i++) {
    Napi::Object d = r.obj(devices.Get(i), "devices[]");
    PlanDevice& pd = c.devices[i];
    pd.path = P.keep(r.str(d, "path"));
    pd.mode = (uint32_t)r.num(d, "mode");
    pd.major = (uint32_t)r.num(d, "major");
    pd.minor = (uint32_t)r.num(d, "minor");
    pd.uid = (uint32_t)r.num(d, "uid");
    pd.gid = (uint32_t)r.num(d, "gid");
    pd.bind = r.flag(d, "bind");
  }
  Napi::Array links = r.arr(o, "symlinks");
  c.symlinks = P.array<PlanSymlink>(links.Length());
  c.symlink_count = (int)links.Length();
  for (uint32_t i = 0; i < links.Length(); i++) {
    Napi::Object l = r.obj(links.Get(i), "symlinks[]");
    c.symlinks[i].target = P.keep(r.str(l, "target"));
    c.symlinks[i].linkpath = P.keep(r.str(l, "linkpath"));
  }
  Napi::Array masked = r.arr(o, "maskedPaths");
  c.masked = const_cast<const char**>(reinterpret_cast<char* const*>(string_vector(P, r, masked, "maskedPaths")));
  c.masked_count = (int)masked.Length();
  Napi::Array ro = r.arr(o, "readonlyPaths");
  c.readonly = const_cast<const char**>(reinterpret_cast<char* const*>(string_vector(P, r, ro, "readonlyPaths")));
  c.readonly_count = (int)ro.Length();

  Napi::Array rl = r.arr(o, "rlimits");
  c.rlimits = P.array<PlanRlimit>(rl.Length());
  c.rlimit_count = (int)rl.Length();
  for (uint32_t i = 0; i < rl.Length(); i++) {
    Napi::Object l = r.obj(rl.Get(i), "rlimits[]");
    c.rlimits[i].resource = (int)r.num(l, "resource");
    c.rlimits[i].soft = r.big(l, "soft");
    c.rlimits[i].hard = r.big(l, "hard");
  }
  if (r.has(o, "oomScoreAdj")) c.oom_score_adj = P.keep(std::to_string((int)r.num(o, "oomScoreAdj")));

  Napi::Array stdio = r.arr(o, "stdio");
  for (int i = 0; i < 3; i++) c.stdio[i] = i < (int)stdio.Length() ? (int)stdio.Get(i).ToNumber().Int32Value() : -1;
  c.preserve_fds = (int)r.num(o, "preserveFds");

  c.set_caps = r.has(o, "capabilities");
  if (c.set_caps) {
    Napi::Object caps = r.obj(o.Get("capabilities"), "capabilities");
    c.cap_bounding = r.big(caps, "bounding");
    c.cap_effective = r.big(caps, "effective");
    c.cap_permitted = r.big(caps, "permitted");
    c.cap_inheritable = r.big(caps, "inheritable");
    c.cap_ambient = r.big(caps, "ambient");
  }
  c.cap_last = (int)r.num(o, "capLast", 40);
  c.no_new_privs = r.flag(o, "noNewPrivileges");
  if (r.has(o, "seccomp")) {
    Napi::Object s = r.obj(o.Get("seccomp"), "seccomp");
    Napi::Value f = s.Get("filter");
    if (!f.IsBuffer()) {
      r.fail("seccomp.filter", "a Buffer of struct sock_filter");
    } else {
      auto buf = f.As<Napi::Buffer<uint8_t>>();
      uint8_t* bytes = P.array<uint8_t>(buf.Length());
      memcpy(bytes, buf.Data(), buf.Length());
      c.seccomp = bytes;
      c.seccomp_len = (uint32_t)(buf.Length() / 8);
      c.seccomp_flags = (uint32_t)r.num(s, "flags");
      // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before the drop.
      c.seccomp_early = !c.no_new_privs;
    }
  }
  c.set_user = r.has(o, "user");
  if (c.set_user) {
    Napi::Object u = r.obj(o.Get("user"), "user");
    c.uid = (uint32_t)r.num(u, "uid");
    c.gid = (uint32_t)r.num(u, "gid");
    Napi::Array g = r.arr(u, "groups");
    c.groups = P.array<uint32_t>(g.Length());
    c.group_count = (int)g.Length();
    for (uint32_t i = 0; i < g.Length(); i++) c.groups[i] = g.Get(i).ToNumber().Uint32Value();
  }
  c.umask = (int)r.num(o, "umask", -1);
  if (r.has(o, "cwd")) c.cwd = P.keep(r.str(o, "cwd"));
  Napi::Array args = r.arr(o, "args");
  if (args.Length() == 0) r.fail("args", "a non-empty array of strings");
  c.argv = string_vector(P, r, args, "args");
  Napi::Array env = r.arr(o, "env");
  c.envp = string_vector(P, r, env, "env");
  c.path_env = nullptr;
  for (uint32_t i = 0; c.envp[i]; i++)
    if (strncmp(c.envp[i], "PATH=", 5) == 0) c.path_env = c.envp[i] + 5;
  c.start_fd = c.report_fd = c.sync_fd = -1;

  error = r.error;
  return plan;
}

}  // namespace keel
