// rtnetlink primitives for pod networking (links, addresses, routes, neighbours, bridge FDB,
// sysctls), built with libmnl and run inside a network namespace by netop (a thread that
// setns()es in). They replace `nsenter --net=... ip ...`: no fork of the Node process, no exec.
// Policy (what to create, idempotency) stays in TypeScript (cni/); these do one kernel request
// each, or a lookup and a request, and report failures with errno, the netlink message, the
// namespace and the object, plus the kernel's extended-ack message when it sends one.
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "errors.h"
#include "fd.h"
#include "netop.h"

namespace keel {
namespace {

// ---- one rtnetlink socket, opened inside the namespace ------------------------------------

class Rtnl {
 public:
  ~Rtnl() {
    if (nl_) mnl_socket_close(nl_);
  }
  bool open(NetError& e) {
    nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl_) return e.fail(errno, "socket(NETLINK_ROUTE)", "rtnetlink");
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) return e.fail(errno, "bind(NETLINK_ROUTE)", "rtnetlink");
    int one = 1;
    // the kernel's own words on a refusal ("Nexthop has invalid gateway"), when it has some
    mnl_socket_setsockopt(nl_, NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(nl_, NETLINK_CAP_ACK, &one, sizeof one);
    portid_ = mnl_socket_get_portid(nl_);
    return true;
  }

  // Sends nlh and reads replies (data messages go to cb) until the ack or the dump's end.
  // Returns 0, or a positive errno with the extended-ack message in ext.
  int talk(nlmsghdr* nlh, mnl_cb_t cb, void* data, std::string& ext) {
    nlh->nlmsg_flags |= NLM_F_REQUEST;
    // a dump ends with NLMSG_DONE; anything else is acked (RTM_GET* is type & 3 == 2; NLM_F_DUMP
    // shares its bits with NLM_F_EXCL, so the flags alone cannot tell)
    bool dump = (nlh->nlmsg_type & 3) == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    if (!dump) nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return errno;
    std::vector<char> buf(32768);
    ErrCtx ctx;
    mnl_cb_t ctl[NLMSG_MIN_TYPE] = {};
    ctl[NLMSG_ERROR] = on_error;
    ctl[NLMSG_DONE] = on_done;  // with a table of our own, libmnl's defaults no longer apply
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
      if (n < 0) return errno;
      // data messages and the error message share the callback's data pointer: wrap both
      Both both{cb, data, &ctx};
      int r = mnl_cb_run2(buf.data(), n, seq_, portid_, cb ? data_cb : nullptr, &both, ctl, NLMSG_MIN_TYPE);
      if (ctx.err) {
        ext = ctx.ext;
        return ctx.err;
      }
      if (r < 0) return errno ? errno : EIO;
      if (r == MNL_CB_STOP) return 0;
    }
  }

 private:
  struct ErrCtx {
    int err = 0;
    std::string ext;
  };
  struct Both {
    mnl_cb_t cb;
    void* data;
    ErrCtx* err;
  };
  static int data_cb(const nlmsghdr* nlh, void* d) {
    Both* b = static_cast<Both*>(d);
    return b->cb(nlh, b->data);
  }
  static int on_done(const nlmsghdr* nlh, void* d) {
    // a dump that failed part-way ends with NLMSG_DONE carrying a negative errno
    Both* b = static_cast<Both*>(d);
    if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
      int e = *static_cast<const int*>(mnl_nlmsg_get_payload(nlh));
      if (e < 0) {
        b->err->err = -e;
        return MNL_CB_ERROR;
      }
    }
    return MNL_CB_STOP;
  }
  static int on_error(const nlmsghdr* nlh, void* d) {
    Both* b = static_cast<Both*>(d);
    auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
      b->err->err = EBADMSG;
      return MNL_CB_ERROR;
    }
    if (e->error == 0) return MNL_CB_STOP;  // the ack
    b->err->err = -e->error;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
      // the TLVs follow the error and (unless capped) the whole request
      size_t off = sizeof(nlmsgerr);
      if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(nlmsghdr);
      // (mnl_attr_for_each's casts are C only)
      auto* attr = reinterpret_cast<const nlattr*>(static_cast<const char*>(mnl_nlmsg_get_payload(nlh)) + MNL_ALIGN(off));
      const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
      while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG) b->err->ext = mnl_attr_get_str(attr);
        attr = mnl_attr_next(attr);
      }
    }
    return MNL_CB_ERROR;
  }

  mnl_socket* nl_ = nullptr;
  unsigned portid_ = 0;
  unsigned seq_ = 0;
};

// A request buffer with its header.
struct Msg {
  alignas(nlmsghdr) char buf[8192];
  nlmsghdr* nlh;
  Msg(uint16_t type, uint16_t flags) {
    memset(buf, 0, sizeof buf);
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
  }
  template <class T>
  T* extra() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh, sizeof(T)));
  }
};

