// Static pod manifests: a file in the manifests directory holds one Pod (YAML or JSON). It is
// defaulted and validated by api/ exactly as the API server would, so a bad manifest is refused
// with the field named and nothing of it starts. Its UID is a hash of the file's path and content
// (as kubelet does for static pods): an edited manifest is a new pod that replaces the old one,
// and a restarted kubelet computes the same UID and finds its running pod again.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { applyDefaults, validateCreate, type ConfigMap, type Pod, type Secret } from "../api/index.js";
import { ManifestError } from "./errors.js";

export const MANIFEST_EXTENSIONS = [".yaml", ".yml", ".json"];

function uidFrom(file: string, text: string): string {
  const h = createHash("sha256").update(file).update("\0").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Parses, defaults and validates a Pod from the text of `file`. */
export function parsePodManifest(file: string, text: string, nodeName: string): Pod {
  const m = parseManifest(file, text, nodeName);
  if (m.kind !== "Pod") throw new ManifestError(file, "kind", `expected "Pod", found ${JSON.stringify(m.kind)}`);
  return m.object as Pod;
}

export type ManifestObject = { kind: "Pod"; object: Pod } | { kind: "ConfigMap"; object: ConfigMap } | { kind: "Secret"; object: Secret };

/** A Pod, or a ConfigMap or Secret that pods of the same directory use, validated as the API server would. */
export function parseManifest(file: string, text: string, nodeName: string): ManifestObject {
  let obj: unknown;
  try {
    const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
    if (docs.length !== 1) throw new ManifestError(file, undefined, `expected exactly one document, found ${docs.length}`);
    if (docs[0].errors.length) throw new ManifestError(file, undefined, docs[0].errors[0].message);
    obj = docs[0].toJS();
  } catch (e) {
    if (e instanceof ManifestError) throw e;
    throw new ManifestError(file, undefined, `not YAML or JSON: ${(e as Error).message}`);
  }
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new ManifestError(file, undefined, "not an object");
  const pod = obj as Pod;
  if (pod.kind !== "Pod" && pod.kind !== "ConfigMap" && pod.kind !== "Secret") throw new ManifestError(file, "kind", `expected "Pod" (or a ConfigMap or Secret it uses), found ${JSON.stringify(pod.kind)}`);
  if (pod.apiVersion !== "v1") throw new ManifestError(file, "apiVersion", `expected "v1", found ${JSON.stringify(pod.apiVersion)}`);
  if (pod.kind !== "Pod") {
    pod.metadata ??= { name: "" };
    pod.metadata.namespace ??= "default";
    const errs = validateCreate({ group: "", kind: pod.kind, namespaced: true }, pod);
    if (errs.length) throw new ManifestError(file, errs[0].field, errs.map((e) => e.message).join("; "));
    return pod.kind === "ConfigMap" ? { kind: "ConfigMap", object: pod as ConfigMap } : { kind: "Secret", object: pod as Secret };
  }
  pod.metadata ??= { name: "" };
  pod.metadata.namespace ??= "default";
  applyDefaults("", "Pod", pod);
  const errs = validateCreate({ group: "", kind: "Pod", namespaced: true }, pod);
  if (errs.length) throw new ManifestError(file, errs[0].field, errs.map((e) => e.message).join("; "));
  pod.metadata.uid = uidFrom(file, text);
  pod.metadata.annotations = { ...pod.metadata.annotations, "kubernetes.io/config.source": "file", "kubernetes.io/config.hash": pod.metadata.uid };
  pod.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  // kubelet names a static pod after its node (mirror pods); standalone we keep the plain name.
  pod.spec!.nodeName = nodeName;
  return { kind: "Pod", object: pod };
}

export function readManifest(file: string, nodeName: string): ManifestObject {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ManifestError(file, undefined, `cannot read: ${(e as Error).message}`);
  }
  return parseManifest(file, text, nodeName);
}

export function readPodManifest(file: string, nodeName: string): Pod {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ManifestError(file, undefined, `cannot read: ${(e as Error).message}`);
  }
  return parsePodManifest(file, text, nodeName);
}
