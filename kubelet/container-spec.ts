// Pod and container → OCI runtime specs. The sandbox is keel-pause alone in a tiny root with
// new net/ipc/uts namespaces (hostname = pod name); an app container is its image's rootfs with
// its own pid and mount namespaces, joining the sandbox's net, ipc and uts namespaces by path.
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseQuantity, type Container, type Pod } from "../api/index.js";
import { imageConfigToProcess, resolveUser, withRuntimeEnv, type ResolvedImage } from "../images/index.js";
import { nativeBinary } from "../native/index.js";
import type { LinuxResources, Mount, Spec } from "../oci/runtime-spec.js";
import { CAPABILITIES } from "../runtime/capabilities.js";
import { defaultSpec } from "../runtime/default-spec.js";
import type { ConfigSource } from "./config-source.js";

/**
 * The node's one copy of keel-pause under the kubelet's root (made once): every sandbox gets a
 * hard link to it, so all pause processes share its page cache (a copy per pod cost each pod
 * its whole binary, ~700 KiB, in memory).
 */
export function sharedPause(root: string): string {
  const file = join(root, "keel-pause");
  const src = nativeBinary("keel-pause");
  if (!existsSync(file) || statSync(file).size !== statSync(src).size) {
    const tmp = `${file}.tmp-${process.pid}`;
    copyFileSync(src, tmp);
    renameSync(tmp, file);
  }
  return file;
}

/** The sandbox's bundle: a root holding only /pause (a hard link to `pause` where it can be), and its config. */
export function sandboxSpec(pod: Pod, bundle: string, pause = nativeBinary("keel-pause")): Spec {
  const rootfs = join(bundle, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  if (!existsSync(join(rootfs, "pause"))) {
    try {
      linkSync(pause, join(rootfs, "pause"));
    } catch {
      copyFileSync(pause, join(rootfs, "pause"));  // another filesystem
    }
  }
  const spec = defaultSpec({
    rootfs, args: ["/pause"], hostname: pod.spec?.hostname ?? pod.metadata.name, network: !pod.spec?.hostNetwork,
    readonlyRootfs: false,
  });
  spec.annotations = { "io.kubernetes.pod.uid": pod.metadata.uid!, "io.kubernetes.pod.name": pod.metadata.name!, "io.kubernetes.pod.namespace": pod.metadata.namespace ?? "default", "io.kubernetes.cri.container-type": "sandbox" };
  return spec;
}

export interface DownwardValues {
  nodeName: string;
  podIP?: string;
  hostIP?: string;
}

/** kubelet's $(VAR) expansion: a defined variable's value; $$ is a literal $; anything else stays. */
export function expandVars(s: string, vars: Map<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) => (m === "$$" ? "$" : name !== undefined && vars.has(name) ? vars.get(name)! : m));
}

/** Values from ConfigMaps and Secrets, fetched before the (synchronous) spec is built. */
export interface ResolvedEnvRefs {
  /** envFrom entries, in order, prefix applied. */
  from: [string, string][];
  /** env[].valueFrom configMapKeyRef / secretKeyRef values, by variable name. */
  refs: Map<string, string>;
}

export async function resolveEnvRefs(pod: Pod, c: Container, configs: ConfigSource | undefined, onError: (msg: string) => never): Promise<ResolvedEnvRefs> {
  const ns = pod.metadata.namespace ?? "default";
  const out: ResolvedEnvRefs = { from: [], refs: new Map() };
  const get = async (kind: "configmap" | "secret", name: string) => (configs ? await (kind === "configmap" ? configs.configMap(ns, name) : configs.secret(ns, name)) : undefined);
  for (const f of c.envFrom ?? []) {
    const ref = f.configMapRef ?? f.secretRef;
    if (!ref) continue;
    const kind = f.configMapRef ? "configmap" : "secret";
    const data = await get(kind, ref.name);
    if (!data) { if (ref.optional) continue; onError(`${kind} "${ref.name}" not found`); }
    for (const [k, v] of data!) out.from.push([`${f.prefix ?? ""}${k}`, v.toString()]);
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
    if (!ref) continue;
    const kind = e.valueFrom?.configMapKeyRef ? "configmap" : "secret";
    const data = await get(kind, ref.name);
    const v = data?.get(ref.key);
    if (v === undefined) { if (ref.optional) continue; onError(data ? `couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name}` : `${kind} "${ref.name}" not found`); }
    out.refs.set(e.name, v!.toString());
  }
  return out;
}

/** The container's env: envFrom, then its own entries (values, downward-API fields, references), with $(VAR) references expanded. */
export function containerEnv(pod: Pod, c: Container, d: DownwardValues, resolved?: ResolvedEnvRefs): string[] {
  const out: [string, string][] = [...(resolved?.from ?? [])];
  const lookup = new Map<string, string>(out);
  const field = (path: string): string => {
    switch (path) {
      case "metadata.name": return pod.metadata.name!;
      case "metadata.namespace": return pod.metadata.namespace ?? "default";
      case "metadata.uid": return pod.metadata.uid ?? "";
      case "spec.nodeName": return d.nodeName;
      case "spec.serviceAccountName": return pod.spec?.serviceAccountName ?? "";
      case "status.podIP": return d.podIP ?? "";
      case "status.hostIP": return d.hostIP ?? "";
      default: {
        const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
        if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? "";
        return "";
      }
    }
  };
  for (const e of c.env ?? []) {
    let v = e.value ?? "";
    if (e.valueFrom?.fieldRef) v = field(e.valueFrom.fieldRef.fieldPath);
    else if (resolved?.refs.has(e.name)) v = resolved.refs.get(e.name)!;
    else if (e.valueFrom) continue; // an optional reference that is not there
    // $(VAR) expands to an earlier variable; $$(VAR) is a literal $(VAR) (as kubelet does).
    if (e.value !== undefined) v = expandVars(v, lookup);
    lookup.set(e.name, v);
    out.push([e.name, v]);
  }
  return out.map(([k, v]) => `${k}=${v}`);
}

