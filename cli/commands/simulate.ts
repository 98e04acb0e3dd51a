// `keel simulate`: run the real scheduler core on a workload trace against simulated nodes,
// without an API server, and report placement, utilization, pending pods and (optionally)
// Borg-style cell compaction.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { resolveProfile } from "../../controlplane/scheduler/profile.js";
import { compactCell } from "../../controlplane/simulate/compaction.js";
import { generateCell, generateTrace, machinesFor } from "../../controlplane/simulate/generator.js";
import { parseNodeSpec } from "../../controlplane/simulate/nodes.js";
import { runTrace } from "../../controlplane/simulate/runner.js";
import { formatTrace, readTrace, type TraceRecord } from "../../controlplane/simulate/trace.js";

class UsageError extends Error {
  readonly exitCode = 2;
  readonly code = "EUSAGE";
  constructor(message: string) { super(message); this.name = "UsageError"; }
}

interface Options {
  trace?: string;
  profile: string;
  nodes?: string;
  zones: string;
  generate?: string;
  seed: string;
  allAtOnce?: boolean;
  compaction?: boolean | string;
  json?: boolean;
  showPending: string;
}

function intOption(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function register(program: Command): void {
  program
    .command("simulate")
    .description("run keel's scheduler on a workload trace against simulated nodes (no API server)")
    .option("--trace <file>", "JSON-lines trace, one task a line: {arrival, name, priority, cpu, memory, owner, duration, constraints}; with --generate, the file to write the generated trace to")
    .option("--profile <profile>", "scheduling profile: default, least-allocated, most-allocated, hybrid, or FILE[#NAME] (YAML or JSON)", "default")
    .option("--nodes <spec>", "simulated nodes: COUNTxCPUcMEMg groups, e.g. 100x32c128g,20x64c256g:gpu=true:taint=gpu=yes:NoSchedule, or @nodes.json (default: a Borg-like cell sized for the trace)")
    .option("--zones <n>", "zones the simulated nodes are spread over", "3")
    .option("--generate <n>", "generate a Borg-like trace of N tasks (heavy-tailed requests, prod/batch/free priorities)")
    .option("--seed <s>", "seed for --generate and the generated cell", "1")
    .option("--all-at-once", "ignore arrival times and durations: every task present at once (a cell's steady state)")
    .option("--compaction [seeds]", "also find the fewest machines that hold the workload (Borg's cell compaction; default 11 seeds, 90th percentile)")
    .option("--json", "print the result as JSON")
    .option("--show-pending <n>", "list at most N pending tasks", "10")
    .addHelpText("after", `
Examples:
  keel simulate --generate 5000 --seed 7 --trace borg.jsonl     generate, save and run a trace
  keel simulate --trace borg.jsonl --profile least-allocated --nodes 200x32c128g
  keel simulate --trace borg.jsonl --all-at-once --compaction   cell compaction over 11 seeds`)
    .action((o: Options) => {
      const seed = intOption("--seed", o.seed, 0);
      let trace: TraceRecord[];
      if (o.generate !== undefined) {
        trace = generateTrace({ tasks: intOption("--generate", o.generate, 1), seed });
        if (o.trace) writeFileSync(o.trace, formatTrace(trace));
      } else if (o.trace) trace = readTrace(o.trace);
      else throw new UsageError("give --trace FILE, or --generate N to generate a trace (see keel simulate --help)");
      const profile = { ...resolveProfile(o.profile), seed };
      const zones = intOption("--zones", o.zones, 0);
      const nodes = o.nodes ? parseNodeSpec(o.nodes, { zones }) : generateCell({ machines: machinesFor(trace, 0.75), seed, zones });
      const r = runTrace(trace, { profile, nodes, allAtOnce: o.allAtOnce });
      const compaction = o.compaction === undefined || o.compaction === false ? undefined
        : compactCell(trace, { profile, nodes, seeds: o.compaction === true ? 11 : intOption("--compaction", o.compaction, 1) });
      const showPending = intOption("--show-pending", o.showPending, 0);
      if (o.json) {
        const { placements, latencies: _l, ...rest } = r;
        process.stdout.write(JSON.stringify({ profile: profile.name, nodes: nodes.length, ...rest, placements: Object.fromEntries(placements), compaction }, null, 2) + "\n");
        return;
      }
      const lines = [
        `keel simulate: ${trace.length} tasks on ${nodes.length} nodes, profile ${profile.name}${o.allAtOnce ? ", all at once" : ""}`,
        `placed ${r.placed}, running at the end ${r.running}, pending ${r.pending.length}, preemptions ${r.preemptions} (tasks evicted ${r.evictions})`,
        `utilization: cpu ${pct(r.utilization.cpu)}, memory ${pct(r.utilization.memory)}, pod slots ${pct(r.utilization.pods)}; nodes in use ${r.nodesUsed}/${nodes.length}`,
        `scheduler: ${r.attempts} attempts in ${r.schedulingMs.toFixed(0)} ms (${Math.round((r.attempts / Math.max(r.schedulingMs, 1e-6)) * 1000)} pods/s)`,
      ];
      if (compaction) {
        const m = (x: number) => (Number.isFinite(x) ? String(x) : "does not fit");
        lines.push(`cell compaction (${compaction.perSeed.length} seeds, p90): ${m(compaction.p90)} machines of ${nodes.length}; lower bound ${m(compaction.lowerBoundP90)}; per seed ${compaction.perSeed.map(m).join(" ")}`);
      }
      if (r.pending.length && showPending) {
        lines.push("pending:");
        for (const p of r.pending.slice(0, showPending)) lines.push(`  ${p.name} (priority ${p.priority}): ${p.reason}`);
        if (r.pending.length > showPending) lines.push(`  ... and ${r.pending.length - showPending} more`);
      }
      process.stdout.write(lines.join("\n") + "\n");
    });
}