// Every attribute of a message (or a nest) by type; the last one of a type wins.
struct Attrs {
  std::vector<const nlattr*> tb;
  explicit Attrs(size_t max) : tb(max + 1, nullptr) {}
  static int cb(const nlattr* a, void* d) {
    auto* self = static_cast<Attrs*>(d);
    uint16_t t = mnl_attr_get_type(a);
    if (t < self->tb.size()) self->tb[t] = a;
    return MNL_CB_OK;
  }
  const nlattr* operator[](size_t t) const { return t < tb.size() ? tb[t] : nullptr; }
};

std::string mac_str(const nlattr* a) {
  if (!a) return "";
  auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
  uint16_t len = mnl_attr_get_payload_len(a);
  std::string s;
  char b[4];
  for (uint16_t i = 0; i < len; i++) {
    snprintf(b, sizeof b, i ? ":%02x" : "%02x", p[i]);
    s += b;
  }
  return s;
}

bool parse_mac(const std::string& s, uint8_t out[6]) {
  unsigned v[6];
  char tail;
  if (sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) return false;
  for (int i = 0; i < 6; i++) {
    if (v[i] > 255) return false;
    out[i] = static_cast<uint8_t>(v[i]);
  }
  return true;
}

std::string addr_str(int family, const nlattr* a) {
  if (!a) return "";
  char b[INET6_ADDRSTRLEN] = "";
  inet_ntop(family, mnl_attr_get_payload(a), b, sizeof b);
  return b;
}

// "10.1.0.0/24" or "default" → address and prefix length (IPv4: keel's networks are IPv4).
bool parse_prefix(const std::string& s, in_addr& addr, uint8_t& len) {
  if (s == "default") {
    addr.s_addr = 0;
    len = 0;
    return true;
  }
  size_t slash = s.find('/');
  std::string ip = s.substr(0, slash);
  int l = 32;
  if (slash != std::string::npos) {
    char* end;
    l = static_cast<int>(strtol(s.c_str() + slash + 1, &end, 10));
    if (*end || l < 0 || l > 32 || slash + 1 == s.size()) return false;
  }
  if (inet_pton(AF_INET, ip.c_str(), &addr) != 1) return false;
  len = static_cast<uint8_t>(l);
  return true;
}

// ---- links --------------------------------------------------------------------------------

struct LinkSeen {
  bool found = false;
  int index = 0;
  std::string name, mac, kind, slave_kind;
  unsigned mtu = 0, flags = 0;
  int master = 0;
};

int link_cb(const nlmsghdr* nlh, void* d) {
  auto* out = static_cast<LinkSeen*>(d);
  if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
  auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  Attrs at(IFLA_MAX);
  mnl_attr_parse(nlh, sizeof(*ifm), Attrs::cb, &at);
  out->found = true;
  out->index = ifm->ifi_index;
  out->flags = ifm->ifi_flags;
  if (at[IFLA_IFNAME]) out->name = mnl_attr_get_str(at[IFLA_IFNAME]);
  out->mac = mac_str(at[IFLA_ADDRESS]);
  if (at[IFLA_MTU]) out->mtu = mnl_attr_get_u32(at[IFLA_MTU]);
  if (at[IFLA_MASTER]) out->master = static_cast<int>(mnl_attr_get_u32(at[IFLA_MASTER]));
  if (at[IFLA_LINKINFO]) {
    Attrs li(IFLA_INFO_MAX);
    mnl_attr_parse_nested(at[IFLA_LINKINFO], Attrs::cb, &li);
    if (li[IFLA_INFO_KIND]) out->kind = mnl_attr_get_str(li[IFLA_INFO_KIND]);
    if (li[IFLA_INFO_SLAVE_KIND]) out->slave_kind = mnl_attr_get_str(li[IFLA_INFO_SLAVE_KIND]);
  }
  return MNL_CB_OK;
}

// RTM_GETLINK by name (or index when name is empty). 0, ENODEV when there is none, or errno.
int get_link(Rtnl& nl, const std::string& name, int index, LinkSeen& out, std::string& ext) {
  Msg m(RTM_GETLINK, 0);
  auto* ifm = m.extra<ifinfomsg>();
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = index;
  if (!name.empty()) mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
  mnl_attr_put_u32(m.nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  out = LinkSeen();
  int err = nl.talk(m.nlh, link_cb, &out, ext);
  if (!err && !out.found) err = ENODEV;
  return err;
}

// The index of a link that must exist; on failure e is filled (ENODEV names the link).
bool require_index(Rtnl& nl, const std::string& name, int& index, NetError& e) {
  LinkSeen l;
  std::string ext;
  int err = get_link(nl, name, 0, l, ext);
  if (err) return e.fail(err, "RTM_GETLINK", "link " + name, ext);
  index = l.index;
  return true;
}

// Queues work that talks rtnetlink: its socket is opened on the pool thread, inside the namespace
// (a netlink socket belongs to the namespace it was made in).
template <typename F>
Napi::Value queue_rtnl(Napi::Env env, std::string ns, F work) {
  return queue_net_work(env, std::move(ns), [work](NetOut& out, NetError& e) {
    Rtnl nl;
    if (!nl.open(e)) return false;
    return work(nl, out, e);
  });
}

// An RTM_NEWLINK making `name` of `kind`: the header, name, MTU and the IFLA_LINKINFO nest with
// the kind, left open for the kind's IFLA_INFO_DATA; the caller closes it.
nlattr* start_new_link(Msg& m, const std::string& name, unsigned mtu, const char* kind) {
  m.extra<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
  if (mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, mtu);
  nlattr* li = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, kind);
  return li;
}

