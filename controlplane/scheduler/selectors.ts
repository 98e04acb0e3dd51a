// Label selectors (matchLabels + matchExpressions) and node selector terms, compiled once
// into closures so that the hot filter loop only calls a function.
import type { LabelSelectorLike, LabelsLike, NodeSelectorRequirementLike, NodeSelectorTermLike } from "./types.js";

export type LabelMatcher = (labels: LabelsLike) => boolean;

export class SelectorError extends Error {
  readonly code = "ESELECTOR";
  constructor(readonly field: string, reason: string) {
    super(`invalid selector at ${field}: ${reason}`);
    this.name = "SelectorError";
  }
}

const EMPTY: LabelsLike = Object.freeze({});

/** A label selector; an absent selector matches nothing (as in pod affinity terms). */
export function compileLabelSelector(sel: LabelSelectorLike | undefined, field = "labelSelector"): LabelMatcher {
  if (!sel) return () => false;
  const checks: LabelMatcher[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) checks.push((l) => l[k] === v);
  (sel.matchExpressions ?? []).forEach((r, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    const values = new Set(r.values ?? []);
    switch (r.operator) {
      case "In": checks.push((l) => l[r.key] !== undefined && values.has(l[r.key]!)); break;
      case "NotIn": checks.push((l) => l[r.key] === undefined || !values.has(l[r.key]!)); break;
      case "Exists": checks.push((l) => l[r.key] !== undefined); break;
      case "DoesNotExist": checks.push((l) => l[r.key] === undefined); break;
      default: throw new SelectorError(f, `unknown operator ${JSON.stringify(r.operator)}`);
    }
  });
  if (checks.length === 0) return () => true; // {} selects everything
  if (checks.length === 1) return checks[0]!;
  return (l) => { for (const c of checks) if (!c(l)) return false; return true; };
}

/** Matches a node by its labels and name (matchFields supports metadata.name only, as in Kubernetes). */
export type NodeMatcher = (labels: LabelsLike, name: string) => boolean;

function requirement(r: NodeSelectorRequirementLike, field: string, get: (labels: LabelsLike, name: string) => string | undefined): NodeMatcher {
  const values = new Set(r.values ?? []);
  switch (r.operator) {
    case "In": return (l, n) => { const v = get(l, n); return v !== undefined && values.has(v); };
    case "NotIn": return (l, n) => { const v = get(l, n); return v === undefined || !values.has(v); };
    case "Exists": return (l, n) => get(l, n) !== undefined;
    case "DoesNotExist": return (l, n) => get(l, n) === undefined;
    case "Gt":
    case "Lt": {
      const bound = Number(r.values?.[0]);
      if (r.values?.length !== 1 || !Number.isInteger(bound)) throw new SelectorError(field, `${r.operator} needs exactly one integer value`);
      const gt = r.operator === "Gt";
      return (l, n) => {
        const v = get(l, n);
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        return gt ? Number(v) > bound : Number(v) < bound;
      };
    }
    default: throw new SelectorError(field, `unknown operator ${JSON.stringify(r.operator)}`);
  }
}

export function compileNodeSelectorTerm(term: NodeSelectorTermLike, field: string): NodeMatcher {
  const checks: NodeMatcher[] = [];
  (term.matchExpressions ?? []).forEach((r, i) => checks.push(requirement(r, `${field}.matchExpressions[${i}]`, (l) => l[r.key])));
  (term.matchFields ?? []).forEach((r, i) => {
    if (r.key !== "metadata.name") throw new SelectorError(`${field}.matchFields[${i}]`, `only metadata.name is supported, got ${r.key}`);
    checks.push(requirement(r, `${field}.matchFields[${i}]`, (_l, n) => n));
  });
  // A term with no requirements matches no node (Kubernetes semantics).
  if (checks.length === 0) return () => false;
  return (l, n) => { for (const c of checks) if (!c(l, n)) return false; return true; };
}

/** Terms are ORed. */
export function compileNodeSelectorTerms(terms: readonly NodeSelectorTermLike[], field: string): NodeMatcher {
  const ms = terms.map((t, i) => compileNodeSelectorTerm(t, `${field}[${i}]`));
  return (l, n) => { for (const m of ms) if (m(l, n)) return true; return false; };
}

export function emptyLabels(): LabelsLike { return EMPTY; }
