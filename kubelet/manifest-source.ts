// Standalone mode's source of pods: a directory of Pod manifests, re-read when it changes
// (inotify, through fs.watch) and every interval besides (kubelet's --pod-manifest-path polls
// every 20 s; a change seen at once is what makes a static pod start in milliseconds). A file that fails to parse or
// validate is reported once per change and starts nothing; a pod already running from an
// earlier good version of that file keeps running until the file is fixed or removed.
import { readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import { extname, join } from "node:path";
import type { Pod } from "../api/index.js";
import type { StaticConfigSource } from "./config-source.js";
import { MANIFEST_EXTENSIONS, readManifest, type ManifestObject } from "./manifest.js";

export interface ManifestSourceOptions {
  dir: string;
  nodeName: string;
  intervalMs?: number;
  onPods(pods: Pod[]): Promise<void>;
  onError(file: string, err: Error): void;
  /** Receives the ConfigMaps and Secrets of the directory. */
  configs?: StaticConfigSource;
}

export class ManifestSource {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private seen = new Map<string, { key: string; obj?: ManifestObject }>();
  private running?: Promise<void>;
  private watcher?: FSWatcher;
  private kickTimer?: NodeJS.Timeout;

  constructor(private readonly o: ManifestSourceOptions) {}

  /** Reads the directory now and applies it; resolves once the pods are handed over. */
  scan(): Promise<void> {
    this.running = (this.running ?? Promise.resolve()).then(() => this.scanOnce());
    return this.running;
  }

  private async scanOnce(): Promise<void> {
    let names: string[] = [];
    try {
      names = readdirSync(this.o.dir).filter((n) => !n.startsWith(".") && MANIFEST_EXTENSIONS.includes(extname(n)));
    } catch (e) {
      this.o.onError(this.o.dir, e as Error);
      return;
    }
    const next = new Map<string, { key: string; obj?: ManifestObject }>();
    for (const n of names.sort()) {
      const file = join(this.o.dir, n);
      let key: string;
      try {
        const st = statSync(file);
        key = `${st.mtimeMs}:${st.size}:${st.ino}`;
      } catch {
        continue;
      }
      const prev = this.seen.get(file);
      if (prev && prev.key === key) { next.set(file, prev); continue; }
      try {
        next.set(file, { key, obj: readManifest(file, this.o.nodeName) });
      } catch (e) {
        this.o.onError(file, e as Error);
        next.set(file, { key, obj: prev?.obj });
      }
    }
    this.seen = next;
    const objs = [...next.values()].flatMap((v) => (v.obj ? [v.obj] : []));
    if (this.o.configs) {
      this.o.configs.configMaps.clear();
      this.o.configs.secrets.clear();
      for (const o of objs) {
        const key = `${o.object.metadata.namespace}/${o.object.metadata.name}`;
        if (o.kind === "ConfigMap") this.o.configs.configMaps.set(key, o.object);
        if (o.kind === "Secret") this.o.configs.secrets.set(key, o.object);
      }
    }
    const pods = objs.flatMap((o) => (o.kind === "Pod" ? [o.object] : []));
    await this.o.onPods(pods);
  }

  /** A change in the directory: scan soon (a few ms gathers the events of one write or a burst). */
  private kick(): void {
    if (this.stopped || this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      void this.scan();
    }, 2);
  }

  start(): Promise<void> {
    try {
      this.watcher = watch(this.o.dir, () => this.kick());
      this.watcher.on("error", () => { this.watcher?.close(); this.watcher = undefined; });
    } catch { /* no directory yet, or no inotify: the interval still sees changes */ }
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.scan().finally(loop), this.o.intervalMs ?? 1000);
    };
    return this.scan().finally(loop);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.kickTimer);
    this.watcher?.close();
    await this.running;
  }
}
