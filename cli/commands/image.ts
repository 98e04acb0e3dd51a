// `keel image ...`: the image store's verbs (pull, push, import, export, ls, rm, inspect, build,
// prune), as podman names them. Tables for people, `--format json` for programs.
import { Command, Option } from "commander";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import cliProgress from "cli-progress";
import { ContentStore, defaultImageRoot } from "../../images/content-store.js";
import { pullImage, type Progress } from "../../images/registry/pull.js";
import { pushImage } from "../../images/registry/push.js";
import { closeHttpAgents } from "../../images/registry/http.js";
import { exportOciArchive, exportOciLayout, importImage } from "../../images/layout.js";
import { buildFromContainerfile, buildFromDirectory } from "../../images/build.js";
import { buildBusyboxImage } from "../../images/build-busybox.js";
import { collectGarbage } from "../../images/gc.js";
import { familiarName, localCandidates, parseReference } from "../../images/reference.js";
import { ImageNotFoundError } from "../../images/errors.js";
import { printTable } from "../table.js";

interface GroupOpts {
  root: string;
}

async function storeOf(cmd: Command): Promise<ContentStore> {
  return ContentStore.open(cmd.optsWithGlobals<GroupOpts>().root);
}

function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + "\n");
}

function humanSize(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) [n, i] = [n / 1000, i + 1];
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

function ago(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  for (const [secs, unit] of [[86400 * 365, "year"], [86400 * 30, "month"], [86400 * 7, "week"], [86400, "day"], [3600, "hour"], [60, "minute"]] as const)
    if (s >= secs) {
      const n = Math.floor(s / secs);
      return `${n} ${unit}${n > 1 ? "s" : ""} ago`;
    }
  return "just now";
}

