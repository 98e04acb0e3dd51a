// Label selectors (equality and set-based, as in `-l 'app=web,tier in (a,b),!legacy'`) and
// field selectors (`metadata.name=x,status.phase!=Running`): parsing and matching.
import type { LabelSelector } from "./meta.js";

export class SelectorParseError extends Error {
  constructor(readonly selector: string, reason: string) {
    super(`unable to parse requirement: ${reason} in selector ${JSON.stringify(selector)}`);
    this.name = "SelectorParseError";
  }
}

export type Operator = "=" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

export type Selector = Requirement[];

/** Parses the string form of a label selector. An empty string selects everything. */
export function parseLabelSelector(s: string): Selector {
  const reqs: Requirement[] = [];
  let i = 0;
  const src = s.trim();
  const skipWs = () => { while (i < src.length && src[i] === " ") i++; };
  const readToken = (): string => {
    skipWs();
    const start = i;
    while (i < src.length && !" ,()=!<>".includes(src[i])) i++;
    return src.slice(start, i);
  };
  while (i < src.length) {
    skipWs();
    if (src[i] === "!") {
      i++;
      const key = readToken();
      if (!key) throw new SelectorParseError(s, "missing key after '!'");
      reqs.push({ key, op: "!", values: [] });
    } else {
      const key = readToken();
      if (!key) throw new SelectorParseError(s, "expected a key");
      skipWs();
      if (i >= src.length || src[i] === ",") {
        reqs.push({ key, op: "exists", values: [] });
      } else if (src.startsWith("==", i) || src[i] === "=") {
        i += src.startsWith("==", i) ? 2 : 1;
        reqs.push({ key, op: "=", values: [readToken()] });
      } else if (src.startsWith("!=", i)) {
        i += 2;
        reqs.push({ key, op: "!=", values: [readToken()] });
      } else if (src[i] === ">" || src[i] === "<") {
        const op = src[i] === ">" ? "gt" : "lt";
        i++;
        const v = readToken();
        if (!/^-?\d+$/.test(v)) throw new SelectorParseError(s, `for 'Gt', 'Lt' operators, the value must be an integer`);
        reqs.push({ key, op, values: [v] });
      } else {
        const word = readToken();
        if (word !== "in" && word !== "notin") throw new SelectorParseError(s, `found '${word}', expected: in, notin, =, ==, !=, gt, lt`);
        skipWs();
        if (src[i] !== "(") throw new SelectorParseError(s, "found '" + (src[i] ?? "") + "', expected: '('");
        i++;
        const values: string[] = [];
        for (;;) {
          const v = readToken();
          values.push(v);
          skipWs();
          if (src[i] === ",") { i++; continue; }
          if (src[i] === ")") { i++; break; }
          throw new SelectorParseError(s, "found '" + (src[i] ?? "EOF") + "', expected: ',', ')'");
        }
        reqs.push({ key, op: word, values: values.filter((v) => v !== "" || values.length === 1) });
      }
    }
    skipWs();
    if (i < src.length) {
      if (src[i] !== ",") throw new SelectorParseError(s, `found '${src[i]}', expected: ','`);
      i++;
    }
  }
  return reqs;
}

/** Converts a metav1.LabelSelector (as in a Deployment's spec.selector) to requirements. */
export function selectorFromLabelSelector(ls: LabelSelector | undefined | null): Selector {
  const reqs: Requirement[] = [];
  if (!ls) return reqs;
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) reqs.push({ key: k, op: "=", values: [v] });
  for (const e of ls.matchExpressions ?? []) {
    const op = ({ In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!" } as const)[e.operator];
    reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return reqs;
}

export function matchesLabels(sel: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=": return has && v === r.values[0];
      case "!=": return !has || v !== r.values[0];
      case "in": return has && r.values.includes(v);
      case "notin": return !has || !r.values.includes(v);
      case "exists": return has;
      case "!": return !has;
      case "gt": return has && /^-?\d+$/.test(v) && Number(v) > Number(r.values[0]);
      case "lt": return has && /^-?\d+$/.test(v) && Number(v) < Number(r.values[0]);
    }
  });
}

/** True when a LabelSelector selects nothing-in-particular (i.e. everything). */
export function isEmptySelector(ls: LabelSelector | undefined | null): boolean {
  return !ls || (Object.keys(ls.matchLabels ?? {}).length === 0 && (ls.matchExpressions ?? []).length === 0);
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Parses a field selector: comma-separated `field=value`, `field==value` or `field!=value`. */
export function parseFieldSelector(s: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const part of s.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new SelectorParseError(s, `invalid field selector: '${part}'`);
    out.push({ field: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] });
  }
  return out;
}

/** Reads a dotted field path ("spec.nodeName") from an object; missing → "". */
export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split(".")) {
    if (cur === null || typeof cur !== "object") return "";
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return "";
  return typeof cur === "string" ? cur : String(cur);
}

export function matchesFields(reqs: FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === "="));
}

export function selectorToString(sel: Selector): string {
  return sel.map((r) => {
    switch (r.op) {
      case "=": return `${r.key}=${r.values[0]}`;
      case "!=": return `${r.key}!=${r.values[0]}`;
      case "in": return `${r.key} in (${r.values.join(",")})`;
      case "notin": return `${r.key} notin (${r.values.join(",")})`;
      case "exists": return r.key;
      case "!": return `!${r.key}`;
      case "gt": return `${r.key}>${r.values[0]}`;
      case "lt": return `${r.key}<${r.values[0]}`;
    }
  }).join(",");
}