// A request the kernel answers with an acknowledgement only; false with e filled (the message
// type, what it acted on, the kernel's own words) when refused.
bool request(Rtnl& nl, Msg& m, NetError& e, const char* op, const std::string& what) {
  std::string ext;
  int err = nl.talk(m.nlh, nullptr, nullptr, ext);
  return err ? e.fail(err, op, what, ext) : true;
}

// ---- argument helpers ---------------------------------------------------------------------

std::string str_prop(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
}
bool has(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  return !v.IsUndefined() && !v.IsNull();
}
bool valid_ifname(const std::string& s) { return !s.empty() && s.size() < IFNAMSIZ && s.find('/') == std::string::npos; }

#define NETNS_ARG(fn)                                                                          \
  std::string ns;                                                                              \
  if (!netns_arg(info, 0, ns)) return throw_type(env, fn ": netns must be a path, null or undefined")
#define IFNAME_ARG(var, i, fn)                                                                 \
  if (!info[i].IsString()) return throw_type(env, fn ": interface name must be a string");     \
  std::string var = info[i].As<Napi::String>().Utf8Value();                                    \
  if (!valid_ifname(var)) return throw_type(env, fn ": interface name must be 1-15 bytes, no '/'")

}  // namespace

// linkGet(netns, name) → {index, name, mac, mtu, up, kind?, master?, slaveKind?} | null
Napi::Value net_link_get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("linkGet");
  IFNAME_ARG(name, 1, "linkGet");
  return queue_rtnl(env, ns, [name](Rtnl& nl, NetOut& out, NetError& e) {
    LinkSeen l;
    std::string ext;
    int err = get_link(nl, name, 0, l, ext);
    if (err == ENODEV) {
      out.kind = NetOut::Null;
      return true;
    }
    if (err) return e.fail(err, "RTM_GETLINK", "link " + name, ext);
    NetRec r;
    r.num("index", l.index);
    r.str("name", l.name);
    r.str("mac", l.mac);
    r.num("mtu", l.mtu);
    r.boolean("up", (l.flags & IFF_UP) != 0);
    if (!l.kind.empty()) r.str("kind", l.kind);
    if (!l.slave_kind.empty()) r.str("slaveKind", l.slave_kind);
    if (l.master) {
      LinkSeen m;
      if (get_link(nl, "", l.master, m, ext) == 0) r.str("master", m.name);
    }
    out.kind = NetOut::One;
    out.recs.push_back(std::move(r));
    return true;
  });
}

// linkAddBridge(netns, name, mtu)
Napi::Value net_link_add_bridge(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("linkAddBridge");
  IFNAME_ARG(name, 1, "linkAddBridge");
  unsigned mtu = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  return queue_rtnl(env, ns, [name, mtu](Rtnl& nl, NetOut&, NetError& e) {
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    mnl_attr_nest_end(m.nlh, start_new_link(m, name, mtu, "bridge"));
    return request(nl, m, e, "RTM_NEWLINK", "bridge " + name);
  });
}

// linkAddVeth(netns, name, mtu, peerName, peerNetns): the peer is created directly in peerNetns.
Napi::Value net_link_add_veth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("linkAddVeth");
  IFNAME_ARG(name, 1, "linkAddVeth");
  unsigned mtu = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  IFNAME_ARG(peer, 3, "linkAddVeth");
  std::string peer_ns;
  if (!netns_arg(info, 4, peer_ns) || peer_ns.empty()) return throw_type(env, "linkAddVeth: peerNetns must be a path");
  return queue_rtnl(env, ns, [name, mtu, peer, peer_ns](Rtnl& nl, NetOut&, NetError& e) {
    std::string what = "veth " + name + " <-> " + peer + " in " + peer_ns;
    UniqueFd pfd(open(peer_ns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!pfd.valid()) return e.fail(errno, "open", what + " (peer namespace)");
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nlattr* li = start_new_link(m, name, mtu, "veth");
    nlattr* data = mnl_attr_nest_start(m.nlh, IFLA_INFO_DATA);
    nlattr* p = mnl_attr_nest_start(m.nlh, VETH_INFO_PEER);
    // the peer's own ifinfomsg, then its attributes
    auto* pifm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(m.nlh));
    memset(pifm, 0, sizeof *pifm);
    m.nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, peer.c_str());
    if (mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, mtu);
    mnl_attr_put_u32(m.nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(pfd.get()));
    mnl_attr_nest_end(m.nlh, p);
    mnl_attr_nest_end(m.nlh, data);
    mnl_attr_nest_end(m.nlh, li);
    return request(nl, m, e, "RTM_NEWLINK", what);
  });
}

