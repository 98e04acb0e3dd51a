// Scheduling profiles: which filters run, which scores count with what weight, and which of
// Borg's techniques are on. Built-in profiles cover keel's default and the classic policies;
// a config file (YAML or JSON) can define more or override weights.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { LOCAL_FILTERS } from "./filters.js";
import { GLOBAL_SCORES, LOCAL_SCORES } from "./scores.js";
import { SYSTEM_DEFAULT_CONSTRAINTS, type DefaultConstraint } from "./topology-spread.js";

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

/**
 * kube-scheduler's PodTopologySpreadArgs: which constraints a pod without its own gets (over its
 * default selector). "System": kube's (hosts maxSkew 3, zones maxSkew 5, both ScheduleAnyway);
 * "List": `defaultConstraints`, where an empty list turns default spreading off.
 */
export interface SpreadDefaults {
  defaultingType: "System" | "List";
  defaultConstraints: DefaultConstraint[];
}

export interface Profile {
  name: string;
  filters: string[];
  /** Score plugin name → weight. */
  scores: Record<string, number>;
  techniques: Techniques;
  /** Default topology spreading (the PodTopologySpread score's weight says how much it counts). */
  podTopologySpread: SpreadDefaults;
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
  return { name, filters: [...ALL_FILTERS], scores, techniques: { ...DEFAULT_TECHNIQUES }, podTopologySpread: { defaultingType: "System", defaultConstraints: [] }, preemption: true, seed: 1 };
}

/** The constraints a profile's pods without their own get. */
export function defaultSpreadConstraints(p: Profile): readonly DefaultConstraint[] {
  return p.podTopologySpread.defaultingType === "System" ? SYSTEM_DEFAULT_CONSTRAINTS : p.podTopologySpread.defaultConstraints;
}

/** Score names from before keel followed kube's plugin names, still accepted in config files. */
const SCORE_ALIASES: Readonly<Record<string, string>> = { ZoneSpread: "PodTopologySpread" };

/**
 * Built-in profiles. "default" is keel's: the stranding-aware hybrid, plus kube's default
 * topology spreading (weight 2, as in kube's default profile) for the pods of Services and
 * ReplicaSets/StatefulSets. The spreading score is relative (the emptiest feasible domain 100),
 * the hybrid absolute: for small pods the hybrid's pull toward the fuller node is a few points
 * per pod, so a ReplicaSet's pods spread; tasks no Service or controller selects (the packing
 * benchmark's Job tasks) are packed by the hybrid alone.
 */
