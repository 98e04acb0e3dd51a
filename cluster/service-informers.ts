// Services and EndpointSlices, listed and watched once for everything a node runs from them: its
// Service proxy (services.ts) and its cluster DNS server (dns.ts). Whoever makes it stops it.
import type { Service } from "../api/core.js";
import type { EndpointSlice } from "../api/extensions.js";
import { Informer, KubeClient, R } from "../controlplane/kit/index.js";

export class ServiceInformers {
  readonly services: Informer<Service>;
  readonly slices: Informer<EndpointSlice>;
  private started?: Promise<void>;

  constructor(client: KubeClient, log: (m: string) => void) {
    this.services = new Informer<Service>(client, R.services, { log });
    this.slices = new Informer<EndpointSlice>(client, R.endpointslices, { log });
  }

  /** Calls changed on every event of either kind. */
  onChange(changed: () => void): void {
    for (const inf of [this.services, this.slices] as Informer[]) inf.addEventHandler({ add: changed, update: changed, delete: changed });
  }

  /** Lists and watches both (once, whoever asks first); resolves when both are listed. */
  start(): Promise<void> {
    return (this.started ??= Promise.all([this.services.start(), this.slices.start()]).then(() => undefined));
  }

  get hasSynced(): boolean {
    return this.services.hasSynced && this.slices.hasSynced;
  }

  stop(): void {
    this.services.stop();
    this.slices.stop();
  }
}