// linkAddVxlan(netns, {name, vni, local, port, mtu?, mac?, learning?, underlayDevice?})
Napi::Value net_link_add_vxlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("linkAddVxlan");
  if (!info[1].IsObject()) return throw_type(env, "linkAddVxlan: spec must be an object");
  Napi::Object o = info[1].As<Napi::Object>();
  std::string name = str_prop(o, "name"), local = str_prop(o, "local"), mac = str_prop(o, "mac"), under = str_prop(o, "underlayDevice");
  if (!valid_ifname(name)) return throw_type(env, "linkAddVxlan: name must be 1-15 bytes");
  if (!under.empty() && !valid_ifname(under)) return throw_type(env, "linkAddVxlan: underlayDevice must be 1-15 bytes");
  uint32_t vni = o.Get("vni").ToNumber().Uint32Value();
  uint32_t port = o.Get("port").ToNumber().Uint32Value();
  uint32_t mtu = has(o, "mtu") ? o.Get("mtu").ToNumber().Uint32Value() : 0;
  bool learning = has(o, "learning") && o.Get("learning").ToBoolean().Value();
  in_addr laddr;
  if (inet_pton(AF_INET, local.c_str(), &laddr) != 1) return throw_type(env, "linkAddVxlan: local must be an IPv4 address");
  uint8_t hw[6];
  if (!mac.empty() && !parse_mac(mac, hw)) return throw_type(env, "linkAddVxlan: mac must be a MAC address");
  if (vni < 1 || vni > 16777215 || port < 1 || port > 65535) return throw_type(env, "linkAddVxlan: vni or port out of range");
  return queue_rtnl(env, ns, [=](Rtnl& nl, NetOut&, NetError& e) {
    int under_index = 0;
    if (!under.empty() && !require_index(nl, under, under_index, e)) return false;
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nlattr* li = start_new_link(m, name, mtu, "vxlan");
    nlattr* data = mnl_attr_nest_start(m.nlh, IFLA_INFO_DATA);
    mnl_attr_put_u32(m.nlh, IFLA_VXLAN_ID, vni);
    mnl_attr_put(m.nlh, IFLA_VXLAN_LOCAL, sizeof laddr, &laddr);
    mnl_attr_put_u16(m.nlh, IFLA_VXLAN_PORT, htons(static_cast<uint16_t>(port)));
    mnl_attr_put_u8(m.nlh, IFLA_VXLAN_LEARNING, learning ? 1 : 0);
    if (under_index) mnl_attr_put_u32(m.nlh, IFLA_VXLAN_LINK, static_cast<uint32_t>(under_index));
    mnl_attr_nest_end(m.nlh, data);
    mnl_attr_nest_end(m.nlh, li);
    if (!mac.empty()) mnl_attr_put(m.nlh, IFLA_ADDRESS, 6, hw);
    return request(nl, m, e, "RTM_NEWLINK", "vxlan " + name);
  });
}

// linkSet(netns, name, {up?, mtu?, master?, hairpin?}): master before hairpin (a bridge port's
// setting), up last so a port comes up already on its bridge.
Napi::Value net_link_set(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("linkSet");
  IFNAME_ARG(name, 1, "linkSet");
  if (!info[2].IsObject()) return throw_type(env, "linkSet: change must be an object");
  Napi::Object o = info[2].As<Napi::Object>();
  bool set_up = has(o, "up"), up = set_up && o.Get("up").ToBoolean().Value();
  uint32_t mtu = has(o, "mtu") ? o.Get("mtu").ToNumber().Uint32Value() : 0;
  std::string master = str_prop(o, "master");
  if (!master.empty() && !valid_ifname(master)) return throw_type(env, "linkSet: master must be 1-15 bytes");
  bool set_hairpin = has(o, "hairpin"), hairpin = set_hairpin && o.Get("hairpin").ToBoolean().Value();
  return queue_rtnl(env, ns, [=](Rtnl& nl, NetOut&, NetError& e) {
    int index = 0, master_index = 0;
    if (!require_index(nl, name, index, e)) return false;
    if (!master.empty() && !require_index(nl, master, master_index, e)) return false;
    if (mtu || master_index) {
      Msg m(RTM_NEWLINK, 0);
      auto* ifm = m.extra<ifinfomsg>();
      ifm->ifi_family = AF_UNSPEC;
      ifm->ifi_index = index;
      if (mtu) mnl_attr_put_u32(m.nlh, IFLA_MTU, mtu);
      if (master_index) mnl_attr_put_u32(m.nlh, IFLA_MASTER, static_cast<uint32_t>(master_index));
      if (!request(nl, m, e, "RTM_NEWLINK", "link " + name + (master_index ? " master " + master : "") + (mtu ? " mtu " + std::to_string(mtu) : ""))) return false;
    }
    if (set_hairpin) {
      // the bridge port's mode, as `bridge link set hairpin on` sets it
      Msg m(RTM_SETLINK, 0);
      auto* ifm = m.extra<ifinfomsg>();
      ifm->ifi_family = AF_BRIDGE;
      ifm->ifi_index = index;
      nlattr* p = mnl_attr_nest_start(m.nlh, IFLA_PROTINFO);
      mnl_attr_put_u8(m.nlh, IFLA_BRPORT_MODE, hairpin ? 1 : 0);
      mnl_attr_nest_end(m.nlh, p);
      if (!request(nl, m, e, "RTM_SETLINK", "bridge port " + name + " hairpin")) return false;
    }
    if (set_up) {
      Msg m(RTM_NEWLINK, 0);
      auto* ifm = m.extra<ifinfomsg>();
      ifm->ifi_family = AF_UNSPEC;
      ifm->ifi_index = index;
      ifm->ifi_change = IFF_UP;
      ifm->ifi_flags = up ? IFF_UP : 0;
      if (!request(nl, m, e, "RTM_NEWLINK", "link " + name + (up ? " up" : " down"))) return false;
    }
    return true;
  });
}

