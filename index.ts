// keel's public API for programs that embed it: `import { Runtime } from "keel"`.
export { NativeError } from "./native/index.js";
