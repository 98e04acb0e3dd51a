// The four PATCH bodies kube-apiserver accepts, applied to an object.
import jsonpatch from "fast-json-patch";
import { parse as parseYaml } from "yaml";
import type { KubeObject } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/registry.js";
import { definitions } from "../../api/schemas.js";
import { strategicMerge, jsonMergePatch } from "../../api/strategic-merge.js";
import { ApiError, badRequest, unsupportedMediaType } from "./errors.js";

export type PatchType = "json" | "merge" | "strategic" | "apply";

export function patchTypeOf(contentType: string | undefined): PatchType {
  const t = (contentType ?? "").split(";")[0].trim().toLowerCase();
  switch (t) {
    case "application/json-patch+json": return "json";
    case "application/merge-patch+json": return "merge";
    case "application/strategic-merge-patch+json": return "strategic";
    case "application/apply-patch+yaml": case "application/apply-patch+cbor": return "apply";
    default: throw unsupportedMediaType(t || "none");
  }
}

export function parsePatchBody(type: PatchType, raw: Buffer): unknown {
  const text = raw.toString("utf8");
  try {
    return type === "apply" ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

/** Applies a patch to `current` and returns the patched object (current is not modified). */
export function applyPatch(r: ResourceInfo, current: KubeObject, type: PatchType, patch: unknown): KubeObject {
  switch (type) {
    case "json": {
      if (!Array.isArray(patch)) throw badRequest("json patch must be an array of operations");
      try {
        return jsonpatch.applyPatch(structuredClone(current), patch as jsonpatch.Operation[], true, false).newDocument as KubeObject;
      } catch (err) {
        throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: ${(err as Error).message.split("\n")[0]}`);
      }
    }
    case "merge":
      if (!patch || typeof patch !== "object" || Array.isArray(patch)) throw badRequest("merge patch must be a JSON object");
      return jsonMergePatch(current, patch) as KubeObject;
    case "strategic":
    case "apply": {
      if (!patch || typeof patch !== "object" || Array.isArray(patch)) throw badRequest("patch must be a JSON object");
      if (r.custom) {
        if (type === "strategic") throw new ApiError(415, "UnsupportedMediaType", `strategic merge patch is not supported for custom resources (${r.plural}.${r.group}); use application/merge-patch+json`);
        return jsonMergePatch(current, patch) as KubeObject;
      }
      const schema = r.definition ? definitions[r.definition] : undefined;
      return strategicMerge(current, patch, schema) as KubeObject;
    }
  }
}
