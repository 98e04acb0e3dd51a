// Field errors as kube-apiserver reports them: a path ("spec.containers[0].image"), a type
// ("Required value"), and a detail. An InvalidObjectError carries them all for a 422.

export type FieldErrorType =
  | "FieldValueRequired" | "FieldValueInvalid" | "FieldValueNotSupported" | "FieldValueDuplicate"
  | "FieldValueForbidden" | "FieldValueTooLong" | "FieldValueTooMany" | "FieldValueTypeInvalid";

export class FieldError {
  constructor(readonly type: FieldErrorType, readonly field: string, readonly value: unknown, readonly detail: string) {}

  /** The message kube-apiserver prints, e.g. `spec.containers[0].image: Required value`. */
  get message(): string {
    return `${this.field}: ${this.body}`;
  }

  get body(): string {
    switch (this.type) {
      case "FieldValueRequired": return "Required value" + (this.detail ? `: ${this.detail}` : "");
      case "FieldValueInvalid": return `Invalid value: ${fmt(this.value)}` + (this.detail ? `: ${this.detail}` : "");
      case "FieldValueNotSupported": return `Unsupported value: ${fmt(this.value)}` + (this.detail ? `: ${this.detail}` : "");
      case "FieldValueDuplicate": return `Duplicate value: ${fmt(this.value)}`;
      case "FieldValueForbidden": return "Forbidden" + (this.detail ? `: ${this.detail}` : "");
      case "FieldValueTooLong": return `Too long: ${this.detail}`;
      case "FieldValueTooMany": return `Too many: ${this.detail}`;
      case "FieldValueTypeInvalid": return `Invalid value: ${fmt(this.value)}: ${this.detail}`;
    }
  }
}

function fmt(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === undefined) return "null";
  try { return JSON.stringify(v); } catch { return String(v); }
}

export const required = (field: string, detail = "") => new FieldError("FieldValueRequired", field, undefined, detail);
export const invalid = (field: string, value: unknown, detail = "") => new FieldError("FieldValueInvalid", field, value, detail);
export const notSupported = (field: string, value: unknown, allowed: readonly string[]) =>
  new FieldError("FieldValueNotSupported", field, value, `supported values: ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
export const duplicate = (field: string, value: unknown) => new FieldError("FieldValueDuplicate", field, value, "");
export const forbidden = (field: string, detail: string) => new FieldError("FieldValueForbidden", field, undefined, detail);
export const typeInvalid = (field: string, value: unknown, detail: string) => new FieldError("FieldValueTypeInvalid", field, value, detail);

/** An object that failed validation: HTTP 422, reason Invalid, one cause per field error. */
export class InvalidObjectError extends Error {
  constructor(readonly kind: string, readonly group: string, readonly objectName: string, readonly errors: FieldError[]) {
    const qual = group ? `${kind}.${group}` : kind;
    const list = errors.map((e) => e.message);
    super(`${qual} ${JSON.stringify(objectName)} is invalid: ${list.length === 1 ? list[0] : `[${list.join(", ")}]`}`);
    this.name = "InvalidObjectError";
  }
}