// linkDel(netns, name)
Napi::Value net_link_del(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("linkDel");
  IFNAME_ARG(name, 1, "linkDel");
  return queue_rtnl(env, ns, [name](Rtnl& nl, NetOut&, NetError& e) {
    Msg m(RTM_DELLINK, 0);
    m.extra<ifinfomsg>()->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name.c_str());
    return request(nl, m, e, "RTM_DELLINK", "link " + name);
  });
}

// ---- addresses ----------------------------------------------------------------------------

// addrReplace(netns, dev, "10.1.0.1/24")
Napi::Value net_addr_replace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("addrReplace");
  IFNAME_ARG(dev, 1, "addrReplace");
  std::string cidr = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  in_addr a;
  uint8_t len;
  if (cidr.find('/') == std::string::npos || !parse_prefix(cidr, a, len)) return throw_type(env, "addrReplace: address must be an IPv4 CIDR");
  return queue_rtnl(env, ns, [=](Rtnl& nl, NetOut&, NetError& e) {
    int index;
    if (!require_index(nl, dev, index, e)) return false;
    Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
    auto* ifa = m.extra<ifaddrmsg>();
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = len;
    ifa->ifa_index = static_cast<uint32_t>(index);
    mnl_attr_put(m.nlh, IFA_LOCAL, sizeof a, &a);
    mnl_attr_put(m.nlh, IFA_ADDRESS, sizeof a, &a);
    return request(nl, m, e, "RTM_NEWADDR", "address " + cidr + " on " + dev);
  });
}

namespace {
struct AddrDump {
  int index;
  std::vector<NetRec>* out;
};
int addr_cb(const nlmsghdr* nlh, void* d) {
  auto* dump = static_cast<AddrDump*>(d);
  if (nlh->nlmsg_type != RTM_NEWADDR) return MNL_CB_OK;
  auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (static_cast<int>(ifa->ifa_index) != dump->index) return MNL_CB_OK;
  Attrs at(IFA_MAX);
  mnl_attr_parse(nlh, sizeof(*ifa), Attrs::cb, &at);
  const nlattr* local = at[IFA_LOCAL] ? at[IFA_LOCAL] : at[IFA_ADDRESS];
  if (!local) return MNL_CB_OK;
  NetRec r;
  r.str("family", ifa->ifa_family == AF_INET ? "inet" : "inet6");
  r.str("local", addr_str(ifa->ifa_family, local));
  r.num("prefixlen", ifa->ifa_prefixlen);
  dump->out->push_back(std::move(r));
  return MNL_CB_OK;
}
}  // namespace

// addrList(netns, dev) → [{family, local, prefixlen}]
Napi::Value net_addr_list(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("addrList");
  IFNAME_ARG(dev, 1, "addrList");
  return queue_rtnl(env, ns, [dev](Rtnl& nl, NetOut& out, NetError& e) {
    int index;
    if (!require_index(nl, dev, index, e)) return false;
    Msg m(RTM_GETADDR, NLM_F_DUMP);
    m.extra<ifaddrmsg>()->ifa_family = AF_UNSPEC;
    out.kind = NetOut::Many;
    AddrDump d{index, &out.recs};
    std::string ext;
    int err = nl.talk(m.nlh, addr_cb, &d, ext);
    return err ? e.fail(err, "RTM_GETADDR", "addresses of " + dev, ext) : true;
  });
}

// ---- routes -------------------------------------------------------------------------------

