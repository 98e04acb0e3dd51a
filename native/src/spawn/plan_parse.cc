// The serialized spawn plan → Plan (see plan_parse.h). Argument shapes are checked in TypeScript
// (native/index.ts); here a wrong type is an error naming the field. Built without exceptions:
// every value's type is checked before it is read (nlohmann's get<> would abort otherwise).
#include "spawn/plan_parse.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace keel {

Plan::~Plan() {
  for (int fd : owned_fds)
    if (fd >= 0) ::close(fd);
}

namespace {

using json = nlohmann::json;

struct Reader {
  std::string error;
  const json empty_array = json::array();
  const json empty_object = json::object();

  bool fail(const std::string& field, const char* want) {
    if (error.empty()) error = "spawn plan: " + field + " must be " + want;
    return false;
  }
  const json* get(const json& o, const char* k) {
    auto it = o.find(k);
    if (it == o.end() || it->is_null()) return nullptr;
    return &*it;
  }
  bool has(const json& o, const char* k) { return get(o, k) != nullptr; }
  std::string str(const json& o, const char* k, const std::string& def = "") {
    const json* v = get(o, k);
    if (!v) return def;
    if (!v->is_string()) return fail(k, "a string"), def;
    return v->get_ref<const std::string&>();
  }
  double num(const json& o, const char* k, double def = 0) {
    const json* v = get(o, k);
    if (!v) return def;
    if (!v->is_number()) return fail(k, "a number"), def;
    return v->get<double>();
  }
  uint64_t big(const json& o, const char* k, uint64_t def = 0) {
    const json* v = get(o, k);
    if (!v) return def;
    if (v->is_number_unsigned()) return v->get<uint64_t>();
    if (v->is_number_integer()) return (uint64_t)v->get<int64_t>();
    if (v->is_number_float()) return (uint64_t)v->get<double>();
    if (v->is_string()) {
      const std::string& s = v->get_ref<const std::string&>();
      char* end = nullptr;
      errno = 0;
      uint64_t n = strtoull(s.c_str(), &end, 10);
      if (!s.empty() && *end == 0 && errno == 0) return n;
    }
    return fail(k, "a bigint"), def;
  }
  bool flag(const json& o, const char* k) {
    const json* v = get(o, k);
    if (!v) return false;
    if (v->is_boolean()) return v->get<bool>();
    if (v->is_number()) return v->get<double>() != 0;
    if (v->is_string()) return !v->get_ref<const std::string&>().empty();
    return true;
  }
  const json& arr(const json& o, const char* k) {
    const json* v = get(o, k);
    if (!v) return empty_array;
    if (!v->is_array()) return fail(k, "an array"), empty_array;
    return *v;
  }
  const json& obj(const json& v, const std::string& field) {
    if (!v.is_object()) return fail(field, "an object"), empty_object;
    return v;
  }
  double item_num(const json& v, const char* field) {
    if (!v.is_number()) return fail(field, "an array of numbers"), 0;
    return v.get<double>();
  }
};

char* const* string_vector(Plan& plan, Reader& r, const json& a, const char* field) {
  auto** out = plan.array<char*>(a.size() + 1);
  for (size_t i = 0; i < a.size(); i++) {
    if (!a[i].is_string()) {
      r.fail(field, "an array of strings");
      out[i] = const_cast<char*>(plan.keep(""));
      continue;
    }
    out[i] = const_cast<char*>(plan.keep(a[i].get_ref<const std::string&>()));
  }
  out[a.size()] = nullptr;
  return out;
}

int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

}  // namespace

