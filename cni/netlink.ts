// keel's netlink and nftables work, in-process: typed wrappers over the addon's network calls
// (native/src/netlink.cc, nft.cc), each run off the event loop on a thread that enters the
// namespace. They replace `nsenter --net=NS ip ...` and `nft -f -` children: a fork of the big
// Node process blocked the event loop the API server, controllers and kubelets share. Failures
// become NetlinkError / NftError (cni/errors.ts) carrying errno, the request, the namespace and
// the object; isGone/isExists test errno, not message text.
import { native, NativeError, type NetAddr, type NetFdb, type NetLink, type NetLinkChange, type NetNeigh, type NetRoute, type NetVxlanSpec } from "../native/index.js";
import pLimit from "p-limit";
import { NetlinkError, NftError } from "./errors.js";

export type { NetAddr, NetFdb, NetLink, NetLinkChange, NetNeigh, NetRoute, NetVxlanSpec };

function wrap(e: unknown, netns: string | undefined): unknown {
  if (!(e instanceof NativeError)) return e;
  const object = e.object ?? "";
  // "EEXIST (File exists): RTM_NEWLINK bridge keel0 in /run/netns/x: <kernel's words>"
  const reason = e.message.split(",")[0]!.replace(/^(\w+): (.*)$/, "$1 ($2)");
  const msg = `${e.syscall} ${object}${netns ? ` in ${netns}` : ""} failed: ${reason}${e.detail ? `: ${e.detail}` : ""}`;
  return new NetlinkError(e.code, e.errno, e.syscall, netns, object, msg, e.detail, { cause: e });
}

/**
 * At most two calls in flight per process. Each occupies one of libuv's four pool threads (which
 * file system work and DNS look-ups share) for as long as the kernel takes: microseconds for most,
 * but ~20 ms to delete a veth and ~10 ms to commit an nftables table. The kernel serialises link
 * changes under one lock (RTNL) anyway, so a burst of pod deletions loses nothing by queueing here,
 * and the pool keeps threads free for everything else.
 */
const inFlight = pLimit(2);
/** nftables scripts one at a time (libnftables' process-wide state: the addon holds a lock too). */
const nftInFlight = pLimit(1);

async function call<T>(netns: string | undefined, p: () => Promise<T>): Promise<T> {
  try {
    return await inFlight(p);
  } catch (e) {
    throw wrap(e, netns);
  }
}

/** The object is not there (no such link, route, neighbour, or namespace path). */
export function isGone(e: unknown): boolean {
  return e instanceof NetlinkError && !isNetnsUnusable(e) && (e.code === "ENODEV" || e.code === "ENOENT" || e.code === "ESRCH" || e.code === "EADDRNOTAVAIL");
}

/** For a removal's catch: that it was gone already is success; anything else is not. */
export function ignoreGone(e: unknown): void {
  if (!isGone(e)) throw e;
}

/** The object is there already. */
export function isExists(e: unknown): boolean {
  return e instanceof NetlinkError && e.code === "EEXIST";
}

/** The namespace itself could not be entered (gone, or not a namespace). */
export function isNetnsUnusable(e: unknown): boolean {
  return e instanceof NetlinkError && (e.op === "open" || e.op === "setns") && e.object === "network namespace";
}

const ns = (n: string | undefined) => n ?? null;

export const getLink = (netns: string | undefined, name: string): Promise<NetLink | null> => call(netns, () => native.netLinkGet(ns(netns), name));
export const addBridge = (netns: string | undefined, name: string, mtu: number): Promise<void> => call(netns, () => native.netLinkAddBridge(ns(netns), name, mtu));
/** A veth pair whose peer is created directly in peerNetns (never in this namespace first). */
export const addVeth = (netns: string | undefined, name: string, mtu: number, peerName: string, peerNetns: string): Promise<void> =>
  call(netns, () => native.netLinkAddVeth(ns(netns), name, mtu, peerName, peerNetns));
export const addVxlan = (netns: string | undefined, spec: NetVxlanSpec): Promise<void> => call(netns, () => native.netLinkAddVxlan(ns(netns), spec));
export const setLink = (netns: string | undefined, name: string, change: NetLinkChange): Promise<void> => call(netns, () => native.netLinkSet(ns(netns), name, change));
export const deleteLink = (netns: string | undefined, name: string): Promise<void> => call(netns, () => native.netLinkDel(ns(netns), name));
export const replaceAddress = (netns: string | undefined, dev: string, cidr: string): Promise<void> => call(netns, () => native.netAddrReplace(ns(netns), dev, cidr));
export const listAddresses = (netns: string | undefined, dev: string): Promise<NetAddr[]> => call(netns, () => native.netAddrList(ns(netns), dev));
export const replaceRoute = (netns: string | undefined, r: { dst: string; dev: string; via?: string; onlink?: boolean }): Promise<void> =>
  call(netns, () => native.netRouteReplace(ns(netns), r));
export const deleteRoute = (netns: string | undefined, r: { dst: string; dev?: string }): Promise<void> => call(netns, () => native.netRouteDel(ns(netns), r));
export const listRoutes = (netns: string | undefined, dev?: string): Promise<NetRoute[]> => call(netns, () => native.netRouteList(ns(netns), dev));
export const replaceNeighbour = (netns: string | undefined, n: { dev: string; dst: string; lladdr: string }): Promise<void> =>
  call(netns, () => native.netNeighReplace(ns(netns), n));
export const deleteNeighbour = (netns: string | undefined, n: { dev: string; dst: string }): Promise<void> => call(netns, () => native.netNeighDel(ns(netns), n));
export const listNeighbours = (netns: string | undefined, dev: string): Promise<NetNeigh[]> => call(netns, () => native.netNeighList(ns(netns), dev));
export const replaceFdb = (netns: string | undefined, f: { dev: string; mac: string; dst?: string }): Promise<void> => call(netns, () => native.netFdbReplace(ns(netns), f));
export const deleteFdb = (netns: string | undefined, f: { dev: string; mac: string; dst?: string }): Promise<void> => call(netns, () => native.netFdbDel(ns(netns), f));
export const listFdb = (netns: string | undefined, dev: string): Promise<NetFdb[]> => call(netns, () => native.netFdbList(ns(netns), dev));
export const readSysctl = (netns: string | undefined, key: string): Promise<string> => call(netns, () => native.netSysctlRead(ns(netns), key));
export const writeSysctl = (netns: string | undefined, key: string, value: string): Promise<void> => call(netns, () => native.netSysctlWrite(ns(netns), key, value));

/**
 * Several calls as one trip through the pool (the addon's netBatch): build() calls the addon's
 * net* functions directly (`native.netLinkSet(...)`), in order; the results come back in that
 * order. A failure is the failing call's NetlinkError, its namespace included.
 */
export async function batch(build: (n: typeof native) => void): Promise<unknown[]> {
  try {
    return await inFlight(() => native.netBatch(() => build(native)));
  } catch (e) {
    throw wrap(e, e instanceof NativeError ? e.netns : undefined);
  }
}

/** Runs an nftables script (what `nft -f -` reads) as one transaction; resolves to its output. */
export function runNft(netns: string | undefined, script: string, what: string): Promise<string> {
  return nftInFlight(() => runNftNow(netns, script, what));
}

async function runNftNow(netns: string | undefined, script: string, what: string): Promise<string> {
  try {
    return await inFlight(() => native.nftRun(ns(netns), script));
  } catch (e) {
    if (e instanceof NativeError && e.syscall === "nft") throw new NftError(e.code, e.errno, netns, what, e.detail ?? e.message, { cause: e });
    throw wrap(e, netns);
  }
}