// routeReplace(netns, {dst, dev, via?, onlink?}) — `ip route replace DST [via GW] dev DEV [onlink]`
Napi::Value net_route_replace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("routeReplace");
  if (!info[1].IsObject()) return throw_type(env, "routeReplace: route must be an object");
  Napi::Object o = info[1].As<Napi::Object>();
  std::string dst = str_prop(o, "dst"), dev = str_prop(o, "dev"), via = str_prop(o, "via");
  bool onlink = has(o, "onlink") && o.Get("onlink").ToBoolean().Value();
  in_addr d, gw{};
  uint8_t len;
  if (!parse_prefix(dst, d, len)) return throw_type(env, "routeReplace: dst must be 'default' or an IPv4 CIDR");
  if (!valid_ifname(dev)) return throw_type(env, "routeReplace: dev must be an interface name");
  if (!via.empty() && inet_pton(AF_INET, via.c_str(), &gw) != 1) return throw_type(env, "routeReplace: via must be an IPv4 address");
  return queue_rtnl(env, ns, [=](Rtnl& nl, NetOut&, NetError& e) {
    std::string what = "route " + dst + (via.empty() ? "" : " via " + via) + " dev " + dev;
    int index;
    if (!require_index(nl, dev, index, e)) return false;
    Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
    auto* rt = m.extra<rtmsg>();
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = len;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_type = RTN_UNICAST;
    rt->rtm_scope = via.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    if (onlink) rt->rtm_flags |= RTNH_F_ONLINK;
    if (len) mnl_attr_put(m.nlh, RTA_DST, sizeof d, &d);
    if (!via.empty()) mnl_attr_put(m.nlh, RTA_GATEWAY, sizeof gw, &gw);
    mnl_attr_put_u32(m.nlh, RTA_OIF, static_cast<uint32_t>(index));
    return request(nl, m, e, "RTM_NEWROUTE", what);
  });
}

// routeDel(netns, {dst, dev?})
Napi::Value net_route_del(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("routeDel");
  if (!info[1].IsObject()) return throw_type(env, "routeDel: route must be an object");
  Napi::Object o = info[1].As<Napi::Object>();
  std::string dst = str_prop(o, "dst"), dev = str_prop(o, "dev");
  in_addr d;
  uint8_t len;
  if (!parse_prefix(dst, d, len)) return throw_type(env, "routeDel: dst must be 'default' or an IPv4 CIDR");
  if (!dev.empty() && !valid_ifname(dev)) return throw_type(env, "routeDel: dev must be an interface name");
  return queue_rtnl(env, ns, [=](Rtnl& nl, NetOut&, NetError& e) {
    std::string what = "route " + dst + (dev.empty() ? "" : " dev " + dev);
    int index = 0;
    if (!dev.empty() && !require_index(nl, dev, index, e)) return false;
    Msg m(RTM_DELROUTE, 0);
    auto* rt = m.extra<rtmsg>();
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = len;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_scope = RT_SCOPE_NOWHERE;  // any scope, as `ip route del` asks
    if (len) mnl_attr_put(m.nlh, RTA_DST, sizeof d, &d);
    if (index) mnl_attr_put_u32(m.nlh, RTA_OIF, static_cast<uint32_t>(index));
    return request(nl, m, e, "RTM_DELROUTE", what);
  });
}

namespace {
struct RouteDump {
  int index;  // 0: every device
  std::vector<NetRec>* out;
  std::vector<std::pair<int, size_t>> oifs;  // (ifindex, record) to name afterwards
};
int route_cb(const nlmsghdr* nlh, void* d) {
  auto* dump = static_cast<RouteDump*>(d);
  if (nlh->nlmsg_type != RTM_NEWROUTE) return MNL_CB_OK;
  auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  Attrs at(RTA_MAX);
  mnl_attr_parse(nlh, sizeof(*rt), Attrs::cb, &at);
  uint32_t table = at[RTA_TABLE] ? mnl_attr_get_u32(at[RTA_TABLE]) : rt->rtm_table;
  if (table != RT_TABLE_MAIN || rt->rtm_family != AF_INET) return MNL_CB_OK;
  int oif = at[RTA_OIF] ? static_cast<int>(mnl_attr_get_u32(at[RTA_OIF])) : 0;
  if (dump->index && oif != dump->index) return MNL_CB_OK;
  NetRec r;
  r.str("dst", rt->rtm_dst_len == 0 ? "default" : addr_str(AF_INET, at[RTA_DST]) + "/" + std::to_string(rt->rtm_dst_len));
  if (at[RTA_GATEWAY]) r.str("gateway", addr_str(AF_INET, at[RTA_GATEWAY]));
  r.boolean("onlink", (rt->rtm_flags & RTNH_F_ONLINK) != 0);
  r.num("scope", rt->rtm_scope);
  r.num("protocol", rt->rtm_protocol);
  dump->out->push_back(std::move(r));
  if (oif) dump->oifs.push_back({oif, dump->out->size() - 1});
  return MNL_CB_OK;
}
}  // namespace

