// ServiceAccounts: every active namespace has a ServiceAccount named "default" (kube's
// serviceaccounts-controller), made when the namespace appears and again if it is deleted, so
// pods that name no service account have one to run as.
// (kube's kube-root-ca.crt publisher is left out: its ConfigMap would count against object
// quotas that tests and users set per namespace; add it when projected token volumes need it.)
import type { KubeObject } from "../../api/meta.js";
import { R, isAlreadyExists } from "../kit/index.js";
import { Controller, type ControllerContext } from "./context.js";

export const DEFAULT_SERVICE_ACCOUNT = "default";

export class ServiceAccountsController extends Controller {
  private readonly namespaces = this.ctx.informers.get<KubeObject>(R.namespaces);
  private readonly accounts = this.ctx.informers.get<KubeObject>(R.serviceaccounts);

  constructor(ctx: ControllerContext) { super("serviceaccounts", ctx); }

  register(): void {
    // The work queue's key is the namespace's name.
    this.namespaces.addEventHandler({ add: (ns) => this.enqueue(ns), update: (_, ns) => this.enqueue(ns) });
    this.accounts.addEventHandler({ delete: (sa) => { if (sa.metadata.name === DEFAULT_SERVICE_ACCOUNT) this.queue.add(sa.metadata.namespace!); } });
  }

  async reconcile(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp || (ns.status as { phase?: string } | undefined)?.phase === "Terminating") return;
    if (this.accounts.get(`${namespace}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    try {
      await this.ctx.client.create(R.serviceaccounts, namespace, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace } });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}
