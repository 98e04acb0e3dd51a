// images: pull + unpack of the same image from a real registry on loopback (Debian's
// docker-registry, started here on 127.0.0.1 with a port of its choosing), keel vs skopeo+umoci,
// interleaved in one run. keel: ImageService.pull (fetch, verify, unpack the layers) then
// snapshots.prepare (the container's overlay rootfs), into a fresh store root every iteration.
// The reference: `skopeo copy docker://… oci:DIR:tag` then `umoci unpack --image DIR:tag BUNDLE`.
// Two images, pushed by keel first: busybox (one small layer) and busybox + ~50 MB of random
// files (incompressible, so the figure is the pipeline's throughput, not gzip's ratio).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ImageService, buildFromDirectory } from "../images/index.js";
import { closeHttpAgents } from "../images/registry/http.js";
import { native } from "../native/index.js";
import { startRegistry, type TestRegistry } from "../test/images/helpers.js";
import { exec } from "./lib/exec.js";
import { summarize, timeIt } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";


interface Subject {
  name: string;
  /** Pull and unpack `ref` (host/repo:tag) into the empty directory `dir`. Timed; returns the ms of its second step (keel: prepare; umoci: unpack). */
  pullAndUnpack(ref: string, dir: string, i: number): Promise<number>;
  /** Undo what pullAndUnpack left (mounts); not timed. */
  cleanup?(dir: string, i: number): Promise<void>;
}

/** Compressed bytes a pull transfers: config + layers, as the registry's manifest lists them. */
async function imageBytes(images: ImageService, ref: string): Promise<number> {
  const { manifest } = await images.resolve(ref);
  const m = manifest as unknown as { config: { size: number }; layers: { size: number }[] };
  return m.config.size + m.layers.reduce((a, l) => a + l.size, 0);
}

