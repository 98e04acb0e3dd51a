// keel's public API for programs that embed it: `import { Runtime } from "keel"`.
export { Runtime, type RuntimeOptions, type ContainerHandle, type StdioSlot, type StdioOptions } from "./runtime/runtime.js";
export type { ContainerState } from "./runtime/verbs/state.js";
export type { WaitResult } from "./runtime/verbs/control.js";
export type { ExecProcess } from "./runtime/verbs/exec.js";
export type { CreateOptions } from "./runtime/verbs/create.js";
export { RuntimeError, ContainerNotFoundError, ContainerExistsError, InvalidStateError, InvalidIdError, HookError } from "./runtime/errors.js";
export { defaultSpec, type DefaultSpecOptions } from "./runtime/default-spec.js";
export { validateSpec, SpecValidationError } from "./oci/validate.js";
export type * from "./oci/runtime-spec.js";
export { NativeError } from "./native/index.js";
export type { CgroupStats } from "./runtime/cgroups/index.js";
