// An event recorder: writes core/v1 Events about objects, folding repeats into one Event whose
// count goes up (as client-go's EventCorrelator does), never blocking the caller.
import type { KubeObject } from "../../api/meta.js";
import type { Event, ObjectReference } from "../../api/core.js";
import type { KubeClient } from "./client.js";
import { R } from "./resources.js";

export type EventType = "Normal" | "Warning";

export class EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number; firstTimestamp: string }>();
  private pending = new Set<Promise<void>>();

  constructor(private readonly client: KubeClient, readonly component: string, private readonly host?: string) {}

  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const p = this.write(obj, type, reason, message).catch(() => { /* events are best effort */ });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for events in flight (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace || "default";
    const ref: ObjectReference = {
      apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace,
      uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion,
    };
    const key = [obj.metadata.uid ?? obj.metadata.name, type, reason, message].join("\u0000");
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const prev = this.seen.get(key);
    if (prev) {
      prev.count++;
      try {
        await this.client.patch(R.events, prev.namespace, prev.name, { count: prev.count, lastTimestamp: now });
        return;
      } catch { this.seen.delete(key); }
    }
    const name = `${obj.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
    const ev: Event = {
      metadata: { name, namespace },
      involvedObject: ref, reason, message, type,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      firstTimestamp: now, lastTimestamp: now, count: 1,
      reportingComponent: this.component, reportingInstance: this.host ?? this.component,
    } as Event;
    await this.client.create(R.events, namespace, ev);
    if (this.seen.size > 4096) this.seen.clear();
    this.seen.set(key, { name, namespace, count: 1, firstTimestamp: now });
  }
}
