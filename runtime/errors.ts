// The runtime's typed errors. Each carries a stable `code` and what it is about.
export class RuntimeError extends Error {
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RuntimeError";
  }
}

export class ContainerNotFoundError extends RuntimeError {
  constructor(readonly id: string) {
    super("ENOTFOUND", `container '${id}' does not exist`);
    this.name = "ContainerNotFoundError";
  }
}

export class ContainerExistsError extends RuntimeError {
  constructor(readonly id: string) {
    super("EEXISTS", `container '${id}' already exists`);
    this.name = "ContainerExistsError";
  }
}

export class InvalidStateError extends RuntimeError {
  constructor(readonly id: string, readonly status: string, action: string) {
    super("EBADSTATE", `cannot ${action} container '${id}': it is ${status}`);
    this.name = "InvalidStateError";
  }
}

export class InvalidIdError extends RuntimeError {
  constructor(readonly id: string) {
    super("EINVALIDID", `invalid container id '${id}': use 1-1024 characters of letters, digits, '_', '+', '-' and '.', not starting with '.'`);
    this.name = "InvalidIdError";
  }
}

export class HookError extends RuntimeError {
  constructor(readonly hook: string, readonly path: string, detail: string) {
    super("EHOOK", `${hook} hook ${path} failed: ${detail}`);
    this.name = "HookError";
  }
}
