// Endpoints and EndpointSlices: for each Service with a selector, the addresses of the pods it
// selects (ready ones as addresses, others as notReadyAddresses / ready=false), with target
// ports resolved against the pods' named container ports.
import type { Endpoints, EndpointAddress, EndpointPort, EndpointSubset, Pod, Service, ServicePort } from "../../api/core.js";
import type { KubeObject } from "../../api/meta.js";
import { R, isNotFound, isAlreadyExists, splitKey } from "../kit/index.js";
import { Controller, isPodReady, stableJson, type ControllerContext } from "./context.js";

import { SERVICE_NAME_LABEL } from "../../api/extensions.js";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
const MANAGED_BY = "endpointslice-controller.k8s.io";

interface EndpointSlice extends KubeObject {
  addressType: string;
  endpoints: { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean }; nodeName?: string; targetRef?: EndpointAddress["targetRef"] }[];
  ports?: { name?: string; port?: number; protocol?: string; appProtocol?: string }[];
}

function selects(svc: Service, pod: Pod): boolean {
  const sel = svc.spec?.selector;
  if (!sel || !Object.keys(sel).length) return false;
  return Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

function resolvePort(sp: ServicePort, pod: Pod): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === "number") return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? "TCP") === (sp.protocol ?? "TCP")) return p.containerPort;
  return undefined;
}

export class EndpointsController extends Controller {
  private readonly svcs = this.ctx.informers.get<Service>(R.services);
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);
  private readonly eps = this.ctx.informers.get<Endpoints>(R.endpoints);
  private readonly slices = this.ctx.informers.get<EndpointSlice>(R.endpointslices);

  constructor(ctx: ControllerContext) { super("endpoints", ctx); }

  register(): void {
    this.svcs.addEventHandler({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o), delete: (o) => this.enqueue(o) });
    const onPod = (p: Pod) => { for (const s of this.svcs.byNamespace(p.metadata.namespace!)) if (selects(s, p)) this.enqueue(s); };
    this.pods.addEventHandler({ add: onPod, update: (o, n) => { onPod(o); onPod(n); }, delete: onPod });
  }

  async reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.svcs.get(key);
    if (!svc) {
      // Endpoints have no owner reference (as in Kubernetes): delete them with the service.
      if (this.eps.get(key)) try { await this.ctx.client.delete(R.endpoints, namespace, name); } catch (err) { if (!isNotFound(err)) throw err; }
      return;
    }
    if (!svc.spec?.selector || !Object.keys(svc.spec.selector).length) return; // managed by hand
    const pods = this.pods.byNamespace(namespace!).filter((p) => selects(svc, p) && p.status?.podIP && !p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
    pods.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    await this.syncEndpoints(svc, pods);
    await this.syncSlice(svc, pods);
  }

  private addr(p: Pod): EndpointAddress {
    return { ip: p.status!.podIP!, nodeName: p.spec?.nodeName, targetRef: { kind: "Pod", namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid } };
  }

  private async syncEndpoints(svc: Service, pods: Pod[]): Promise<void> {
    // One subset per distinct resolved port list (pods with different named ports differ).
    const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
    for (const p of pods) {
      const ports: EndpointPort[] = [];
      for (const sp of svc.spec?.ports ?? []) {
        const port = resolvePort(sp, p);
        if (port !== undefined) ports.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? "TCP" });
      }
      const k = stableJson(ports);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { ports, ready: [], notReady: [] }));
      (isPodReady(p) || svc.spec?.publishNotReadyAddresses ? g.ready : g.notReady).push(this.addr(p));
    }
    const subsets: EndpointSubset[] = [...groups.values()].map((g) => ({
      ...(g.ready.length ? { addresses: g.ready } : {}), ...(g.notReady.length ? { notReadyAddresses: g.notReady } : {}), ...(g.ports.length ? { ports: g.ports } : {}),
    }));
    const cur = this.eps.getByName(svc.metadata.namespace, svc.metadata.name!);
    const labels = { ...(svc.metadata.labels ?? {}) };
    if (cur && stableJson(cur.subsets ?? []) === stableJson(subsets) && stableJson(cur.metadata.labels ?? {}) === stableJson(labels)) return;
    const body: Endpoints = { metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace, labels }, subsets } as Endpoints;
    if (cur) await this.ctx.client.update(R.endpoints, { ...body, metadata: { ...cur.metadata, labels } });
    else try { await this.ctx.client.create(R.endpoints, svc.metadata.namespace, body); } catch (err) { if (!isAlreadyExists(err)) throw err; throw new Error("endpoints exist but are not cached yet"); }
  }

  private async syncSlice(svc: Service, pods: Pod[]): Promise<void> {
    const name = `${svc.metadata.name}-keel`;
    const ports = (svc.spec?.ports ?? []).map((sp) => ({ ...(sp.name !== undefined ? { name: sp.name } : { name: "" }), port: pods.length ? resolvePort(sp, pods[0]!) : undefined, protocol: sp.protocol ?? "TCP" })).filter((p) => p.port !== undefined);
    const endpoints: EndpointSlice["endpoints"] = pods.map((p) => {
      const ready = isPodReady(p);
      return { addresses: [p.status!.podIP!], conditions: { ready, serving: ready, terminating: false }, nodeName: p.spec?.nodeName, targetRef: this.addr(p).targetRef };
    });
    const labels = { [SERVICE_NAME_LABEL]: svc.metadata.name!, [MANAGED_BY_LABEL]: MANAGED_BY };
    const cur = this.slices.getByName(svc.metadata.namespace, name);
    if (cur && stableJson(cur.endpoints ?? []) === stableJson(endpoints) && stableJson(cur.ports ?? []) === stableJson(ports)) return;
    const body: EndpointSlice = {
      metadata: {
        name, namespace: svc.metadata.namespace, labels,
        ownerReferences: [{ apiVersion: "v1", kind: "Service", name: svc.metadata.name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      addressType: "IPv4", endpoints, ports,
    };
    if (cur) await this.ctx.client.update(R.endpointslices, { ...body, metadata: { ...cur.metadata, labels } });
    else try { await this.ctx.client.create(R.endpointslices, svc.metadata.namespace, body); } catch (err) { if (!isAlreadyExists(err)) throw err; throw new Error("endpointslice exists but is not cached yet"); }
  }
}
