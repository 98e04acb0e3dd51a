// API errors: each is a metav1.Status with the reason and code kube-apiserver uses, so kubectl
// prints the same messages (`Error from server (NotFound): pods "x" not found`).
import type { Status, StatusCause } from "../../api/meta.js";
import { InvalidObjectError } from "../../api/field-errors.js";
import { SelectorParseError } from "../../api/selectors.js";
import { StrategicMergeError } from "../../api/strategic-merge.js";
import { QuantityParseError } from "../../api/quantity.js";
import { CompactedError, ConflictError, FutureRevisionError, InvalidContinueError, KeyExistsError, NotFoundError, StoreError } from "../store/errors.js";

export interface ApiErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string, readonly details?: ApiErrorDetails) {
    super(message);
    this.name = "ApiError";
  }

  toStatus(): Status {
    return {
      kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message, reason: this.reason,
      ...(this.details ? { details: this.details } : {}), code: this.code,
    };
  }
}

/** `pods "x"` or `deployments.apps "x"`: how kube-apiserver names a resource in messages. */
export function qualified(resource: { group: string; plural: string }, name?: string): string {
  const r = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
  return name === undefined ? r : `${r} ${JSON.stringify(name)}`;
}

/** kube's 403 for one object (admission's and RBAC's wording): `roles.rbac.authorization.k8s.io "x" is forbidden: ...`. */
export const forbiddenObject = (r: { group: string; plural: string }, name: string, message: string) =>
  new ApiError(403, "Forbidden", `${qualified(r, name)} is forbidden: ${message}`, { name, group: r.group, kind: r.plural });
export const notFound = (r: { group: string; plural: string }, name: string) =>
  new ApiError(404, "NotFound", `${qualified(r, name)} not found`, { name, group: r.group, kind: r.plural });
export const alreadyExists = (r: { group: string; plural: string }, name: string) =>
  new ApiError(409, "AlreadyExists", `${qualified(r, name)} already exists`, { name, group: r.group, kind: r.plural });
export const conflict = (r: { group: string; plural: string }, name: string) =>
  new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(r, name)}: the object has been modified; please apply your changes to the latest version and try again`, { name, group: r.group, kind: r.plural });
export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);
export const methodNotAllowed = (message = "the server does not allow this method on the requested resource") => new ApiError(405, "MethodNotAllowed", message);
export const forbidden = (message: string, details?: ApiErrorDetails) => new ApiError(403, "Forbidden", message, details);
export const unauthorized = () => new ApiError(401, "Unauthorized", "Unauthorized");
export const unsupportedMediaType = (type: string) => new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${type})`);
export const tooLarge = (limit: number) => new ApiError(413, "RequestEntityTooLarge", `Request entity too large: limit is ${limit}`);
export const gone = (message: string) => new ApiError(410, "Expired", message);
export const internal = (message: string) => new ApiError(500, "InternalError", `Internal error occurred: ${message}`);

export function invalidObject(e: InvalidObjectError): ApiError {
  return new ApiError(422, "Invalid", e.message, {
    name: e.objectName, group: e.group, kind: e.kind,
    causes: e.errors.map((f) => ({ reason: f.type, message: f.body, field: f.field })),
  });
}

/** Maps any thrown value to the ApiError kubectl should see. */
export function toApiError(err: unknown, ctx?: { resource: { group: string; plural: string }; name?: string }): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof InvalidObjectError) return invalidObject(err);
  if (err instanceof SelectorParseError || err instanceof StrategicMergeError || err instanceof QuantityParseError) return badRequest(err.message);
  if (err instanceof StoreError) {
    const name = ctx?.name ?? "";
    if (err instanceof KeyExistsError && ctx) return alreadyExists(ctx.resource, name);
    if (err instanceof ConflictError && ctx) return conflict(ctx.resource, name);
    if (err instanceof NotFoundError && ctx) return notFound(ctx.resource, name);
    if (err instanceof CompactedError) return gone(`too old resource version: ${err.requestedRevision} (${err.compactRevision})`);
    if (err instanceof FutureRevisionError) return new ApiError(504, "Timeout", `Too large resource version: ${err.requestedRevision}, current: ${err.currentRevision}`, { retryAfterSeconds: 1 });
    if (err instanceof InvalidContinueError) return badRequest(`The provided continue parameter is too old to display a consistent list result. ${err.message}`);
    return new ApiError(503, "ServiceUnavailable", err.message);
  }
  return internal(err instanceof Error ? err.message : String(err));
}
