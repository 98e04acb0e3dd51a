// Pod volumes: emptyDir (a directory under the pod, or a tmpfs for medium Memory with its
// sizeLimit) and hostPath (checked against its type). Each volume becomes a host path that
// containers bind-mount at their volumeMounts.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import { parseQuantity, type Pod } from "../api/index.js";
import { native, MNT_DETACH } from "../native/index.js";
import type { Mount } from "../oci/runtime-spec.js";
import { VolumeError } from "./errors.js";
import type { KubeletPaths } from "./paths.js";
import type { ConfigSource } from "./config-source.js";

const podName = (pod: Pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;

/** Writes a ConfigMap's or Secret's keys (or the chosen items) as files into `dir`. */
function writeProjected(pod: Pod, vol: string, dir: string, data: Map<string, Buffer>, items: { key: string; path: string; mode?: number }[] | undefined, defaultMode: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const entries = items?.length ? items.map((i) => ({ key: i.key, path: i.path, mode: i.mode ?? defaultMode })) : [...data.keys()].map((k) => ({ key: k, path: k, mode: defaultMode }));
  for (const e of entries) {
    const v = data.get(e.key);
    if (v === undefined) throw new VolumeError(podName(pod), vol, `key ${e.key} not found`);
    const rel = normalize(e.path);
    if (isAbsolute(rel) || rel.startsWith("..")) throw new VolumeError(podName(pod), vol, `item path ${e.path} must be relative and stay inside the volume`);
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), v, { mode: e.mode });
    chmodSync(join(dir, rel), e.mode);
  }
}

/** Creates the pod's volumes (idempotent: a re-adopted pod keeps what it has); returns name → host path. */
export async function setUpVolumes(pod: Pod, paths: KubeletPaths, configs?: ConfigSource): Promise<Map<string, string>> {
  const uid = pod.metadata.uid!;
  const out = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.emptyDir) {
      const dir = paths.volumeDir(uid, "empty-dir", v.name);
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true, mode: 0o777 });
        if (v.emptyDir.medium === "Memory") {
          const size = v.emptyDir.sizeLimit ? `,size=${parseQuantity(v.emptyDir.sizeLimit).value()}` : "";
          native.mount("tmpfs", dir, "tmpfs", 0, `mode=0777${size}`);
        }
      }
      out.set(v.name, dir);
    } else if (v.hostPath) {
      out.set(v.name, hostPathVolume(pod, v.name, v.hostPath.path, v.hostPath.type ?? ""));
    } else if (v.configMap || v.secret) {
      const isCm = !!v.configMap;
      const src = (v.configMap ?? v.secret)!;
      const objName = (isCm ? v.configMap!.name : v.secret!.secretName) ?? "";
      const ns = pod.metadata.namespace ?? "default";
      const data = configs ? await (isCm ? configs.configMap(ns, objName) : configs.secret(ns, objName)) : undefined;
      const dir = paths.volumeDir(uid, isCm ? "configmap" : "secret", v.name);
      if (!data && !src.optional) throw new VolumeError(podName(pod), v.name, `${isCm ? "configmap" : "secret"} "${objName}" not found`);
      writeProjected(pod, v.name, dir, data ?? new Map(), data ? src.items : undefined, src.defaultMode ?? 0o644);
      out.set(v.name, dir);
    } else {
      const kind = Object.keys(v).find((k) => k !== "name") ?? "unknown";
      throw new VolumeError(podName(pod), v.name, `volume type ${kind} is not supported by this kubelet (emptyDir, hostPath, configMap and secret are)`);
    }
  }
  return out;
}

function hostPathVolume(pod: Pod, name: string, path: string, type: string): string {
  if (!isAbsolute(path)) throw new VolumeError(podName(pod), name, `hostPath.path ${path} must be absolute`);
  const st = existsSync(path) ? statSync(path) : undefined;
  const fail = (what: string) => { throw new VolumeError(podName(pod), name, `hostPath ${path}: ${what} (type ${type})`); };
  switch (type) {
    case "":
      break;
    case "DirectoryOrCreate":
      if (!st) mkdirSync(path, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) fail("exists and is not a directory");
      break;
    case "Directory":
      if (!st?.isDirectory()) fail("is not an existing directory");
      break;
    case "FileOrCreate":
      if (!st) writeFileSync(path, "", { mode: 0o644 });
      else if (!st.isFile()) fail("exists and is not a file");
      break;
    case "File":
      if (!st?.isFile()) fail("is not an existing file");
      break;
    case "Socket":
      if (!st?.isSocket()) fail("is not a socket");
      break;
    case "CharDevice":
      if (!st?.isCharacterDevice()) fail("is not a character device");
      break;
    case "BlockDevice":
      if (!st?.isBlockDevice()) fail("is not a block device");
      break;
    default:
      fail("unknown type");
  }
  return path;
}

/** The bind mounts of a container's volumeMounts. */
export function volumeMounts(pod: Pod, container: { name: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[] }, volumes: Map<string, string>): Mount[] {
  return (container.volumeMounts ?? []).map((m) => {
    const src = volumes.get(m.name);
    if (!src) throw new VolumeError(podName(pod), m.name, `container ${container.name} mounts a volume the pod does not define`);
    let source = src;
    if (m.subPath) {
      const sub = normalize(m.subPath);
      if (isAbsolute(sub) || sub.startsWith("..")) throw new VolumeError(podName(pod), m.name, `subPath ${m.subPath} must be relative and stay inside the volume`);
      source = join(src, sub);
      if (!existsSync(source)) mkdirSync(source, { recursive: true, mode: 0o777 });
    }
    return { destination: m.mountPath, type: "bind", source, options: ["rbind", "rprivate", ...(m.readOnly ? ["ro"] : [])] };
  });
}

/** Removes the pod's volumes: unmounts memory-backed emptyDirs, deletes emptyDir content (hostPaths stay). */
export function tearDownVolumes(uid: string, paths: KubeletPaths): void {
  const base = join(paths.volumesDir(uid), "empty-dir");
  if (existsSync(base)) {
    for (const name of readdir(base)) {
      try {
        native.umount2(join(base, name), MNT_DETACH);
      } catch { /* not a mount */ }
    }
  }
  rmSync(paths.volumesDir(uid), { recursive: true, force: true });
}

function readdir(d: string): string[] {
  try { return readdirSync(d); } catch { return []; }
}