export const BUILTIN_PROFILES: Readonly<Record<string, () => Profile>> = {
  default: () => make("default", { ...common, Hybrid: 10, PodTopologySpread: 2 }),
  "least-allocated": () => make("least-allocated", { ...common, LeastAllocated: 1, BalancedAllocation: 1, PodTopologySpread: 2 }),
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
  const known = new Set(["name", "base", "filters", "scores", "techniques", "podTopologySpread", "preemption", "seed"]);
  for (const k of Object.keys(r)) if (!known.has(k)) throw new ProfileError(`${field}.${k}`, "unknown field");
  const base = builtinProfile(typeof r.base === "string" ? r.base : typeof r.name === "string" && r.name in BUILTIN_PROFILES ? r.name : "default");
  const p: Profile = { ...base, techniques: { ...base.techniques }, podTopologySpread: { ...base.podTopologySpread, defaultConstraints: [...base.podTopologySpread.defaultConstraints] } };
  if (r.name !== undefined) { if (typeof r.name !== "string" || !r.name) throw new ProfileError(`${field}.name`, "must be a non-empty string"); p.name = r.name; }
  if (r.filters !== undefined) {
    if (!Array.isArray(r.filters)) throw new ProfileError(`${field}.filters`, "must be a list of filter names");
    r.filters.forEach((f, i) => { if (!ALL_FILTERS.includes(f as string)) throw new ProfileError(`${field}.filters[${i}]`, `unknown filter ${JSON.stringify(f)} (known: ${ALL_FILTERS.join(", ")})`); });
    p.filters = r.filters as string[];
  }
  if (r.scores !== undefined) {
    if (typeof r.scores !== "object" || r.scores === null) throw new ProfileError(`${field}.scores`, "must map score names to weights");
    p.scores = {};
    for (const [name, w] of Object.entries(r.scores)) {
      const k = SCORE_ALIASES[name] ?? name;
      if (!ALL_SCORES.includes(k)) throw new ProfileError(`${field}.scores.${k}`, `unknown score (known: ${ALL_SCORES.join(", ")})`);
      if (typeof w !== "number" || !Number.isFinite(w) || w < 0) throw new ProfileError(`${field}.scores.${name}`, "weight must be a non-negative number");
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
  if (r.podTopologySpread !== undefined) p.podTopologySpread = spreadDefaultsFromConfig(r.podTopologySpread, `${field}.podTopologySpread`);
  if (r.preemption !== undefined) { if (typeof r.preemption !== "boolean") throw new ProfileError(`${field}.preemption`, "must be true or false"); p.preemption = r.preemption; }
  if (r.seed !== undefined) { if (!Number.isInteger(r.seed)) throw new ProfileError(`${field}.seed`, "must be an integer"); p.seed = r.seed as number; }
  return p;
}

/** `{ defaultingType: System | List, defaultConstraints: [...] }`, validated as kube validates PodTopologySpreadArgs. */
function spreadDefaultsFromConfig(raw: unknown, field: string): SpreadDefaults {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ProfileError(field, "must be an object");
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== "defaultingType" && k !== "defaultConstraints") throw new ProfileError(`${field}.${k}`, "unknown field (known: defaultingType, defaultConstraints)");
  const type = r.defaultingType ?? "System";
  if (type !== "System" && type !== "List") throw new ProfileError(`${field}.defaultingType`, `must be "System" or "List", got ${JSON.stringify(type)}`);
  const list = r.defaultConstraints ?? [];
  if (!Array.isArray(list)) throw new ProfileError(`${field}.defaultConstraints`, "must be a list");
  if (type === "System" && list.length) throw new ProfileError(`${field}.defaultConstraints`, 'must be empty when defaultingType is "System"');
  const seen = new Set<string>();
  const out = list.map((c, i): DefaultConstraint => {
    const f = `${field}.defaultConstraints[${i}]`;
    if (typeof c !== "object" || c === null) throw new ProfileError(f, "must be an object");
    const { maxSkew, topologyKey, whenUnsatisfiable, ...rest } = c as Record<string, unknown>;
    if ("labelSelector" in rest) throw new ProfileError(`${f}.labelSelector`, "default constraints take the pod's default selector and must not have their own");
    for (const k of Object.keys(rest)) throw new ProfileError(`${f}.${k}`, "unknown field (known: maxSkew, topologyKey, whenUnsatisfiable)");
    if (!Number.isInteger(maxSkew) || (maxSkew as number) < 1) throw new ProfileError(`${f}.maxSkew`, "must be an integer of at least 1");
    if (typeof topologyKey !== "string" || !topologyKey) throw new ProfileError(`${f}.topologyKey`, "must be a non-empty label key");
    // keel's defaults only score: a DoNotSchedule default would filter pods by a selector they never asked for.
    if (whenUnsatisfiable !== "ScheduleAnyway") throw new ProfileError(`${f}.whenUnsatisfiable`, `only "ScheduleAnyway" is supported for default constraints, got ${JSON.stringify(whenUnsatisfiable)}`);
    if (seen.has(topologyKey)) throw new ProfileError(`${f}.topologyKey`, `duplicate constraint for ${topologyKey}`);
    seen.add(topologyKey);
    return { maxSkew: maxSkew as number, topologyKey, whenUnsatisfiable };
  });
  return { defaultingType: type, defaultConstraints: out };
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
