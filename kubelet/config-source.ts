// Where a pod's ConfigMaps and Secrets come from: the API server, or, standalone, ConfigMap and
// Secret manifests in the manifests directory beside the pods. Values are bytes (a Secret's data
// is base64 in the object; stringData is plain).
import type { ConfigMap, Secret } from "../api/index.js";
import { isNotFound, R, type KubeClient } from "../controlplane/kit/index.js";

export interface ConfigSource {
  configMap(namespace: string, name: string): Promise<Map<string, Buffer> | undefined>;
  secret(namespace: string, name: string): Promise<Map<string, Buffer> | undefined>;
}

export function configMapData(cm: ConfigMap): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(v, "base64"));
  return out;
}

export function secretData(s: Secret): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, Buffer.from(v, "base64"));
  for (const [k, v] of Object.entries(s.stringData ?? {})) out.set(k, Buffer.from(v));
  return out;
}

/** Objects read from the manifests directory (kept current by ManifestSource). */
export class StaticConfigSource implements ConfigSource {
  readonly configMaps = new Map<string, ConfigMap>();
  readonly secrets = new Map<string, Secret>();
  async configMap(ns: string, name: string) {
    const cm = this.configMaps.get(`${ns}/${name}`);
    return cm && configMapData(cm);
  }
  async secret(ns: string, name: string) {
    const s = this.secrets.get(`${ns}/${name}`);
    return s && secretData(s);
  }
}

export class ApiConfigSource implements ConfigSource {
  constructor(private readonly client: KubeClient) {}
  async configMap(ns: string, name: string) {
    try {
      return configMapData(await this.client.get<ConfigMap>(R.configmaps, ns, name));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  async secret(ns: string, name: string) {
    try {
      return secretData(await this.client.get<Secret>(R.secrets, ns, name));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}

/** Tries each source in turn (standalone objects first, then the API). */
export class ChainedConfigSource implements ConfigSource {
  constructor(private readonly sources: ConfigSource[]) {}
  async configMap(ns: string, name: string) {
    for (const s of this.sources) { const v = await s.configMap(ns, name); if (v) return v; }
    return undefined;
  }
  async secret(ns: string, name: string) {
    for (const s of this.sources) { const v = await s.secret(ns, name); if (v) return v; }
    return undefined;
  }
}