export async function main({ quick }: { quick: boolean }): Promise<void> {
  ensureDebianPackages(["docker-registry", "skopeo", "umoci", "busybox-static"]);
  reexecInPrivateMountNs();
  // The machine is shared (2 cores): the load when the run began says how much to trust it.
  const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
  const iterations = quick ? 3 : 15;
  const bigMiB = 50;
  // Everything on one tmpfs (both subjects alike): the figure is the pipeline, not the disk.
  const work = mkdtempSync(join(tmpdir(), "keel-bench-images-"));
  let mounted = false;
  let registry: TestRegistry | undefined;
  const samples = new Map<string, number[]>();
  const failures = new Map<string, string>();
  const sizes = new Map<string, number>();
  const push = (k: string, v: number) => (samples.get(k) ?? samples.set(k, []).get(k)!).push(v);
  const images: { label: string; ref: string }[] = [];
  const subjects: Subject[] = [];
  try {
    native.mount("tmpfs", work, "tmpfs", 0, "size=1536m,mode=755");
    mounted = true;
    registry = await startRegistry(work);
    // Build both images in a source store and push them with keel.
    const source = await ImageService.open(join(work, "source"));
    await source.buildBusybox();
    const payload = join(work, "payload");
    mkdirSync(join(payload, "data"), { recursive: true });
    for (let i = 0; i < bigMiB; i++) writeFileSync(join(payload, "data", `blob-${i}`), randomBytes(1 << 20));
    await buildFromDirectory(source.store, payload, { base: "busybox", tag: "keel-bench-big" });
    rmSync(payload, { recursive: true, force: true });
    const built = [
      { label: "busybox", local: "busybox", ref: `${registry.host}/keel-bench/busybox:1` },
      { label: `busybox+${bigMiB}MiB`, local: "keel-bench-big", ref: `${registry.host}/keel-bench/big:1` },
    ];
    for (const b of built) {
      await source.push(b.local, b.ref);
      sizes.set(b.label, await imageBytes(source, b.local));
      images.push({ label: b.label, ref: b.ref });
    }

    let keelImages: ImageService | undefined;
    subjects.push({
      name: "keel",
      async pullAndUnpack(ref, dir, i) {
        keelImages = await ImageService.open(join(dir, "store"));
        await keelImages.pull(ref);
        return timeIt(() => keelImages!.snapshots.prepare(ref, `keel-bench-images-${i}`));
      },
      async cleanup(_dir, i) {
        await keelImages?.snapshots.release(`keel-bench-images-${i}`);
        keelImages = undefined;
      },
    });
    subjects.push({
      name: "skopeo+umoci",
      async pullAndUnpack(ref, dir) {
        await exec("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${ref}`, `oci:${join(dir, "oci")}:bench`]);
        return timeIt(() => exec("umoci", ["unpack", "--image", `${join(dir, "oci")}:bench`, join(dir, "bundle")]));
      },
    });

    const once = async (s: Subject, im: { label: string; ref: string }, i: number, record: boolean) => {
      const dir = join(work, `run-${i}`);
      mkdirSync(dir);
      try {
        let second = 0;
        const ms = await timeIt(async () => (second = await s.pullAndUnpack(im.ref, dir, i)));
        if (record) {
          push(`${s.name}|${im.label}`, ms);
          push(`${s.name}|${im.label}|second`, second);
        }
      } catch (e) {
        failures.set(s.name, (e as Error).message);
      } finally {
        await s.cleanup?.(dir, i).catch((e) => failures.set(`${s.name} cleanup`, (e as Error).message));
        rmSync(dir, { recursive: true, force: true });
      }
    };
    // Warm-up: one of each (registry caches, page cache of the binaries), not counted.
    for (const im of images) for (const s of subjects) await once(s, im, 0, false);
    for (let i = 1; i <= iterations; i++) {
      for (const im of images) for (const s of subjects) if (!failures.has(s.name)) await once(s, im, i, true);
      process.stderr.write(`\rimages: ${i}/${iterations}`);
    }
    process.stderr.write("\n");
  } finally {
    closeHttpAgents();
    await registry?.stop().catch(() => {});
    if (mounted) native.umount2(work, 0);
    rmSync(work, { recursive: true, force: true });
  }

  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
  for (const im of images) {
    const bytes = sizes.get(im.label)!;
    const p50 = new Map<string, number>();
    for (const s of subjects) {
      const x = samples.get(`${s.name}|${im.label}`);
      if (!x) continue;
      const sum = summarize(x);
      p50.set(s.name, sum.p50_ms);
      rows.push({
        subject: `${s.name} (${im.label})`, image: im.label, image_MB: round(bytes / 1e6, 1), n: sum.n,
        p50_s: round(sum.p50_ms / 1000), p90_s: round(sum.p90_ms / 1000),
        step2_p50_s: round(summarize(samples.get(`${s.name}|${im.label}|second`)!).p50_ms / 1000),
        MB_per_s_p50: round(bytes / 1e6 / (sum.p50_ms / 1000), 1),
      });
    }
    const k = p50.get("keel"), r = p50.get("skopeo+umoci");
    if (k && r) ratios[`keel p50 / skopeo+umoci p50 (${im.label})`] = k / r;
  }
  const notes = [...failures].map(([s, m]) => `${s} failed: ${m}`);
  notes.push(
    "Each iteration: a fresh, empty destination; keel = ImageService.pull (fetch + verify + unpack layers) + snapshots.prepare (overlay rootfs); skopeo+umoci = `skopeo copy docker://… oci:DIR:tag` + `umoci unpack`. Release/removal is not timed.",
    "Registry: Debian docker-registry 2.8 on 127.0.0.1 (plain HTTP), started by the benchmark; images pushed by keel. All directories on one tmpfs.",
    "step2_p50_s: the second step alone (keel: snapshots.prepare, the overlay mount — keel unpacks during the pull; skopeo+umoci: `umoci unpack`, which does all the unpacking).",
    "MB/s = compressed image bytes (config + layers) / p50 seconds; a ratio < 1 means keel is faster.",
  );
  const files = writeReport({ name: "images", title: "images: pull + unpack from a loopback registry", params: { iterations, quick, bigMiB, loadavg1mAtStart: loadAtStart }, rows, ratios, chart: { figure: "p50_s", unit: "s" }, notes });
  console.log(readFileSync(files.md, "utf8"));
}
