// Where a pod's kubelet listens: the pod's spec.nodeName, then that Node's kubelet endpoint
// (api/kubelet-endpoint.ts). Also the container a request is about.
import type { Node, Pod } from "../../../api/index.js";
import type { ResourceRegistry } from "../../../api/registry.js";
import { kubeletBaseUrl } from "../../../api/kubelet-endpoint.js";
import { ApiError } from "../errors.js";
import type { ObjectStore } from "../object-store.js";

export interface KubeletLocation { host: string; port: number; /** A path the kubelet API sits under ("" usually). */ prefix: string; pod: Pod }

export async function locateKubelet(registry: ResourceRegistry, objects: ObjectStore, namespace: string, name: string): Promise<KubeletLocation> {
  const pod = (await objects.get(registry.get("", "v1", "pods")!, namespace, name)) as unknown as Pod;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw new ApiError(400, "BadRequest", `pod ${name} does not have a host assigned`);
  let node: Node;
  try {
    node = (await objects.get(registry.get("", "v1", "nodes")!, undefined, nodeName)) as unknown as Node;
  } catch {
    throw new ApiError(500, "InternalError", `node ${nodeName} of pod ${name} is not registered`);
  }
  let base: URL;
  try {
    base = kubeletBaseUrl(node);
  } catch (e) {
    throw new ApiError(500, "InternalError", (e as Error).message);
  }
  return { host: base.hostname.replace(/^\[|\]$/g, ""), port: Number(base.port || 80), prefix: base.pathname.replace(/\/+$/, ""), pod };
}

/** The container a request names, or the pod's only one (else a 400 listing the choices). */
export function pickContainer(pod: Pod, requested: string | null): string {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  if (requested) {
    if (!all.includes(requested)) throw new ApiError(400, "BadRequest", `container ${requested} is not valid for pod ${pod.metadata.name}`);
    return requested;
  }
  const main = (pod.spec?.containers ?? []).map((c) => c.name);
  if (main.length === 1) return main[0];
  throw new ApiError(400, "BadRequest", `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${main.join(" ")}]`);
}
