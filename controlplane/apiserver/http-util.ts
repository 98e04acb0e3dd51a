// Small HTTP helpers: bounded body reading, JSON/YAML decoding, JSON and Status responses.
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { ApiError, badRequest, tooLarge } from "./errors.js";
import { decodeKubernetesProtobuf } from "./protobuf.js";

/** kube-apiserver refuses request bodies over 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Decodes a JSON or YAML request body into an object; malformed input is a 400. */
export function decodeObject(raw: Buffer, contentType: string | undefined): Record<string, unknown> {
  const type = (contentType ?? "application/json").split(";")[0].trim().toLowerCase();
  const text = raw.toString("utf8");
  let v: unknown;
  try {
    if (type === "application/vnd.kubernetes.protobuf") v = decodeKubernetesProtobuf(raw);
    else if (type === "application/yaml" || type === "application/x-yaml" || type === "text/yaml") v = parseYaml(text);
    else if (type === "application/json" || type === "" || type === "*/*") v = JSON.parse(text);
    else throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got ${type})`);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw badRequest("Object 'Kind' is missing in the request body: the body must be a JSON object");
  return v as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, code: number, body: unknown, extraHeaders: Record<string, string | string[]> = {}, contentType = "application/json"): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-cache, private", ...extraHeaders });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) { res.end(); return; }
  sendJson(res, err.code, err.toStatus());
}

export function warningHeader(warnings: string[]): Record<string, string[]> {
  return warnings.length ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {};
}