std::unique_ptr<Plan> parse_plan(const std::string& text, std::string& error) {
  auto plan = std::make_unique<Plan>();
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "spawn plan: not a JSON object";
    return plan;
  }
  const json& o = doc;
  Plan& P = *plan;
  ChildPlan& c = P.child;
  Reader r;

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

  for (const json& v : r.arr(o, "cgroupProcs")) {
    if (!v.is_string()) r.fail("cgroupProcs", "an array of strings");
    else P.cgroup_procs.push_back(v.get_ref<const std::string&>());
  }

  const json& join = r.arr(o, "joinNamespaces");
  c.join = P.array<PlanNs>(join.size());
  c.join_count = (int)join.size();
  for (size_t i = 0; i < join.size(); i++) {
    const json& j = r.obj(join[i], "joinNamespaces[]");
    c.join[i].path = P.keep(r.str(j, "path"));
    c.join[i].nstype = (int)r.num(j, "type");
    c.join[i].fd = -1;
  }

  c.setsid = r.flag(o, "setsid");
  if (r.has(o, "hostname")) c.hostname = P.keep(r.str(o, "hostname"));
  if (r.has(o, "domainname")) c.domainname = P.keep(r.str(o, "domainname"));
  const json& sysctls = r.arr(o, "sysctls");
  c.sysctls = P.array<PlanSysctl>(sysctls.size());
  c.sysctl_count = (int)sysctls.size();
  for (size_t i = 0; i < sysctls.size(); i++) {
    const json& s = r.obj(sysctls[i], "sysctls[]");
    c.sysctls[i].path = P.keep(r.str(s, "path"));
    c.sysctls[i].value = P.keep(r.str(s, "value"));
  }

  if (r.has(o, "rootfs")) c.rootfs = P.keep(r.str(o, "rootfs"));
  c.root_propagation = (unsigned long)r.num(o, "rootPropagation");
  c.rootfs_propagation = (unsigned long)r.num(o, "rootfsPropagation");
  c.no_pivot = r.flag(o, "noPivot");
  c.readonly_rootfs = r.flag(o, "readonlyRootfs");

  const json& mounts = r.arr(o, "mounts");
  c.mounts = P.array<PlanMount>(mounts.size());
  c.mount_count = (int)mounts.size();
  for (size_t i = 0; i < mounts.size(); i++) {
    const json& m = r.obj(mounts[i], "mounts[]");
    PlanMount& pm = c.mounts[i];
    pm.source = r.has(m, "source") ? P.keep(r.str(m, "source")) : nullptr;
    pm.target = P.keep(r.str(m, "target"));
    pm.fstype = r.has(m, "fstype") ? P.keep(r.str(m, "fstype")) : nullptr;
    pm.data = r.has(m, "data") ? P.keep(r.str(m, "data")) : nullptr;
    pm.flags = (unsigned long)r.num(m, "flags");
    pm.bind = r.flag(m, "bind");
    pm.file = r.flag(m, "file");
    const json& prop = r.arr(m, "propagation");
    pm.propagation_count = (int)std::min<size_t>(prop.size(), 4);
    for (int k = 0; k < pm.propagation_count; k++) pm.propagation[k] = (unsigned long)r.item_num(prop[k], "mounts[].propagation");
  }

  const json& devices = r.arr(o, "devices");
  c.devices = P.array<PlanDevice>(devices.size());
  c.device_count = (int)devices.size();
  for (size_t i = 0; i < devices.size(); i++) {
    const json& d = r.obj(devices[i], "devices[]");
    PlanDevice& pd = c.devices[i];
    pd.path = P.keep(r.str(d, "path"));
    pd.mode = (uint32_t)r.num(d, "mode");
    pd.major = (uint32_t)r.num(d, "major");
    pd.minor = (uint32_t)r.num(d, "minor");
    pd.uid = (uint32_t)r.num(d, "uid");
    pd.gid = (uint32_t)r.num(d, "gid");
    pd.bind = r.flag(d, "bind");
  }
  const json& links = r.arr(o, "symlinks");
  c.symlinks = P.array<PlanSymlink>(links.size());
  c.symlink_count = (int)links.size();
  for (size_t i = 0; i < links.size(); i++) {
    const json& l = r.obj(links[i], "symlinks[]");
    c.symlinks[i].target = P.keep(r.str(l, "target"));
    c.symlinks[i].linkpath = P.keep(r.str(l, "linkpath"));
  }
  const json& masked = r.arr(o, "maskedPaths");
  c.masked = const_cast<const char**>(reinterpret_cast<char* const*>(string_vector(P, r, masked, "maskedPaths")));
  c.masked_count = (int)masked.size();
  const json& ro = r.arr(o, "readonlyPaths");
  c.readonly = const_cast<const char**>(reinterpret_cast<char* const*>(string_vector(P, r, ro, "readonlyPaths")));
  c.readonly_count = (int)ro.size();

  const json& rl = r.arr(o, "rlimits");
  c.rlimits = P.array<PlanRlimit>(rl.size());
  c.rlimit_count = (int)rl.size();
  for (size_t i = 0; i < rl.size(); i++) {
    const json& l = r.obj(rl[i], "rlimits[]");
    c.rlimits[i].resource = (int)r.num(l, "resource");
    c.rlimits[i].soft = r.big(l, "soft");
    c.rlimits[i].hard = r.big(l, "hard");
  }
  if (r.has(o, "oomScoreAdj")) c.oom_score_adj = P.keep(std::to_string((int)r.num(o, "oomScoreAdj")));

  const json& stdio = r.arr(o, "stdio");
  for (int i = 0; i < 3; i++) c.stdio[i] = i < (int)stdio.size() ? (int)r.item_num(stdio[i], "stdio") : -1;
  c.preserve_fds = (int)r.num(o, "preserveFds");

  c.set_caps = r.has(o, "capabilities");
  if (c.set_caps) {
    const json& caps = r.obj(o["capabilities"], "capabilities");
    c.cap_bounding = r.big(caps, "bounding");
    c.cap_effective = r.big(caps, "effective");
    c.cap_permitted = r.big(caps, "permitted");
    c.cap_inheritable = r.big(caps, "inheritable");
    c.cap_ambient = r.big(caps, "ambient");
  }
  c.cap_last = (int)r.num(o, "capLast", 40);
  c.no_new_privs = r.flag(o, "noNewPrivileges");
  if (r.has(o, "seccomp")) {
    const json& s = r.obj(o["seccomp"], "seccomp");
    const json* f = r.get(s, "filter");
    const std::string* hex = f && f->is_string() ? &f->get_ref<const std::string&>() : nullptr;
    if (!hex || hex->size() % 16 != 0) {
      r.fail("seccomp.filter", "struct sock_filter[] in hex");
    } else {
      size_t n = hex->size() / 2;
      uint8_t* bytes = P.array<uint8_t>(n);
      for (size_t i = 0; i < n; i++) {
        int hi = hex_digit((*hex)[2 * i]), lo = hex_digit((*hex)[2 * i + 1]);
        if (hi < 0 || lo < 0) {
          r.fail("seccomp.filter", "struct sock_filter[] in hex");
          break;
        }
        bytes[i] = (uint8_t)(hi << 4 | lo);
      }
      c.seccomp = bytes;
      c.seccomp_len = (uint32_t)(n / 8);
      c.seccomp_flags = (uint32_t)r.num(s, "flags");
      // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before the drop.
      c.seccomp_early = !c.no_new_privs;
    }
  }
  c.set_user = r.has(o, "user");
  if (c.set_user) {
    const json& u = r.obj(o["user"], "user");
    c.uid = (uint32_t)r.num(u, "uid");
    c.gid = (uint32_t)r.num(u, "gid");
    const json& g = r.arr(u, "groups");
    c.groups = P.array<uint32_t>(g.size());
    c.group_count = (int)g.size();
    for (size_t i = 0; i < g.size(); i++) c.groups[i] = (uint32_t)r.item_num(g[i], "user.groups");
  }
  c.umask = (int)r.num(o, "umask", -1);
  if (r.has(o, "cwd")) c.cwd = P.keep(r.str(o, "cwd"));
  const json& args = r.arr(o, "args");
  if (args.empty()) r.fail("args", "a non-empty array of strings");
  c.argv = string_vector(P, r, args, "args");
  const json& env = r.arr(o, "env");
  c.envp = string_vector(P, r, env, "env");
  c.path_env = nullptr;
  for (size_t i = 0; c.envp[i]; i++)
    if (strncmp(c.envp[i], "PATH=", 5) == 0) c.path_env = c.envp[i] + 5;
  c.start_fd = c.report_fd = c.sync_fd = -1;
  if (r.error.empty() && P.mode != "fork" && P.mode != "vm") r.error = "spawn plan: mode must be 'fork' or 'vm'";
  if (r.error.empty() && P.mode == "vm" && (c.clone_flags & 0x80 /* CLONE_NEWTIME */))
    r.error = "spawn plan: a new time namespace needs mode 'fork' (clone3)";

  error = r.error;
  return plan;
}

}  // namespace keel