/** requests/limits → the runtime's linux.resources (cgroup memory, cpu shares and quota, pids). */
export function containerResources(c: Container, pidsLimit?: number): LinuxResources {
  const r: LinuxResources = {};
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  if (limits.memory) {
    const limit = Number(parseQuantity(String(limits.memory)).value());
    r.memory = { limit, swap: limit };
  }
  const cpuReq = requests.cpu ?? limits.cpu;
  // kubelet's shares: milliCPU * 1024 / 1000, at least 2 (BestEffort gets 2).
  const shares = cpuReq ? Math.max(2, Math.floor(Number(parseQuantity(String(cpuReq)).milliValue()) * 1024 / 1000)) : 2;
  r.cpu = { shares };
  if (limits.cpu) {
    const milli = Number(parseQuantity(String(limits.cpu)).milliValue());
    r.cpu.period = 100000;
    r.cpu.quota = Math.max(1000, milli * 100);
  }
  if (pidsLimit && pidsLimit > 0) r.pids = { limit: pidsLimit };
  return r;
}

/** The pod's QoS class, as Kubernetes computes it. */
export function qosClass(pod: Pod): "Guaranteed" | "Burstable" | "BestEffort" {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {}, lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const k of ["cpu", "memory"]) {
      const l = lim[k], q = req[k] ?? l;
      if (!l || !q || parseQuantity(String(l)).cmp(parseQuantity(String(q))) !== 0) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

export interface AppSpecInput {
  pod: Pod;
  container: Container;
  image: ResolvedImage;
  rootfs: string;
  sandboxPid: number;
  mounts: Mount[];
  downward: DownwardValues;
  pidsLimit?: number;
  envRefs?: ResolvedEnvRefs;
}

export function appContainerSpec(i: AppSpecInput): Spec {
  const { pod, container: c } = i;
  const sc = c.securityContext ?? {};
  const env = containerEnv(pod, c, i.downward, i.envRefs);
  const vars = new Map(env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  const proc = imageConfigToProcess(i.image.config, {
    entrypoint: c.command && c.command.length ? c.command.map((a) => expandVars(a, vars)) : undefined,
    command: c.args?.map((a) => expandVars(a, vars)),
    env,
    workdir: c.workingDir,
  });
  const user = sc.runAsUser !== undefined
    ? { uid: sc.runAsUser, gid: sc.runAsGroup ?? 0, additionalGids: [] as number[], home: "/" }
    : resolveUser(i.rootfs, proc.user);
  if (sc.runAsUser === undefined && sc.runAsGroup !== undefined) user.gid = sc.runAsGroup;
  const hostname = pod.spec?.hostname ?? pod.metadata.name;
  const spec = defaultSpec({
    rootfs: i.rootfs, args: proc.args, env: withRuntimeEnv(proc.env, { home: user.home, hostname }), cwd: proc.cwd,
    uid: user.uid, gid: user.gid, network: false, readonlyRootfs: sc.readOnlyRootFilesystem ?? false,
    seccomp: !sc.privileged,
  });
  const p = spec.process!;
  p.user.additionalGids = user.additionalGids;
  const caps = new Set(p.capabilities!.bounding);
  if (sc.privileged) {
    for (const cap of CAPABILITIES) caps.add(cap);
    spec.linux!.maskedPaths = [];
    spec.linux!.readonlyPaths = [];
  }
  const capName = (n: string) => (n.toUpperCase().startsWith("CAP_") ? n.toUpperCase() : `CAP_${n.toUpperCase()}`);
  for (const cap of sc.capabilities?.add ?? []) caps.add(capName(cap));
  for (const cap of sc.capabilities?.drop ?? []) if (cap.toUpperCase() === "ALL") caps.clear(); else caps.delete(capName(cap));
  const capList = [...caps];
  p.capabilities = { bounding: capList, effective: capList, permitted: capList };
  if (sc.allowPrivilegeEscalation === true || sc.privileged) p.noNewPrivileges = false;
  // Join the sandbox: the pod's network (unless host network), ipc and uts namespaces.
  delete spec.hostname;
  const ns = `/proc/${i.sandboxPid}/ns`;
  spec.linux!.namespaces = [
    { type: "pid" }, { type: "mount" },
    { type: "ipc", path: `${ns}/ipc` }, { type: "uts", path: `${ns}/uts` },
    ...(pod.spec?.hostNetwork ? [] : [{ type: "network" as const, path: `${ns}/net` }]),
  ];
  spec.linux!.resources = containerResources(c, i.pidsLimit);
  spec.mounts!.push(...i.mounts);
  spec.annotations = {
    "io.kubernetes.pod.uid": pod.metadata.uid!, "io.kubernetes.pod.name": pod.metadata.name!,
    "io.kubernetes.pod.namespace": pod.metadata.namespace ?? "default", "io.kubernetes.container.name": c.name,
    "io.kubernetes.cri.container-type": "container",
  };
  return spec;
}
