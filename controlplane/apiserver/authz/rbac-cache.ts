// The RBAC objects kept in memory from one list + watch of the store's rbac prefix (Roles,
// ClusterRoles and both bindings), so a request is authorized without a store read. A watch
// lags a write by a moment, so a denial is re-checked against a fresh read of the store
// (`fresh()`): a binding made a moment ago is always honoured, and allowed requests stay free.
import type { Store } from "../../store/index.js";
import { listPrefix, PrefixCache } from "../prefix-cache.js";
import { RBAC_PREFIX, RbacState } from "./rbac-state.js";

export class RbacCache {
  private state = new RbacState();
  private readonly cache: PrefixCache;

  constructor(private readonly store: Store, log: (msg: string) => void = () => {}) {
    this.cache = new PrefixCache(store, RBAC_PREFIX, {
      reset: () => { this.state = new RbacState(); },
      apply: (key, value) => this.state.apply(key, value),
    }, log);
  }

  get current(): RbacState {
    return this.state;
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  /** The RBAC objects read from the store now (not shared: a read begun earlier may predate a write). */
  async fresh(): Promise<RbacState> {
    const state = new RbacState();
    for (const [k, v] of (await listPrefix(this.store, RBAC_PREFIX)).items) state.apply(k, v);
    return state;
  }

  close(): Promise<void> {
    return this.cache.close();
  }
}
