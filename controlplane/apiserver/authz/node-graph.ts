// Which objects the pods bound to each node use (kube's node authorizer keeps this as a graph fed
// by informers): kept from one list + watch of the pods' storage prefix, so that a kubelet's
// request for a secret, configmap, claim, service account or token is answered from memory rather
// than by listing and decoding every pod of the namespace, which made each pod's start cost time
// in proportion to the pods already there. Only edges are kept, not the pods.
import type { Pod } from "../../../api/core.js";
import type { ResourceInfo } from "../../../api/registry.js";
import type { ObjectStore } from "../object-store.js";
import { storagePrefix } from "../object-store.js";
import { PrefixCache } from "../prefix-cache.js";
import { podReferences, type Ref } from "./node.js";

const edge = (node: string, kind: string, namespace: string, name: string) => `${node}\0${kind}\0${namespace}\0${name}`;

export class NodeGraph {
  /** Each bound pod's edges, by storage key. */
  private byPod = new Map<string, string[]>();
  /** Edge → how many pods make it. */
  private edges = new Map<string, number>();
  private readonly cache: PrefixCache;
  private started?: Promise<void>;

  constructor(objects: ObjectStore, pods: ResourceInfo, log?: (msg: string) => void) {
    this.cache = new PrefixCache(objects.store, storagePrefix(pods), {
      reset: () => {
        this.byPod = new Map();
        this.edges = new Map();
      },
      apply: (key, value) => {
        this.unlink(key);
        if (value === undefined) return;
        const pod = objects.decode(pods, { value, modRevision: 0 }) as Pod;
        const node = pod.spec?.nodeName;
        if (!node) return;
        const ns = pod.metadata.namespace ?? "";
        const mine = podReferences(pod.spec).map((r: Ref) => edge(node, r.kind, ns, r.name));
        this.byPod.set(key, mine);
        for (const e of mine) this.edges.set(e, (this.edges.get(e) ?? 0) + 1);
      },
    }, log);
  }

  private unlink(key: string): void {
    for (const e of this.byPod.get(key) ?? []) {
      const n = (this.edges.get(e) ?? 1) - 1;
      if (n > 0) this.edges.set(e, n);
      else this.edges.delete(e);
    }
    this.byPod.delete(key);
  }

  /** Whether a pod bound to node uses the object, as the watch has seen so far. */
  async uses(node: string, kind: Ref["kind"], namespace: string, name: string): Promise<boolean> {
    await (this.started ??= this.cache.start());
    return this.edges.has(edge(node, kind, namespace, name));
  }

  close(): Promise<void> {
    return this.cache.close();
  }
}
