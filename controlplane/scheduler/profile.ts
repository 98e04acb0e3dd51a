// Scheduling profiles: which filters run, which scores count with what weight, and which of
// Borg's techniques are on. Built-in profiles cover keel's default and the classic policies;
// a config file (YAML or JSON) can define more or override weights.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { LOCAL_FILTERS } from "./filters.js";
import { GLOBAL_SCORES, LOCAL_SCORES } from "./scores.js";

export const INTER_POD_FILTERS = ["InterPodAffinity", "PodTopologySpread"] as const;

export interface Techniques {
  /** Evaluate the node-local filters once per (equivalence class, node generation). */
  equivalenceClasses: boolean;
  /** Keep node-local scores per (class, node generation). */
  scoreCaching: boolean;
  /** Examine nodes in random order and stop after enough feasible ones. */
  relaxedRandomization: boolean;
  /** With relaxed randomization: stop after max(minFeasibleNodes, feasiblePercent % of nodes). */
  minFeasibleNodes: number;
  feasiblePercent: number;
}

export interface Profile {
  name: string;
  filters: string[];
  /** Score plugin name → weight. */
  scores: Record<string, number>;
  techniques: Techniques;
  preemption: boolean;
  /** Seed for tie-breaking and relaxed randomization. */
  seed: number;
}

export class ProfileError extends Error {
  readonly code = "EPROFILE";
  constructor(readonly field: string, reason: string) {
    super(`invalid scheduler profile at ${field}: ${reason}`);
    this.name = "ProfileError";
  }
}

const ALL_FILTERS = [...Object.keys(LOCAL_FILTERS), ...INTER_POD_FILTERS];
const ALL_SCORES = [...Object.keys(LOCAL_SCORES), ...GLOBAL_SCORES];

export const DEFAULT_TECHNIQUES: Techniques = { equivalenceClasses: true, scoreCaching: true, relaxedRandomization: true, minFeasibleNodes: 100, feasiblePercent: 5 };

const common = { NodeAffinity: 2, TaintToleration: 3, InterPodAffinity: 2, ImageLocality: 1 };

function make(name: string, scores: Record<string, number>): Profile {
  return { name, filters: [...ALL_FILTERS], scores, techniques: { ...DEFAULT_TECHNIQUES }, preemption: true, seed: 1 };
}

/** Built-in profiles. "default" is keel's: the stranding-aware hybrid with a little zone spreading. */
export const BUILTIN_PROFILES: Readonly<Record<string, () => Profile>> = {
  default: () => make("default", { ...common, Hybrid: 10, ZoneSpread: 1 }),
  "least-allocated": () => make("least-allocated", { ...common, LeastAllocated: 1, BalancedAllocation: 1, ZoneSpread: 2 }),
  "most-allocated": () => make("most-allocated", { ...common, MostAllocated: 1 }),
  hybrid: () => make("hybrid", { ...common, Hybrid: 1 }),
};

export function builtinProfile(name: string): Profile {
  const f = BUILTIN_PROFILES[name];
  if (!f) throw new ProfileError("name", `unknown profile ${JSON.stringify(name)} (built-in: ${Object.keys(BUILTIN_PROFILES).join(", ")})`);
  return f();
}

/**
 * A profile from plain data: `{ name, base?, filters?, scores?, techniques?, preemption?, seed? }`.
 * `base` (default "default") supplies whatever is not given; `scores` replaces the base's weights.
 */
export function profileFromConfig(raw: unknown, field = "profile"): Profile {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ProfileError(field, "must be an object");
  const r = raw as Record<string, unknown>;
  const known = new Set(["name", "base", "filters", "scores", "techniques", "preemption", "seed"]);
  for (const k of Object.keys(r)) if (!known.has(k)) throw new ProfileError(`${field}.${k}`, "unknown field");
  const base = builtinProfile(typeof r.base === "string" ? r.base : typeof r.name === "string" && r.name in BUILTIN_PROFILES ? r.name : "default");
  const p: Profile = { ...base, techniques: { ...base.techniques } };
  if (r.name !== undefined) { if (typeof r.name !== "string" || !r.name) throw new ProfileError(`${field}.name`, "must be a non-empty string"); p.name = r.name; }
  if (r.filters !== undefined) {
    if (!Array.isArray(r.filters)) throw new ProfileError(`${field}.filters`, "must be a list of filter names");
    r.filters.forEach((f, i) => { if (!ALL_FILTERS.includes(f as string)) throw new ProfileError(`${field}.filters[${i}]`, `unknown filter ${JSON.stringify(f)} (known: ${ALL_FILTERS.join(", ")})`); });
    p.filters = r.filters as string[];
  }
  if (r.scores !== undefined) {
    if (typeof r.scores !== "object" || r.scores === null) throw new ProfileError(`${field}.scores`, "must map score names to weights");
    p.scores = {};
    for (const [k, w] of Object.entries(r.scores)) {
      if (!ALL_SCORES.includes(k)) throw new ProfileError(`${field}.scores.${k}`, `unknown score (known: ${ALL_SCORES.join(", ")})`);
      if (typeof w !== "number" || !Number.isFinite(w) || w < 0) throw new ProfileError(`${field}.scores.${k}`, "weight must be a non-negative number");
      p.scores[k] = w;
    }
  }
  if (r.techniques !== undefined) {
    if (typeof r.techniques !== "object" || r.techniques === null) throw new ProfileError(`${field}.techniques`, "must be an object");
    for (const [k, v] of Object.entries(r.techniques)) {
      if (!(k in p.techniques)) throw new ProfileError(`${field}.techniques.${k}`, `unknown technique (known: ${Object.keys(p.techniques).join(", ")})`);
      const want = typeof (p.techniques as unknown as Record<string, unknown>)[k];
      if (typeof v !== want) throw new ProfileError(`${field}.techniques.${k}`, `must be a ${want}`);
      (p.techniques as unknown as Record<string, unknown>)[k] = v;
    }
  }
  if (r.preemption !== undefined) { if (typeof r.preemption !== "boolean") throw new ProfileError(`${field}.preemption`, "must be true or false"); p.preemption = r.preemption; }
  if (r.seed !== undefined) { if (!Number.isInteger(r.seed)) throw new ProfileError(`${field}.seed`, "must be an integer"); p.seed = r.seed as number; }
  return p;
}

/** A config file (YAML or JSON): `{ profiles: [...] }`, or a single profile object. */
export function loadProfiles(path: string): Profile[] {
  let raw: unknown;
  try { raw = parseYaml(readFileSync(path, "utf8")); } catch (e) { throw new ProfileError(path, (e as Error).message); }
  if (raw && typeof raw === "object" && "profiles" in raw) {
    const ps = (raw as { profiles: unknown }).profiles;
    if (!Array.isArray(ps)) throw new ProfileError(`${path}: profiles`, "must be a list");
    return ps.map((p, i) => profileFromConfig(p, `${path}: profiles[${i}]`));
  }
  return [profileFromConfig(raw, path)];
}

/** A built-in name, or NAME from a config file given as FILE or FILE#NAME. */
export function resolveProfile(spec: string): Profile {
  if (spec in BUILTIN_PROFILES) return builtinProfile(spec);
  const [path, name] = spec.split("#") as [string, string | undefined];
  const ps = loadProfiles(path);
  const p = name ? ps.find((x) => x.name === name) : ps[0];
  if (!p) throw new ProfileError(spec, `no profile ${JSON.stringify(name)} in ${path}`);
  return p;
}