// routeList(netns, dev?) → [{dst, gateway?, dev?, onlink, scope, protocol}] (main table, IPv4)
Napi::Value net_route_list(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("routeList");
  std::string dev = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (!dev.empty() && !valid_ifname(dev)) return throw_type(env, "routeList: dev must be an interface name");
  return queue_rtnl(env, ns, [dev](Rtnl& nl, NetOut& out, NetError& e) {
    int index = 0;
    if (!dev.empty() && !require_index(nl, dev, index, e)) return false;
    Msg m(RTM_GETROUTE, NLM_F_DUMP);
    m.extra<rtmsg>()->rtm_family = AF_INET;
    out.kind = NetOut::Many;
    RouteDump d{index, &out.recs, {}};
    std::string ext;
    int err = nl.talk(m.nlh, route_cb, &d, ext);
    if (err) return e.fail(err, "RTM_GETROUTE", "routes" + (dev.empty() ? std::string() : " of " + dev), ext);
    for (auto& [oif, i] : d.oifs) {
      LinkSeen l;
      if (oif == index) out.recs[i].str("dev", dev);
      else if (get_link(nl, "", oif, l, ext) == 0) out.recs[i].str("dev", l.name);
    }
    return true;
  });
}

// ---- neighbours and the bridge FDB (the VXLAN overlay) -------------------------------------

