// Validation of an OCI config.json before anything is created: every problem is reported with
// the JSON path of the field and the reason, so a user knows exactly what to fix.
import type { Spec } from "./runtime-spec.js";

export class SpecValidationError extends Error {
  readonly code = "EINVALIDSPEC";
  constructor(readonly problems: { field: string; reason: string }[]) {
    super(`invalid config.json: ${problems.map((p) => `${p.field}: ${p.reason}`).join("; ")}`);
    this.name = "SpecValidationError";
  }
}

const NAMESPACES = new Set(["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]);
const DEVICE_TYPES = new Set(["c", "b", "u", "p"]);
const PROPAGATIONS = new Set(["", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"]);

export function validateSpec(input: unknown): asserts input is Spec {
  const problems: { field: string; reason: string }[] = [];
  const bad = (field: string, reason: string) => problems.push({ field, reason });
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const isUint = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  const strArray = (v: unknown, field: string) => {
    if (v === undefined) return;
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) bad(field, "must be an array of strings");
  };

  if (!isObj(input)) throw new SpecValidationError([{ field: "(root)", reason: "must be a JSON object" }]);
  const s = input;
  if (typeof s.ociVersion !== "string" || !/^1\.\d+\.\d+/.test(s.ociVersion)) bad("ociVersion", "must be a 1.x.y version string");

  if (s.root !== undefined) {
    if (!isObj(s.root) || typeof s.root.path !== "string" || s.root.path === "") bad("root.path", "required: the rootfs directory");
    else if (s.root.readonly !== undefined && typeof s.root.readonly !== "boolean") bad("root.readonly", "must be a boolean");
  } else bad("root", "required on Linux");

  const p = s.process;
  if (p !== undefined) {
    if (!isObj(p)) bad("process", "must be an object");
    else {
      if (!Array.isArray(p.args) || p.args.length === 0 || p.args.some((a) => typeof a !== "string")) bad("process.args", "must be a non-empty array of strings");
      if (typeof p.cwd !== "string" || !p.cwd.startsWith("/")) bad("process.cwd", "must be an absolute path");
      if (!isObj(p.user)) bad("process.user", "required: {uid, gid}");
      else {
        if (!isUint(p.user.uid)) bad("process.user.uid", "must be an integer 0..4294967295");
        if (!isUint(p.user.gid)) bad("process.user.gid", "must be an integer 0..4294967295");
        if (p.user.additionalGids !== undefined && (!Array.isArray(p.user.additionalGids) || !p.user.additionalGids.every(isUint)))
          bad("process.user.additionalGids", "must be an array of gids");
        if (p.user.umask !== undefined && (!isUint(p.user.umask) || (p.user.umask as number) > 0o777)) bad("process.user.umask", "must be 0..0777");
      }
      strArray(p.env, "process.env");
      if (Array.isArray(p.env)) p.env.forEach((e, i) => typeof e === "string" && !e.includes("=") && bad(`process.env[${i}]`, `'${e}' is not KEY=VALUE`));
      if (p.terminal !== undefined && typeof p.terminal !== "boolean") bad("process.terminal", "must be a boolean");
      if (p.noNewPrivileges !== undefined && typeof p.noNewPrivileges !== "boolean") bad("process.noNewPrivileges", "must be a boolean");
      if (p.oomScoreAdj !== undefined && (typeof p.oomScoreAdj !== "number" || p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) bad("process.oomScoreAdj", "must be -1000..1000");
      if (p.capabilities !== undefined) {
        if (!isObj(p.capabilities)) bad("process.capabilities", "must be an object");
        else for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"]) strArray(p.capabilities[set], `process.capabilities.${set}`);
      }
      if (p.rlimits !== undefined) {
        if (!Array.isArray(p.rlimits)) bad("process.rlimits", "must be an array");
        else
          p.rlimits.forEach((r, i) => {
            if (!isObj(r) || typeof r.type !== "string" || !r.type.startsWith("RLIMIT_")) bad(`process.rlimits[${i}].type`, "must be RLIMIT_*");
            else if (typeof r.soft !== "number" || typeof r.hard !== "number") bad(`process.rlimits[${i}]`, "soft and hard must be numbers");
            else if (r.soft > r.hard) bad(`process.rlimits[${i}]`, `soft (${r.soft}) exceeds hard (${r.hard})`);
          });
      }
    }
  }

  if (s.hostname !== undefined && typeof s.hostname !== "string") bad("hostname", "must be a string");
  if (s.mounts !== undefined) {
    if (!Array.isArray(s.mounts)) bad("mounts", "must be an array");
    else
      s.mounts.forEach((m, i) => {
        if (!isObj(m)) return bad(`mounts[${i}]`, "must be an object");
        if (typeof m.destination !== "string" || !m.destination.startsWith("/")) bad(`mounts[${i}].destination`, "must be an absolute path");
        if (m.type !== undefined && typeof m.type !== "string") bad(`mounts[${i}].type`, "must be a string");
        if (m.source !== undefined && typeof m.source !== "string") bad(`mounts[${i}].source`, "must be a string");
        strArray(m.options, `mounts[${i}].options`);
      });
  }
  if (s.hooks !== undefined) {
    if (!isObj(s.hooks)) bad("hooks", "must be an object");
    else
      for (const [kind, list] of Object.entries(s.hooks)) {
        if (!["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"].includes(kind)) {
          bad(`hooks.${kind}`, "unknown hook kind");
          continue;
        }
        if (!Array.isArray(list)) bad(`hooks.${kind}`, "must be an array");
        else list.forEach((h, i) => (!isObj(h) || typeof h.path !== "string" || !h.path.startsWith("/")) && bad(`hooks.${kind}[${i}].path`, "must be an absolute path"));
      }
  }

  const l = s.linux;
  if (l !== undefined) {
    if (!isObj(l)) bad("linux", "must be an object");
    else {
      const seen = new Set<string>();
      if (l.namespaces !== undefined) {
        if (!Array.isArray(l.namespaces)) bad("linux.namespaces", "must be an array");
        else
          l.namespaces.forEach((n, i) => {
            if (!isObj(n) || typeof n.type !== "string" || !NAMESPACES.has(n.type)) return bad(`linux.namespaces[${i}].type`, `must be one of ${[...NAMESPACES].join(", ")}`);
            if (seen.has(n.type)) bad(`linux.namespaces[${i}].type`, `namespace '${n.type}' listed twice`);
            seen.add(n.type);
            if (n.path !== undefined && (typeof n.path !== "string" || !n.path.startsWith("/"))) bad(`linux.namespaces[${i}].path`, "must be an absolute path");
          });
      }
      for (const key of ["uidMappings", "gidMappings"] as const) {
        const maps = l[key];
        if (maps === undefined) continue;
        if (!Array.isArray(maps)) bad(`linux.${key}`, "must be an array");
        else
          maps.forEach((m, i) => {
            if (!isObj(m) || !isUint(m.containerID) || !isUint(m.hostID) || !isUint(m.size) || m.size === 0)
              bad(`linux.${key}[${i}]`, "needs containerID, hostID and a size > 0");
          });
        if (Array.isArray(maps) && maps.length && !seen.has("user")) bad(`linux.${key}`, "mappings need a user namespace in linux.namespaces");
      }
      if (seen.has("user") && !(Array.isArray(l.uidMappings) && l.uidMappings.length) && !(l.namespaces as { type: string; path?: string }[]).find((n) => n.type === "user")?.path)
        bad("linux.uidMappings", "a new user namespace needs uid mappings");
      if (l.devices !== undefined) {
        if (!Array.isArray(l.devices)) bad("linux.devices", "must be an array");
        else
          l.devices.forEach((d, i) => {
            if (!isObj(d) || typeof d.path !== "string" || !d.path.startsWith("/")) return bad(`linux.devices[${i}].path`, "must be an absolute path");
            if (!DEVICE_TYPES.has(d.type as string)) bad(`linux.devices[${i}].type`, "must be c, b, u or p");
            if (d.type !== "p" && (!isUint(d.major) || !isUint(d.minor))) bad(`linux.devices[${i}]`, "major and minor are required for c, b and u");
          });
      }
      if (l.sysctl !== undefined && (!isObj(l.sysctl) || Object.values(l.sysctl).some((v) => typeof v !== "string"))) bad("linux.sysctl", "must map names to string values");
      if (l.rootfsPropagation !== undefined && !PROPAGATIONS.has(l.rootfsPropagation as string)) bad("linux.rootfsPropagation", `must be one of ${[...PROPAGATIONS].filter(Boolean).join(", ")}`);
      strArray(l.maskedPaths, "linux.maskedPaths");
      strArray(l.readonlyPaths, "linux.readonlyPaths");
      if (l.cgroupsPath !== undefined && typeof l.cgroupsPath !== "string") bad("linux.cgroupsPath", "must be a string");
      const mem = isObj(l.resources) && isObj(l.resources.memory) ? l.resources.memory : undefined;
      if (mem && typeof mem.limit === "number" && typeof mem.swap === "number" && mem.swap !== -1 && mem.swap < mem.limit)
        bad("linux.resources.memory.swap", "memory+swap must be at least memory.limit");
      const pids = isObj(l.resources) && isObj(l.resources.pids) ? l.resources.pids : undefined;
      if (pids && typeof pids.limit !== "number") bad("linux.resources.pids.limit", "must be a number");
    }
  }
  if (problems.length) throw new SpecValidationError(problems);
}
