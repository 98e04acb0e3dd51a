// The columns `kubectl get` prints for each built-in kind (the server-side Table format),
// following kubernetes/pkg/printers/internalversion/printers.go.
import type { TableColumnDefinition } from "./meta.js";
import type { KubeObject } from "./meta.js";
import type { ContainerStatus, Pod } from "./core.js";

export interface Column {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description?: string;
  /** 0 = always shown; 1 = shown with -o wide. */
  priority?: number;
  cell(obj: KubeObject, now: number): unknown;
}

export function columnDefinition(c: Column): TableColumnDefinition {
  return { name: c.name, type: c.type, format: c.format ?? "", description: c.description ?? c.name, priority: c.priority ?? 0 };
}

/** Go's duration.HumanDuration: "5s", "3m2s", "4h", "2d3h". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export function age(ts: string | undefined, now: number): string {
  if (!ts) return "<unknown>";
  return humanDuration(now - Date.parse(ts));
}

const get = (o: unknown, path: string): unknown => path.split(".").reduce<unknown>((c, p) => (c && typeof c === "object" ? (c as Record<string, unknown>)[p] : undefined), o);
const num = (v: unknown): number => (typeof v === "number" ? v : 0);
const orNone = (v: unknown): string => (v === undefined || v === null || v === "" ? "<none>" : String(v));

export const nameColumn: Column = { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace.", cell: (o) => o.metadata.name };
export const ageColumn: Column = { name: "Age", type: "string", description: "CreationTimestamp is a timestamp representing the server time when this object was created.", cell: (o, now) => age(o.metadata.creationTimestamp, now) };

function podStatusReason(pod: Pod): string {
  let reason: string = pod.status?.phase ?? "Pending";
  if (pod.status?.reason) reason = pod.status.reason;
  const inits = pod.status?.initContainerStatuses ?? [];
  let initializing = false;
  inits.forEach((c, i) => {
    if (initializing) return;
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) return;
    if (t) { reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`; initializing = true; }
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== "PodInitializing") { reason = `Init:${c.state.waiting.reason}`; initializing = true; }
    else { reason = `Init:${i}/${pod.spec?.initContainers?.length ?? inits.length}`; initializing = true; }
  });
  if (!initializing) {
    let hasRunning = false;
    const statuses: ContainerStatus[] = pod.status?.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) hasRunning = true;
    }
    if (reason === "Completed" && hasRunning) reason = "Running";
  }
  if (pod.metadata.deletionTimestamp) reason = pod.status?.reason === "NodeLost" ? "Unknown" : "Terminating";
  return reason;
}

const podColumns: Column[] = [
  nameColumn,
  { name: "Ready", type: "string", description: "The aggregate readiness state of this pod for accepting traffic.", cell: (o) => {
    const p = o as Pod;
    const ready = (p.status?.containerStatuses ?? []).filter((c) => c.ready).length;
    return `${ready}/${p.spec?.containers?.length ?? 0}`;
  } },
  { name: "Status", type: "string", description: "The aggregate status of the containers in this pod.", cell: (o) => podStatusReason(o as Pod) },
  { name: "Restarts", type: "string", description: "The number of times the containers in this pod have been restarted.", cell: (o) =>
    String((o as Pod).status?.containerStatuses?.reduce((n, c) => n + (c.restartCount ?? 0), 0) ?? 0) },
  ageColumn,
  { name: "IP", type: "string", priority: 1, description: "IP address allocated to the pod.", cell: (o) => orNone((o as Pod).status?.podIP) },
  { name: "Node", type: "string", priority: 1, description: "Name of the Node to which the pod is scheduled.", cell: (o) => orNone((o as Pod).spec?.nodeName) },
  { name: "Nominated Node", type: "string", priority: 1, cell: (o) => orNone((o as Pod).status?.nominatedNodeName) },
  { name: "Readiness Gates", type: "string", priority: 1, cell: (o) => ((o as Pod).spec?.readinessGates?.length ? String((o as Pod).spec?.readinessGates?.length) : "<none>") },
];

const selectorString = (o: KubeObject): string => {
  const sel = get(o, "spec.selector") as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined;
  if (!sel) return "<none>";
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(",")})`);
  return parts.length ? parts.join(",") : "<none>";
};
const containerNames = (o: KubeObject, base = "spec.template.spec") => ((get(o, `${base}.containers`) as { name: string }[] | undefined) ?? []).map((c) => c.name).join(",");
const images = (o: KubeObject, base = "spec.template.spec") => ((get(o, `${base}.containers`) as { image?: string }[] | undefined) ?? []).map((c) => c.image ?? "").join(",");
const wideWorkload: Column[] = [
  { name: "Containers", type: "string", priority: 1, cell: (o) => containerNames(o) },
  { name: "Images", type: "string", priority: 1, cell: (o) => images(o) },
  { name: "Selector", type: "string", priority: 1, cell: selectorString },
];

/** kubectl's quota columns: "pods: 1/3, requests.cpu: 500m/1" (limits.* in the Limit column). */
function quotaCell(o: KubeObject, limits: boolean): string {
  const hard = (get(o, "status.hard") ?? get(o, "spec.hard") ?? {}) as Record<string, string>;
  const used = (get(o, "status.used") ?? {}) as Record<string, string>;
  return Object.keys(hard).sort().filter((k) => k.startsWith("limits.") === limits).map((k) => `${k}: ${used[k] ?? "0"}/${hard[k]}`).join(", ");
}

