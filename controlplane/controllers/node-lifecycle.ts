// Node lifecycle: a node whose Lease in kube-node-lease has not been renewed for the grace period
// turns Ready=Unknown and gets the unreachable NoExecute taint (not-ready when its kubelet says
// Ready=False); pods on a NoExecute-tainted node are evicted once their tolerations run out,
// and their owners recreate them elsewhere. A node that renews again gets its taints removed.
import type { Node, Pod, Taint, Toleration } from "../../api/core.js";
import type { Condition } from "../../api/meta.js";
import { R, isConflict, isNotFound, type Lease } from "../kit/index.js";
import { Controller, type ControllerContext } from "./context.js";

export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";

function tolerates(tols: Toleration[] | undefined, t: Taint): Toleration | undefined {
  return (tols ?? []).find((tol) => (!tol.effect || tol.effect === t.effect)
    && (tol.operator === "Exists" ? !tol.key || tol.key === t.key : tol.key === t.key && (tol.value ?? "") === (t.value ?? "")));
}

/** When a pod must leave a node with these NoExecute taints: now, later (ms since epoch), or never. */
export function evictionTime(pod: Pod, taints: Taint[], now = Date.now()): number | undefined {
  let at = -Infinity;
  for (const t of taints) {
    if (t.effect !== "NoExecute") continue;
    const tol = tolerates(pod.spec?.tolerations, t);
    if (!tol) return now;
    if (tol.tolerationSeconds === undefined) continue;
    const since = t.timeAdded ? Date.parse(t.timeAdded) : now;
    at = Math.max(at, since + Math.max(0, tol.tolerationSeconds) * 1000);
  }
  return at === -Infinity ? undefined : at;
}

const nowTime = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export class NodeLifecycleController extends Controller {
  private readonly nodes = this.ctx.informers.get<Node>(R.nodes);
  private readonly leases = this.ctx.informers.get<Lease>(R.leases);
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);
  private readonly graceMs = this.ctx.nodeMonitorGracePeriodMs ?? 40_000;
  private readonly started = Date.now();
  private ticker?: NodeJS.Timeout;

  constructor(ctx: ControllerContext) { super("node-lifecycle", ctx); }

  register(): void {
    this.nodes.addEventHandler({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o), delete: (o) => this.enqueue(o) });
    this.leases.addEventHandler({ update: (_, l) => { if (l.metadata.namespace === "kube-node-lease") this.queue.add(l.metadata.name!); } });
    this.pods.addEventHandler({ add: (p) => { if (p.spec?.nodeName) this.queue.add(p.spec.nodeName); } });
    // Staleness is a matter of time passing, not of events: look at every node regularly.
    this.ticker = setInterval(() => { for (const k of this.nodes.listKeys()) this.queue.add(k); }, Math.max(200, Math.min(5_000, this.graceMs / 4)));
    this.ticker.unref();
  }

  override stop(): void { clearInterval(this.ticker); super.stop(); }

  async reconcile(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) return this.collectOrphans(name);
    const lease = this.leases.getByName("kube-node-lease", name);
    const renewed = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : 0;
    // A controller-manager that just started gives every node a full grace period.
    const fresh = Date.now() - Math.max(renewed, this.started) < this.graceMs;
    const conds = node.status?.conditions ?? [];
    const ready = conds.find((c) => c.type === "Ready");
    let taints = [...(node.spec?.taints ?? [])];
    const has = (k: string) => taints.some((t) => t.key === k && t.effect === "NoExecute");
    const want = !fresh ? TAINT_UNREACHABLE : ready?.status === "False" ? TAINT_NOT_READY : undefined;

    if (!fresh && ready?.status !== "Unknown") {
      const msg = "Kubelet stopped posting node status.";
      const next: Condition[] = conds.map((c) => (["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"].includes(c.type)
        ? { ...c, status: "Unknown", reason: "NodeStatusUnknown", message: msg, lastTransitionTime: nowTime() } as Condition : c));
      if (!ready) next.push({ type: "Ready", status: "Unknown", reason: "NodeStatusUnknown", message: msg, lastTransitionTime: nowTime() } as Condition);
      await this.ctx.client.patchStatus(R.nodes, undefined, name, { status: { conditions: next } });
      this.ctx.recorder.event({ ...node, apiVersion: "v1", kind: "Node" }, "Normal", "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
    }
    const before = JSON.stringify(taints);
    taints = taints.filter((t) => !(t.effect === "NoExecute" && (t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY) && t.key !== want));
    if (want && !has(want)) taints.push({ key: want, effect: "NoExecute", timeAdded: nowTime() });
    if (JSON.stringify(taints) !== before) {
      await this.ctx.client.patch(R.nodes, undefined, name, [
        { op: "test", path: "/metadata/resourceVersion", value: node.metadata.resourceVersion },
        { op: node.spec?.taints ? "replace" : "add", path: "/spec/taints", value: taints },
      ], "json");
    }
    await this.evict(name, taints);
  }

  /** Pod GC: pods bound to a node that no longer exists are deleted at once (no kubelet will). */
  private async collectOrphans(nodeName: string): Promise<void> {
    for (const pod of this.pods.byIndex("node", nodeName)) {
      try {
        await this.ctx.client.delete(R.pods, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
  }

  private async evict(nodeName: string, taints: Taint[]): Promise<void> {
    if (!taints.some((t) => t.effect === "NoExecute")) return;
    let soonest = Infinity;
    for (const pod of this.pods.byIndex("node", nodeName)) {
      if (pod.metadata.deletionTimestamp) continue;
      const at = evictionTime(pod, taints);
      if (at === undefined) continue;
      if (at > Date.now()) { soonest = Math.min(soonest, at); continue; }
      try {
        await this.ctx.client.delete(R.pods, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
        this.ctx.recorder.event({ ...pod, apiVersion: "v1", kind: "Pod" }, "Normal", "TaintManagerEviction", `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (soonest !== Infinity) this.queue.addAfter(nodeName, soonest - Date.now() + 10);
  }
}