/** One bar per layer on a terminal; a line per finished layer otherwise (unless quiet). */
function progressReporter(quiet: boolean): { progress?: Progress; stop(): void } {
  if (quiet) return { stop() {} };
  if (!process.stderr.isTTY) {
    return {
      progress: { start() {}, update() {}, done: (id, s) => process.stderr.write(`${id}: ${s === "exists" ? "already exists" : s}\n`) },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { stream: process.stderr, format: "{id} [{bar}] {percentage}% {sizes} {status}", hideCursor: true, clearOnComplete: false, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; total: number }>();
  const payload = (id: string, n: number, total: number, status: string) => ({ id, sizes: `${humanSize(n)}/${humanSize(total)}`, status });
  return {
    progress: {
      start(id, total) {
        bars.set(id, { bar: multi.create(Math.max(total, 1), 0, payload(id, 0, total, "downloading")), total });
      },
      update(id, n) {
        const b = bars.get(id);
        b?.bar.update(n, payload(id, n, b.total, "downloading"));
      },
      done(id, status) {
        const b = bars.get(id);
        if (b) b.bar.update(status === "done" ? b.total : b.bar.getProgress() * b.total, payload(id, status === "done" ? b.total : 0, b.total, status));
        else multi.log(`${id}: already exists\n`);
      },
    },
    stop: () => multi.stop(),
  };
}

function parsePlatform(s: string | undefined): { os: string; architecture: string; variant?: string } | undefined {
  if (!s) return undefined;
  const [os, architecture, variant] = s.split("/");
  if (!os || !architecture) throw new Error(`--platform takes OS/ARCH[/VARIANT], e.g. linux/amd64 (got "${s}")`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function register(program: Command): void {
  const image = program
    .command("image")
    .alias("images")
    .description("manage images: pull and push over the OCI distribution API, import/export, build, list, remove")
    .addOption(new Option("--root <dir>", "the image store").default(defaultImageRoot()).env("KEEL_IMAGE_ROOT"));

  image
    .command("pull <image>")
    .description("pull an image from a registry (an index is resolved to this machine's platform) and unpack its layers")
    .option("--insecure", "allow plain HTTP (and unverified fallback) for a registry not on loopback")
    .option("--platform <os/arch[/variant]>", "the platform to pull from a multi-platform image")
    .option("--authfile <file>", "credentials file (docker config.json format)")
    .option("-q, --quiet", "print only the image digest")
    .addOption(new Option("--format <fmt>", "output format").choices(["table", "json"]).default("table"))
    .action(async (ref: string, o: { insecure?: boolean; platform?: string; authfile?: string; quiet?: boolean; format: string }, cmd: Command) => {
      const store = await storeOf(cmd);
      const rep = progressReporter(Boolean(o.quiet) || o.format === "json");
      try {
        const r = await pullImage(store, ref, { insecure: o.insecure, platform: parsePlatform(o.platform), progress: rep.progress, authFiles: o.authfile ? [o.authfile] : undefined });
        rep.stop();
        if (o.format === "json") printJson(r);
        else if (o.quiet) process.stdout.write(`${r.digest}\n`);
        else process.stdout.write(`${r.name}\n${r.digest}\n`);
      } finally {
        rep.stop();
        closeHttpAgents();
      }
    });

  image
    .command("push <image> [destination]")
    .description("push an image to a registry (destination defaults to the image's own name)")
    .option("--insecure", "allow plain HTTP for a registry not on loopback")
    .option("--authfile <file>", "credentials file (docker config.json format)")
    .option("-q, --quiet", "print nothing but errors")
    .action(async (ref: string, dest: string | undefined, o: { insecure?: boolean; authfile?: string; quiet?: boolean }, cmd: Command) => {
      const store = await storeOf(cmd);
      const rep = progressReporter(Boolean(o.quiet));
      try {
        const r = await pushImage(store, ref, dest ?? ref, { insecure: o.insecure, progress: rep.progress, authFiles: o.authfile ? [o.authfile] : undefined });
        rep.stop();
        if (!o.quiet) process.stdout.write(`${r.name}\n${r.digest}\n`);
      } finally {
        rep.stop();
        closeHttpAgents();
      }
    });

  image
    .command("import <source> [name]")
    .description("import an OCI layout directory, an OCI archive or a `docker save` archive; NAME tags an image that has no full name")
    .addOption(new Option("--format <fmt>", "output format").choices(["table", "json"]).default("table"))
    .action(async (source: string, name: string | undefined, o: { format: string }, cmd: Command) => {
      const imported = await importImage(await storeOf(cmd), resolve(source), name);
      if (o.format === "json") return printJson(imported);
      printTable([["IMAGE", "DIGEST"], ...imported.map((i) => [i.name ? familiarName(i.name) : "<none>", i.digest])]);
    });

  image
    .command("export <images...>")
    .description("export images as an OCI layout directory, or an OCI archive when OUTPUT ends in .tar")
    .requiredOption("-o, --output <path>", "the layout directory or archive file to write")
    .action(async (refs: string[], o: { output: string }, cmd: Command) => {
      const store = await storeOf(cmd);
      const out = resolve(o.output);
      const isDir = await stat(out).then((s) => s.isDirectory(), () => false);
      if (!isDir && out.endsWith(".tar")) await exportOciArchive(store, refs, out);
      else await exportOciLayout(store, refs, out);
    });

  image
    .command("ls")
    .alias("list")
    .description("list images")
    .option("-q, --quiet", "print only digests")
    .option("--digests", "show full digests")
    .addOption(new Option("--format <fmt>", "output format").choices(["table", "json"]).default("table"))
    .action(async (o: { quiet?: boolean; digests?: boolean; format: string }, cmd: Command) => {
      const store = await storeOf(cmd);
      const rows: { name: string; repository: string; tag: string; digest: string; created: string; size: number }[] = [];
      for (const r of await store.listRefs()) {
        let size = 0;
        let created = r.created;
        try {
          const img = await store.resolveDigest(r.name, r.digest);
          size = img.manifest.layers.reduce((a, l) => a + l.size, 0) + img.manifest.config.size;
          created = img.config.created ?? created;
        } catch {
          /* a ref whose content is gone: listed with size 0 */
        }
        const p = parseReference(r.name);
        rows.push({ name: r.name, repository: `${p.registry}/${p.repository}`, tag: p.tag ?? "<none>", digest: r.digest, created, size });
      }
      if (o.format === "json") return printJson(rows);
      if (o.quiet) return void process.stdout.write(rows.map((r) => `${r.digest}\n`).join(""));
      printTable([
        ["REPOSITORY", "TAG", "DIGEST", "CREATED", "SIZE"],
        ...rows.map((r) => [r.repository, r.tag, o.digests ? r.digest : r.digest.slice(7, 19), ago(r.created), humanSize(r.size)]),
      ]);
    });

  image
    .command("rm <images...>")
    .alias("remove")
    .description("remove image names, then collect the blobs and snapshots nothing uses any more")
    .option("-f, --force", "do not fail on names that are not there")
    .action(async (refs: string[], o: { force?: boolean }, cmd: Command) => {
      const store = await storeOf(cmd);
      for (const ref of refs) {
        let removed = false;
        for (const c of localCandidates(ref)) if (await store.deleteRef(c)) {
          removed = true;
          process.stdout.write(`Untagged: ${c}\n`);
          break;
        }
        if (!removed && !o.force) throw new ImageNotFoundError(ref);
      }
      const gc = await collectGarbage(store);
      for (const d of gc.blobsRemoved) process.stdout.write(`Deleted: ${d}\n`);
    });

  image
    .command("inspect <image>")
    .description("print an image's manifest and config as JSON")
    .addOption(new Option("--format <fmt>", "output format").choices(["json"]).default("json"))
    .action(async (ref: string, _o, cmd: Command) => {
      const img = await (await storeOf(cmd)).resolve(ref);
      printJson({ name: img.name, digest: img.digest, refDigest: img.refDigest, configDigest: img.configDigest, manifest: img.manifest, config: img.config });
    });

  image
    .command("build [context]")
    .description("build an image from a Containerfile/Dockerfile in CONTEXT, or (--dir) from CONTEXT's tree as one layer")
    .option("-t, --tag <name>", "name the image (short names go under localhost/)")
    .option("-f, --file <file>", "the Containerfile (default: CONTEXT/Containerfile, then CONTEXT/Dockerfile)")
    .option("--dir", "build from the directory's tree instead of a Containerfile")
    .option("--from <image>", "base image for --dir")
    .option("--build-arg <K=V>", "a build argument (repeatable)", collect, [] as string[])
    .option("--busybox [binary]", "build keel's busybox image from Debian's busybox-static (default /bin/busybox)")
    .option("-q, --quiet", "print only the image digest")
    .addOption(new Option("--format <fmt>", "output format").choices(["table", "json"]).default("table"))
    .action(
      async (
        context: string | undefined,
        o: { tag?: string; file?: string; dir?: boolean; from?: string; buildArg: string[]; busybox?: string | boolean; quiet?: boolean; format: string },
        cmd: Command,
      ) => {
        const store = await storeOf(cmd);
        let r: { name?: string; digest: string };
        if (o.busybox) r = await buildBusyboxImage(store, { binary: typeof o.busybox === "string" ? o.busybox : undefined, name: o.tag ?? "busybox" });
        else {
          if (!context) throw new Error("build needs a CONTEXT directory (or --busybox)");
          const hasFile = o.file || (await stat(resolve(context, "Containerfile")).then(() => true, () => false)) || (await stat(resolve(context, "Dockerfile")).then(() => true, () => false));
          if (o.dir || !hasFile) r = await buildFromDirectory(store, context, { base: o.from, tag: o.tag });
          else {
            const buildArgs = Object.fromEntries(o.buildArg.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
            const { runBuildStep } = await import("../containers/build-runner.js");
            r = await buildFromContainerfile(store, { context, file: o.file, tag: o.tag, buildArgs, run: runBuildStep });
          }
        }
        if (o.format === "json") printJson(r);
        else if (o.quiet || !r.name) process.stdout.write(`${r.digest}\n`);
        else process.stdout.write(`${r.name}\n${r.digest}\n`);
      },
    );

  image
    .command("prune")
    .description("delete blobs and layer snapshots that no image name or container uses")
    .addOption(new Option("--format <fmt>", "output format").choices(["table", "json"]).default("table"))
    .action(async (o: { format: string }, cmd: Command) => {
      const gc = await collectGarbage(await storeOf(cmd));
      if (o.format === "json") return printJson(gc);
      process.stdout.write(`removed ${gc.blobsRemoved.length} blob(s) (${humanSize(gc.bytesRemoved)}) and ${gc.snapshotsRemoved.length} snapshot(s)\n`);
    });
}
