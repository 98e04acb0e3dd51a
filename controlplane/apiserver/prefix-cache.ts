// A store prefix kept in memory by one list + watch (an informer inside the API server, as
// kube-apiserver's admission plugins and authorizers read listers instead of etcd): each key's
// value is handed to `apply` as it is listed or changes (undefined when deleted). A watch that
// ends (compaction, a store error) is followed by a fresh list after a moment. A watch lags a
// write by a moment; callers that must see a write made a moment ago read the store themselves.
import type { Store, Watch } from "../store/index.js";

const PAGE = 1000;

/** Every key under `prefix` now, read page by page from one snapshot, and that revision. */
export async function listPrefix(store: Store, prefix: string): Promise<{ items: [string, string][]; revision: number }> {
  let cont: string | undefined;
  let revision = 0;
  const items: [string, string][] = [];
  for (;;) {
    const page = await store.list(prefix, { limit: PAGE, continue: cont });
    revision = page.revision;
    for (const kv of page.items) items.push([kv.key, kv.value]);
    if (!page.continue) return { items, revision };
    cont = page.continue;
  }
}

export class PrefixCache {
  private watch?: Watch;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;

  /**
   * `reset` starts a new copy before a (re)list; `apply` receives each key's value, or undefined
   * when the key is deleted.
   */
  constructor(
    private readonly store: Store,
    readonly prefix: string,
    private readonly sink: { reset(): void; apply(key: string, value: string | undefined): void },
    private readonly log: (msg: string) => void = () => {},
  ) {}

  async start(): Promise<void> {
    const { items: listed, revision } = await listPrefix(this.store, this.prefix);
    if (this.closed) return;
    this.sink.reset();
    for (const [k, v] of listed) this.sink.apply(k, v);
    this.watch = await this.store.watch(this.prefix, revision, (ev) => {
      this.sink.apply(ev.key, ev.type === "DELETE" ? undefined : ev.value);
    }, (err) => {
      this.log(`cache of ${this.prefix}: watch ended (${err.message}); listing again`);
      this.watch = undefined;
      if (!this.closed) this.retryTimer = setTimeout(() => { void this.start().catch((e) => this.log(`cache of ${this.prefix}: ${(e as Error).message}`)); }, 500);
    });
    if (this.closed) await this.watch.cancel();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.watch?.cancel();
  }
}