const byResource: Record<string, Column[]> = {
  pods: podColumns,
  namespaces: [nameColumn, { name: "Status", type: "string", cell: (o) => get(o, "status.phase") ?? "Active" }, ageColumn],
  priorityclasses: [nameColumn, { name: "Value", type: "integer", cell: (o) => get(o, "value") }, { name: "Global-Default", type: "boolean", cell: (o) => get(o, "globalDefault") ?? false }, ageColumn,
    { name: "PreemptionPolicy", type: "string", priority: 1, cell: (o) => get(o, "preemptionPolicy") }],
  nodes: [
    nameColumn,
    { name: "Status", type: "string", cell: (o) => {
      const conds = (get(o, "status.conditions") as { type: string; status: string }[] | undefined) ?? [];
      const ready = conds.find((c) => c.type === "Ready");
      let s = ready ? (ready.status === "True" ? "Ready" : "NotReady") : "Unknown";
      if (get(o, "spec.unschedulable")) s += ",SchedulingDisabled";
      return s;
    } },
    { name: "Roles", type: "string", cell: (o) => {
      const roles = Object.keys(o.metadata.labels ?? {}).filter((k) => k.startsWith("node-role.kubernetes.io/")).map((k) => k.slice(24));
      return roles.length ? roles.sort().join(",") : "<none>";
    } },
    ageColumn,
    { name: "Version", type: "string", cell: (o) => get(o, "status.nodeInfo.kubeletVersion") ?? "" },
    { name: "Internal-IP", type: "string", priority: 1, cell: (o) => orNone(((get(o, "status.addresses") as { type: string; address: string }[]) ?? []).find((a) => a.type === "InternalIP")?.address) },
    { name: "External-IP", type: "string", priority: 1, cell: (o) => orNone(((get(o, "status.addresses") as { type: string; address: string }[]) ?? []).find((a) => a.type === "ExternalIP")?.address) },
    { name: "OS-Image", type: "string", priority: 1, cell: (o) => orNone(get(o, "status.nodeInfo.osImage")) },
    { name: "Kernel-Version", type: "string", priority: 1, cell: (o) => orNone(get(o, "status.nodeInfo.kernelVersion")) },
    { name: "Container-Runtime", type: "string", priority: 1, cell: (o) => orNone(get(o, "status.nodeInfo.containerRuntimeVersion")) },
  ],
  services: [
    nameColumn,
    { name: "Type", type: "string", cell: (o) => get(o, "spec.type") ?? "ClusterIP" },
    { name: "Cluster-IP", type: "string", cell: (o) => orNone(get(o, "spec.clusterIP")) },
    { name: "External-IP", type: "string", cell: (o) => {
      const ext = (get(o, "spec.externalIPs") as string[] | undefined) ?? [];
      const lb = ((get(o, "status.loadBalancer.ingress") as { ip?: string; hostname?: string }[] | undefined) ?? []).map((i) => i.ip ?? i.hostname ?? "");
      const all = [...lb, ...ext];
      if (all.length) return all.join(",");
      return get(o, "spec.type") === "LoadBalancer" ? "<pending>" : get(o, "spec.type") === "ExternalName" ? String(get(o, "spec.externalName")) : "<none>";
    } },
    { name: "Port(s)", type: "string", cell: (o) => {
      const ports = (get(o, "spec.ports") as { port: number; protocol?: string; nodePort?: number }[] | undefined) ?? [];
      return ports.length ? ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",") : "<none>";
    } },
    ageColumn,
    { name: "Selector", type: "string", priority: 1, cell: (o) => {
      const s = get(o, "spec.selector") as Record<string, string> | undefined;
      return s && Object.keys(s).length ? Object.entries(s).map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
    } },
  ],
  endpoints: [
    nameColumn,
    { name: "Endpoints", type: "string", cell: (o) => {
      const subsets = (get(o, "subsets") as { addresses?: { ip: string }[]; ports?: { port: number }[] }[] | undefined) ?? [];
      const eps: string[] = [];
      for (const s of subsets) for (const a of s.addresses ?? []) for (const p of s.ports?.length ? s.ports : [{ port: 0 }]) eps.push(p.port ? `${a.ip}:${p.port}` : a.ip);
      if (!eps.length) return "<none>";
      return eps.length > 3 ? `${eps.slice(0, 3).join(",")} + ${eps.length - 3} more...` : eps.join(",");
    } },
    ageColumn,
  ],
  configmaps: [nameColumn, { name: "Data", type: "integer", cell: (o) => Object.keys((o.data as object) ?? {}).length + Object.keys((o.binaryData as object) ?? {}).length }, ageColumn],
  secrets: [nameColumn, { name: "Type", type: "string", cell: (o) => o.type ?? "Opaque" }, { name: "Data", type: "integer", cell: (o) => Object.keys((o.data as object) ?? {}).length }, ageColumn],
  serviceaccounts: [nameColumn, { name: "Secrets", type: "integer", cell: (o) => ((o.secrets as unknown[]) ?? []).length }, ageColumn],
  events: [
    { name: "Last Seen", type: "string", cell: (o, now) => age((o.lastTimestamp as string) ?? (o.eventTime as string) ?? o.metadata.creationTimestamp, now) },
    { name: "Type", type: "string", cell: (o) => o.type ?? "" },
    { name: "Reason", type: "string", cell: (o) => o.reason ?? "" },
    { name: "Object", type: "string", cell: (o) => `${String(get(o, "involvedObject.kind") ?? "").toLowerCase()}/${get(o, "involvedObject.name") ?? ""}` },
    { name: "Message", type: "string", cell: (o) => o.message ?? "" },
    { name: "Name", type: "string", format: "name", priority: 1, cell: (o) => o.metadata.name },
  ],
  resourcequotas: [nameColumn, ageColumn,
    { name: "Request", type: "string", cell: (o) => quotaCell(o, false) },
    { name: "Limit", type: "string", cell: (o) => quotaCell(o, true) }],
  limitranges: [nameColumn, { name: "Created At", type: "date", cell: (o) => o.metadata.creationTimestamp ?? "" }],
  controllerrevisions: [nameColumn,
    { name: "Controller", type: "string", cell: (o) => { const r = o.metadata.ownerReferences?.find((x) => x.controller); return r ? `${r.kind.toLowerCase()}.${r.apiVersion.includes("/") ? r.apiVersion.split("/")[0] : ""}/${r.name}`.replace("./", "/") : "<none>"; } },
    { name: "Revision", type: "integer", cell: (o) => num(get(o, "revision")) }, ageColumn],
  deployments: [
    nameColumn,
    { name: "Ready", type: "string", cell: (o) => `${num(get(o, "status.readyReplicas"))}/${num(get(o, "spec.replicas"))}` },
    { name: "Up-to-date", type: "integer", cell: (o) => num(get(o, "status.updatedReplicas")) },
    { name: "Available", type: "integer", cell: (o) => num(get(o, "status.availableReplicas")) },
    ageColumn, ...wideWorkload,
  ],
  replicasets: [
    nameColumn,
    { name: "Desired", type: "integer", cell: (o) => num(get(o, "spec.replicas")) },
    { name: "Current", type: "integer", cell: (o) => num(get(o, "status.replicas")) },
    { name: "Ready", type: "integer", cell: (o) => num(get(o, "status.readyReplicas")) },
    ageColumn, ...wideWorkload,
  ],
  daemonsets: [
    nameColumn,
    { name: "Desired", type: "integer", cell: (o) => num(get(o, "status.desiredNumberScheduled")) },
    { name: "Current", type: "integer", cell: (o) => num(get(o, "status.currentNumberScheduled")) },
    { name: "Ready", type: "integer", cell: (o) => num(get(o, "status.numberReady")) },
    { name: "Up-to-date", type: "integer", cell: (o) => num(get(o, "status.updatedNumberScheduled")) },
    { name: "Available", type: "integer", cell: (o) => num(get(o, "status.numberAvailable")) },
    { name: "Node Selector", type: "string", cell: (o) => {
      const s = get(o, "spec.template.spec.nodeSelector") as Record<string, string> | undefined;
      return s && Object.keys(s).length ? Object.entries(s).map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
    } },
    ageColumn, ...wideWorkload,
  ],
  statefulsets: [
    nameColumn,
    { name: "Ready", type: "string", cell: (o) => `${num(get(o, "status.readyReplicas"))}/${num(get(o, "spec.replicas"))}` },
    ageColumn, wideWorkload[0], wideWorkload[1],
  ],
  jobs: [
    nameColumn,
    { name: "Status", type: "string", cell: (o) => {
      const conds = (get(o, "status.conditions") as { type: string; status: string }[] | undefined) ?? [];
      const is = (t: string) => conds.some((c) => c.type === t && c.status === "True");
      return is("Complete") ? "Complete" : is("Failed") ? "Failed" : is("Suspended") ? "Suspended" : "Running";
    } },
    { name: "Completions", type: "string", cell: (o) => `${num(get(o, "status.succeeded"))}/${get(o, "spec.completions") ?? 1}` },
    { name: "Duration", type: "string", cell: (o, now) => {
      const start = get(o, "status.startTime") as string | undefined;
      if (!start) return "";
      const end = (get(o, "status.completionTime") as string | undefined) ? Date.parse(get(o, "status.completionTime") as string) : now;
      return humanDuration(end - Date.parse(start));
    } },
    ageColumn,
    { name: "Containers", type: "string", priority: 1, cell: (o) => containerNames(o) },
    { name: "Images", type: "string", priority: 1, cell: (o) => images(o) },
    { name: "Selector", type: "string", priority: 1, cell: selectorString },
  ],
  cronjobs: [
    nameColumn,
    { name: "Schedule", type: "string", cell: (o) => get(o, "spec.schedule") ?? "" },
    { name: "Timezone", type: "string", cell: (o) => orNone(get(o, "spec.timeZone")) },
    { name: "Suspend", type: "boolean", cell: (o) => Boolean(get(o, "spec.suspend")) },
    { name: "Active", type: "integer", cell: (o) => ((get(o, "status.active") as unknown[]) ?? []).length },
    { name: "Last Schedule", type: "string", cell: (o, now) => (get(o, "status.lastScheduleTime") ? age(get(o, "status.lastScheduleTime") as string, now) : "<none>") },
    ageColumn,
    { name: "Containers", type: "string", priority: 1, cell: (o) => containerNames(o, "spec.jobTemplate.spec.template.spec") },
    { name: "Images", type: "string", priority: 1, cell: (o) => images(o, "spec.jobTemplate.spec.template.spec") },
  ],
  leases: [nameColumn, { name: "Holder", type: "string", cell: (o) => get(o, "spec.holderIdentity") ?? "" }, ageColumn],
  endpointslices: [
    nameColumn,
    { name: "AddressType", type: "string", cell: (o) => o.addressType ?? "" },
    { name: "Ports", type: "string", cell: (o) => (((o.ports as { port?: number }[]) ?? []).map((p) => p.port ?? "").join(",") || "<unset>") },
    { name: "Endpoints", type: "string", cell: (o) => (((o.endpoints as { addresses: string[] }[]) ?? []).flatMap((e) => e.addresses).join(",") || "<unset>") },
    ageColumn,
  ],
  horizontalpodautoscalers: [
    nameColumn,
    { name: "Reference", type: "string", cell: (o) => `${get(o, "spec.scaleTargetRef.kind")}/${get(o, "spec.scaleTargetRef.name")}` },
    { name: "Targets", type: "string", cell: () => "<unknown>" },
    { name: "MinPods", type: "string", cell: (o) => String(get(o, "spec.minReplicas") ?? 1) },
    { name: "MaxPods", type: "integer", cell: (o) => num(get(o, "spec.maxReplicas")) },
    { name: "Replicas", type: "integer", cell: (o) => num(get(o, "status.currentReplicas")) },
    ageColumn,
  ],
  customresourcedefinitions: [nameColumn, { name: "Created At", type: "date", cell: (o) => o.metadata.creationTimestamp ?? "" }],
};

/** The columns for a built-in resource (by plural), or the default Name/Age. */
export function columnsFor(plural: string): Column[] {
  return byResource[plural] ?? [nameColumn, ageColumn];
}

/** Columns for a custom resource from its CRD's additionalPrinterColumns (jsonPath like .spec.x). */
export function customColumns(cols: { name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }[]): Column[] {
  return [
    nameColumn,
    ...cols.map((c): Column => ({
      name: c.name, type: (c.type as Column["type"]) ?? "string", format: c.format, description: c.description, priority: c.priority ?? 0,
      cell: (o, now) => {
        const v = get(o, c.jsonPath.replace(/^\./, ""));
        if (c.type === "date" && typeof v === "string") return age(v, now);
        return v ?? null;
      },
    })),
    ...(cols.some((c) => c.jsonPath === ".metadata.creationTimestamp") ? [] : [ageColumn]),
  ];
}
