// Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection with the Lease
// lock): the holder renews every retryPeriod; a candidate takes the lease once the holder has not
// renewed for leaseDuration; a leader that cannot renew within renewDeadline steps down.
import type { Lease } from "../../api/extensions.js";

export type { Lease };
import { isAlreadyExists, isConflict, isNotFound, type KubeClient } from "./client.js";
import { R } from "./resources.js";
import { hostname } from "node:os";


export interface LeaderElectionOptions {
  client: KubeClient;
  namespace?: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  onNewLeader?: (identity: string) => void;
  log?: (msg: string) => void;
}

/** MicroTime as the API writes it: RFC 3339 with microseconds. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastRenew = 0;
  private observedHolder = "";
  private readonly ns: string;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly log: (msg: string) => void;

  constructor(private readonly o: LeaderElectionOptions) {
    this.ns = o.namespace ?? "kube-system";
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? Math.round(this.leaseMs * 2 / 3);
    this.retryMs = o.retryPeriodMs ?? Math.max(100, Math.round(this.leaseMs / 7.5));
    this.log = o.log ?? (() => {});
  }

  get isLeader(): boolean { return this.leading; }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.retryMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.log(`leader election ${this.o.name}: ${(err as Error).message}`);
    }
    if (this.stopped) return;
    if (ok) {
      this.lastRenew = Date.now();
      if (!this.leading) {
        this.leading = true;
        this.log(`leader election ${this.o.name}: ${this.o.identity} became leader`);
        await this.o.onStartedLeading();
      }
    } else if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) {
      this.leading = false;
      this.log(`leader election ${this.o.name}: ${this.o.identity} lost the lease`);
      await this.o.onStoppedLeading();
    }
    this.schedule();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const mine = (prev?: Lease["spec"]): Lease["spec"] => ({
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseMs / 1000)),
      acquireTime: prev?.holderIdentity === this.o.identity && prev.acquireTime ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev?.holderIdentity && prev.holderIdentity !== this.o.identity ? 1 : 0),
    });
    let lease: Lease;
    try {
      lease = await this.o.client.get<Lease>(R.leases, this.ns, this.o.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.o.client.create<Lease>(R.leases, this.ns, { metadata: { name: this.o.name, namespace: this.ns }, spec: mine() });
        return true;
      } catch (e) {
        if (isAlreadyExists(e) || isConflict(e)) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder) this.o.onNewLeader?.(holder);
    }
    if (holder && holder !== this.o.identity) {
      const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
      const durMs = (spec.leaseDurationSeconds ?? 15) * 1000;
      if (Date.now() < renewed + durMs) return false; // held and fresh
    }
    try {
      await this.o.client.update<Lease>(R.leases, { ...lease, spec: mine(spec) });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Stops; a leader releases the lease so a standby need not wait out the duration. */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.leading && release) {
      try {
        const lease = await this.o.client.get<Lease>(R.leases, this.ns, this.o.name);
        if (lease.spec?.holderIdentity === this.o.identity) {
          await this.o.client.update<Lease>(R.leases, { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime() } });
        }
      } catch { /* best effort: the lease expires anyway */ }
    }
    if (this.leading) {
      this.leading = false;
      await this.o.onStoppedLeading();
    }
  }
}

/** A Lease holder's identity as client-go makes one: hostname, pid and a random suffix. */
export function defaultIdentity(): string {
  return `${hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** How a component (controller-manager, scheduler) takes part in leader election. */
export interface LeadershipConfig {
  leaderElect?: boolean;
  /** Identity in the Lease (default hostname_pid_random). */
  identity?: string;
  leaseName?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface Leadership {
  readonly identity: string;
  readonly isLeader: boolean;
  /** Resolves once this component leads and its work has started. */
  leading(): Promise<void>;
  /** Stops the election (releasing the Lease unless `release` is false: a crash) and the work. */
  stop(release?: boolean): Promise<void>;
}

/**
 * Runs a component's work while it leads: `start` when it takes the Lease (returning false if it
 * was stopped before it finished starting), `stop` when it loses it; without leaderElect, at
 * once. The one loop the controller-manager and the scheduler share.
 */
export async function runWhileLeading(
  client: KubeClient,
  cfg: LeadershipConfig & { defaultLeaseName: string; log?: (msg: string) => void },
  start: (identity: string) => Promise<boolean>,
  stop: () => void | Promise<void>,
): Promise<Leadership> {
  const identity = cfg.identity ?? defaultIdentity();
  let leader = false;
  const waiters: (() => void)[] = [];
  const begin = async () => {
    if (!(await start(identity))) return;
    leader = true;
    for (const w of waiters.splice(0)) w();
  };
  const end = async () => {
    leader = false;
    await stop();
  };
  let elector: LeaderElector | undefined;
  if (cfg.leaderElect) {
    elector = new LeaderElector({
      client, name: cfg.leaseName ?? cfg.defaultLeaseName, namespace: "kube-system", identity,
      leaseDurationMs: cfg.leaseDurationMs, renewDeadlineMs: cfg.renewDeadlineMs, retryPeriodMs: cfg.retryPeriodMs,
      onStartedLeading: () => { void begin(); }, onStoppedLeading: () => end(), log: cfg.log,
    });
    elector.start();
  } else {
    await begin();
  }
  return {
    identity,
    get isLeader() { return leader; },
    leading: () => (leader ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    async stop(release = true) {
      if (elector) await elector.stop(release);
      await end();
    },
  };
}
