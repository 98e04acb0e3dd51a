// A pod compiled once for scheduling: summed requests, compiled selectors and terms, the
// equivalence-class key. Everything the filters and scores read per node is precomputed here
// so that the per-node work is arithmetic and map look-ups.
import { parseBytes, parseCpuMillis, parseQuantity } from "./quantity.js";
import { compileLabelSelector, compileNodeSelectorTerm, compileNodeSelectorTerms, type LabelMatcher, type NodeMatcher } from "./selectors.js";
import type { ContainerLike, LabelsLike, PodAffinityTermLike, PodLike, ResourceListLike, TolerationLike } from "./types.js";

/** Requests used for scoring when a container asks for nothing (kube-scheduler's defaults). */
export const DEFAULT_CPU_MILLIS = 100;
export const DEFAULT_MEMORY_BYTES = 200 * 1024 * 1024;

export interface HostPort { protocol: string; ip: string; port: number }

export interface AffinityTerm {
  matches: LabelMatcher;
  /** null: every namespace. */
  namespaces: ReadonlySet<string> | null;
  topologyKey: string;
  weight: number;
}

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  hard: boolean;
  matches: LabelMatcher;
  /** Names the selector (the cache keeps live counts per namespace and key). */
  selectorKey: string;
  /** One label pair the selector requires (the cache files its counter there), if any. */
  requiredLabel: readonly [string, string] | undefined;
  minDomains: number;
}

export interface PodInfo {
  readonly key: string; // namespace/name
  readonly uid: string;
  readonly pod: PodLike;
  readonly namespace: string;
  readonly labels: LabelsLike;
  readonly priority: number;
  readonly preemptionAllowed: boolean;
  /** Summed requests: max(sum of containers, largest init container) + overhead. */
  readonly cpu: number; // millicores
  readonly memory: number; // bytes
  readonly ephemeral: number; // bytes
  readonly extended: ReadonlyMap<string, number> | null;
  /** cpu and memory with kube-scheduler's defaults for containers without requests, for scoring. */
  readonly scoreCpu: number;
  readonly scoreMemory: number;
  readonly nodeName: string | undefined;
  readonly nodeSelector: ReadonlyArray<readonly [string, string]>;
  readonly requiredNodeAffinity: NodeMatcher | null;
  readonly preferredNodeAffinity: ReadonlyArray<{ weight: number; matches: NodeMatcher }>;
  readonly tolerations: readonly TolerationLike[];
  readonly hostPorts: readonly HostPort[];
  readonly affinity: readonly AffinityTerm[];
  readonly antiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly AffinityTerm[];
  readonly preferredAntiAffinity: readonly AffinityTerm[];
  readonly spread: readonly SpreadConstraint[];
  readonly images: readonly string[];
  /** The controller owner (its uid, or "kind/namespace/name"); default spreading goes by selectors (default-selector.ts), not by this. */
  readonly owner: string | undefined;
  /** True when the pod's feasibility depends on other pods (affinity, spread): never cached. */
  readonly interPod: boolean;
  /** Identical keys mean identical node-local scheduling requirements (Borg's equivalence class). */
  readonly classKey: string;
}

function sumRequests(containers: readonly ContainerLike[] | undefined, field: string): Map<string, number> {
  const out = new Map<string, number>();
  (containers ?? []).forEach((c, i) => addList(out, c.resources?.requests, `${field}[${i}].resources.requests`));
  return out;
}

function addList(out: Map<string, number>, list: ResourceListLike | undefined, field: string): void {
  for (const [name, q] of Object.entries(list ?? {})) {
    if (q === undefined) continue;
    const v = name === "cpu" ? parseCpuMillis(q, `${field}.cpu`) : parseQuantity(q, `${field}.${name}`);
    out.set(name, (out.get(name) ?? 0) + v);
  }
}

function compileTerms(terms: readonly PodAffinityTermLike[] | undefined, ns: string, field: string, weights?: readonly number[]): AffinityTerm[] {
  return (terms ?? []).map((t, i) => {
    // A namespaceSelector needs Namespace labels, which the scheduler core does not see; an
    // empty one means "all namespaces" and is honoured, any other is treated as the listed namespaces.
    const all = t.namespaceSelector !== undefined && Object.keys(t.namespaceSelector.matchLabels ?? {}).length === 0 && (t.namespaceSelector.matchExpressions ?? []).length === 0;
    const namespaces = all ? null : new Set(t.namespaces?.length ? t.namespaces : [ns]);
    return { matches: compileLabelSelector(t.labelSelector, `${field}[${i}].labelSelector`), namespaces, topologyKey: t.topologyKey, weight: weights?.[i] ?? 1 };
  });
}

function ownerOf(pod: PodLike, ns: string): string | undefined {
  const refs = pod.metadata?.ownerReferences ?? [];
  const ref = refs.find((r) => r.controller) ?? refs[0];
  if (!ref) return undefined;
  return ref.uid ?? `${ref.kind ?? ""}/${ns}/${ref.name ?? ""}`;
}