namespace {
// One RTM_NEWNEIGH/RTM_DELNEIGH: an IPv4 neighbour (family AF_INET) or a bridge FDB entry
// (AF_BRIDGE, NTF_SELF: the VXLAN device's own table).
bool neigh_request(Rtnl& nl, uint16_t type, bool fdb, const std::string& dev, const std::string& ip, const std::string& mac, NetError& e) {
  in_addr a{};
  uint8_t hw[6];
  bool has_ip = !ip.empty(), has_mac = !mac.empty();
  if (has_ip && inet_pton(AF_INET, ip.c_str(), &a) != 1) return e.fail(EINVAL, type == RTM_NEWNEIGH ? "RTM_NEWNEIGH" : "RTM_DELNEIGH", "address " + ip);
  if (has_mac && !parse_mac(mac, hw)) return e.fail(EINVAL, type == RTM_NEWNEIGH ? "RTM_NEWNEIGH" : "RTM_DELNEIGH", "MAC " + mac);
  const char* op = type == RTM_NEWNEIGH ? "RTM_NEWNEIGH" : "RTM_DELNEIGH";
  std::string what = fdb ? "FDB " + mac + (has_ip ? " dst " + ip : "") + " dev " + dev : "neighbour " + ip + (has_mac ? " lladdr " + mac : "") + " dev " + dev;
  int index;
  if (!require_index(nl, dev, index, e)) return false;
  Msg m(type, type == RTM_NEWNEIGH ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  auto* nd = m.extra<ndmsg>();
  nd->ndm_family = fdb ? AF_BRIDGE : AF_INET;
  nd->ndm_ifindex = index;
  nd->ndm_state = NUD_PERMANENT;
  if (fdb) nd->ndm_flags = NTF_SELF;
  if (has_ip) mnl_attr_put(m.nlh, NDA_DST, sizeof a, &a);
  if (has_mac) mnl_attr_put(m.nlh, NDA_LLADDR, 6, hw);
  return request(nl, m, e, op, what);
}

struct NeighDump {
  int index;
  bool fdb;
  std::vector<NetRec>* out;
};
int neigh_cb(const nlmsghdr* nlh, void* d) {
  auto* dump = static_cast<NeighDump*>(d);
  if (nlh->nlmsg_type != RTM_NEWNEIGH) return MNL_CB_OK;
  auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  if (nd->ndm_ifindex != dump->index) return MNL_CB_OK;
  Attrs at(NDA_MAX);
  mnl_attr_parse(nlh, sizeof(*nd), Attrs::cb, &at);
  NetRec r;
  if (dump->fdb) {
    r.str("mac", mac_str(at[NDA_LLADDR]));
    if (at[NDA_DST] && mnl_attr_get_payload_len(at[NDA_DST]) == 4) r.str("dst", addr_str(AF_INET, at[NDA_DST]));
    r.boolean("self", (nd->ndm_flags & NTF_SELF) != 0);
  } else {
    if (nd->ndm_family != AF_INET || !at[NDA_DST]) return MNL_CB_OK;
    r.str("dst", addr_str(AF_INET, at[NDA_DST]));
    if (at[NDA_LLADDR]) r.str("lladdr", mac_str(at[NDA_LLADDR]));
  }
  r.boolean("permanent", (nd->ndm_state & NUD_PERMANENT) != 0);
  dump->out->push_back(std::move(r));
  return MNL_CB_OK;
}

Napi::Value neigh_list(const Napi::CallbackInfo& info, bool fdb) {
  Napi::Env env = info.Env();
  const char* fn = fdb ? "fdbList" : "neighList";
  std::string ns;
  if (!netns_arg(info, 0, ns)) return throw_type(env, std::string(fn) + ": netns must be a path, null or undefined");
  std::string dev = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (!valid_ifname(dev)) return throw_type(env, std::string(fn) + ": dev must be an interface name");
  return queue_rtnl(env, ns, [dev, fdb](Rtnl& nl, NetOut& out, NetError& e) {
    int index;
    if (!require_index(nl, dev, index, e)) return false;
    Msg m(RTM_GETNEIGH, NLM_F_DUMP);
    m.extra<ndmsg>()->ndm_family = fdb ? AF_BRIDGE : AF_INET;
    out.kind = NetOut::Many;
    NeighDump d{index, fdb, &out.recs};
    std::string ext;
    int err = nl.talk(m.nlh, neigh_cb, &d, ext);
    return err ? e.fail(err, "RTM_GETNEIGH", (fdb ? "FDB of " : "neighbours of ") + dev, ext) : true;
  });
}

Napi::Value neigh_change(const Napi::CallbackInfo& info, uint16_t type, bool fdb) {
  Napi::Env env = info.Env();
  std::string ns;
  if (!netns_arg(info, 0, ns)) return throw_type(env, "neighbour/FDB: netns must be a path, null or undefined");
  if (!info[1].IsObject()) return throw_type(env, "neighbour/FDB: entry must be an object");
  Napi::Object o = info[1].As<Napi::Object>();
  std::string dev = str_prop(o, "dev"), ip = str_prop(o, "dst"), mac = str_prop(o, fdb ? "mac" : "lladdr");
  if (!valid_ifname(dev)) return throw_type(env, "neighbour/FDB: dev must be an interface name");
  if (fdb && mac.empty()) return throw_type(env, "FDB entry: mac is required");
  if (!fdb && ip.empty()) return throw_type(env, "neighbour: dst is required");
  return queue_rtnl(env, ns, [=](Rtnl& nl, NetOut&, NetError& e) { return neigh_request(nl, type, fdb, dev, ip, mac, e); });
}
}  // namespace

Napi::Value net_neigh_replace(const Napi::CallbackInfo& info) { return neigh_change(info, RTM_NEWNEIGH, false); }
Napi::Value net_neigh_del(const Napi::CallbackInfo& info) { return neigh_change(info, RTM_DELNEIGH, false); }
Napi::Value net_neigh_list(const Napi::CallbackInfo& info) { return neigh_list(info, false); }
Napi::Value net_fdb_replace(const Napi::CallbackInfo& info) { return neigh_change(info, RTM_NEWNEIGH, true); }
Napi::Value net_fdb_del(const Napi::CallbackInfo& info) { return neigh_change(info, RTM_DELNEIGH, true); }
Napi::Value net_fdb_list(const Napi::CallbackInfo& info) { return neigh_list(info, true); }

// ---- sysctls ------------------------------------------------------------------------------

namespace {
// "net.ipv4.ip_forward" → /proc/sys/net/ipv4/ip_forward. Opened from the thread that is in the
// namespace: /proc/sys/net shows the opener's network namespace.
bool sysctl_path(const std::string& key, std::string& path) {
  if (key.empty() || key.find("..") != std::string::npos || key.find('/') != std::string::npos) return false;
  path = "/proc/sys/";
  for (char c : key) path += c == '.' ? '/' : c;
  return true;
}
}  // namespace

// sysctlRead(netns, key) → value without the trailing newline
Napi::Value net_sysctl_read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("sysctlRead");
  std::string key = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "", path;
  if (!sysctl_path(key, path)) return throw_type(env, "sysctlRead: key must be dotted, like net.ipv4.ip_forward");
  return queue_net_work(env, ns, [key, path](NetOut& out, NetError& e) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return e.fail(errno, "open", "sysctl " + key);
    char buf[4096];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) return e.fail(errno, "read", "sysctl " + key);
    out.kind = NetOut::Text;
    out.text.assign(buf, static_cast<size_t>(n));
    while (!out.text.empty() && (out.text.back() == '\n' || out.text.back() == ' ')) out.text.pop_back();
    return true;
  });
}

// sysctlWrite(netns, key, value)
Napi::Value net_sysctl_write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NETNS_ARG("sysctlWrite");
  std::string key = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "", path;
  if (!sysctl_path(key, path)) return throw_type(env, "sysctlWrite: key must be dotted, like net.ipv4.ip_forward");
  if (!info[2].IsString()) return throw_type(env, "sysctlWrite: value must be a string");
  std::string value = info[2].As<Napi::String>().Utf8Value();
  return queue_net_work(env, ns, [key, path, value](NetOut&, NetError& e) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return e.fail(errno, "open", "sysctl " + key);
    if (write(fd.get(), value.data(), value.size()) < 0) return e.fail(errno, "write", "sysctl " + key + "=" + value);
    return true;
  });
}

}  // namespace keel