export function compilePod(pod: PodLike): PodInfo {
  const spec = pod.spec ?? {};
  const ns = pod.metadata?.namespace ?? "default";
  const name = pod.metadata?.name ?? "";
  const key = `${ns}/${name}`;
  const sum = sumRequests(spec.containers, "spec.containers");
  const init = (spec.initContainers ?? []).map((c, i) => sumRequests([c], `spec.initContainers[${i}]`));
  for (const m of init) for (const [r, v] of m) if (v > (sum.get(r) ?? 0)) sum.set(r, v);
  addList(sum, spec.overhead, "spec.overhead");

  let scoreCpu = 0, scoreMemory = 0;
  for (const c of spec.containers ?? []) {
    const req = c.resources?.requests ?? {};
    scoreCpu += req.cpu !== undefined ? parseCpuMillis(req.cpu) : DEFAULT_CPU_MILLIS;
    scoreMemory += req.memory !== undefined ? parseBytes(req.memory) : DEFAULT_MEMORY_BYTES;
  }
  if ((spec.containers ?? []).length === 0) { scoreCpu = DEFAULT_CPU_MILLIS; scoreMemory = DEFAULT_MEMORY_BYTES; }
  scoreCpu = Math.max(scoreCpu, sum.get("cpu") ?? 0);
  scoreMemory = Math.max(scoreMemory, sum.get("memory") ?? 0);

  const extended = new Map<string, number>();
  for (const [r, v] of sum) if (r !== "cpu" && r !== "memory" && r !== "ephemeral-storage" && r !== "pods" && v > 0) extended.set(r, v);

  const na = spec.affinity?.nodeAffinity;
  const requiredTerms = na?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const pa = spec.affinity?.podAffinity;
  const paa = spec.affinity?.podAntiAffinity;
  const hostPorts: HostPort[] = [];
  for (const c of spec.containers ?? []) for (const p of c.ports ?? []) {
    if (p.hostPort) hostPorts.push({ protocol: p.protocol ?? "TCP", ip: p.hostIP || "0.0.0.0", port: p.hostPort });
  }
  const spread: SpreadConstraint[] = (spec.topologySpreadConstraints ?? []).map((c, i) => ({
    maxSkew: c.maxSkew, topologyKey: c.topologyKey, hard: c.whenUnsatisfiable !== "ScheduleAnyway",
    matches: compileLabelSelector(c.labelSelector, `spec.topologySpreadConstraints[${i}].labelSelector`), selectorKey: JSON.stringify(c.labelSelector ?? null),
    requiredLabel: Object.entries(c.labelSelector?.matchLabels ?? {})[0], minDomains: c.minDomains ?? 1,
  }));
  const affinity = compileTerms(pa?.requiredDuringSchedulingIgnoredDuringExecution, ns, "spec.affinity.podAffinity.required");
  const antiAffinity = compileTerms(paa?.requiredDuringSchedulingIgnoredDuringExecution, ns, "spec.affinity.podAntiAffinity.required");
  const prefA = pa?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const prefAA = paa?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const images = (spec.containers ?? []).map((c) => c.image).filter((i): i is string => !!i).map(normalizeImage);
  const cpu = sum.get("cpu") ?? 0, memory = sum.get("memory") ?? 0, ephemeral = sum.get("ephemeral-storage") ?? 0;

  const info: PodInfo = {
    key, uid: pod.metadata?.uid ?? key, pod, namespace: ns, labels: pod.metadata?.labels ?? {},
    priority: spec.priority ?? 0, preemptionAllowed: spec.preemptionPolicy !== "Never",
    cpu, memory, ephemeral, extended: extended.size ? extended : null, scoreCpu, scoreMemory,
    nodeName: spec.nodeName || undefined,
    nodeSelector: Object.entries(spec.nodeSelector ?? {}),
    requiredNodeAffinity: requiredTerms ? compileNodeSelectorTerms(requiredTerms, "spec.affinity.nodeAffinity.required.nodeSelectorTerms") : null,
    preferredNodeAffinity: (na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t, i) => ({ weight: t.weight, matches: compileNodeSelectorTerm(t.preference, `spec.affinity.nodeAffinity.preferred[${i}].preference`) })),
    tolerations: spec.tolerations ?? [],
    hostPorts, affinity, antiAffinity,
    preferredAffinity: compileTerms(prefA.map((t) => t.podAffinityTerm), ns, "spec.affinity.podAffinity.preferred", prefA.map((t) => t.weight)),
    preferredAntiAffinity: compileTerms(prefAA.map((t) => t.podAffinityTerm), ns, "spec.affinity.podAntiAffinity.preferred", prefAA.map((t) => t.weight)),
    spread, images, owner: ownerOf(pod, ns),
    interPod: affinity.length > 0 || antiAffinity.length > 0 || spread.length > 0 || prefA.length > 0 || prefAA.length > 0,
    classKey: "",
  };
  (info as { classKey: string }).classKey = JSON.stringify([
    cpu, memory, ephemeral, extended.size ? [...extended] : 0, scoreCpu, scoreMemory, info.nodeName ?? "",
    spec.nodeSelector ?? 0, na ?? 0, spec.tolerations ?? 0, hostPorts.length ? hostPorts : 0, images,
  ]);
  return info;
}

/** "busybox" and "docker.io/library/busybox:latest" name the same image. */
export function normalizeImage(name: string): string {
  let n = name;
  if (!/[:@]/.test(n.slice(n.lastIndexOf("/") + 1))) n += ":latest";
  const first = n.split("/")[0]!;
  if (!n.includes("/") || (!first.includes(".") && !first.includes(":") && first !== "localhost")) {
    n = n.includes("/") ? `docker.io/${n}` : `docker.io/library/${n}`;
  }
  return n;
}
