// `keel image build`: from a directory and from a Containerfile subset, reproducibly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile, readFile, readdir, chmod, symlink } from "node:fs/promises";
import { join } from "node:path";
import { buildBusyboxImage } from "../../images/build-busybox.js";
import { buildFromContainerfile, buildFromDirectory, parseContainerfile, substitute } from "../../images/build.js";
import { prepareRootfs } from "../../images/snapshots.js";
import { BuildError } from "../../images/errors.js";
import { rawTar, tempStore } from "./helpers.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { RunStepRunner } from "../../images/build.js";

/** A stand-in for keel's runtime in RUN steps: chroot into the step's rootfs (we are root, in a private mount namespace). */
const chrootRunner: RunStepRunner = async (s) => {
  await mkdir(join(s.rootfs, s.cwd), { recursive: true });
  const env = Object.fromEntries(s.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  try {
    await promisify(execFile)("chroot", [s.rootfs, "/bin/sh", "-c", 'cd "$0" && exec "$@"', s.cwd, ...s.args], { env });
    return { exitCode: 0 };
  } catch (e) {
    return { exitCode: typeof (e as { code?: unknown }).code === "number" ? (e as { code: number }).code : 1 };
  }
};

test("Containerfile parsing: comments, continuations, variables", () => {
  const steps = parseContainerfile("# c\nFROM x\nRUN a \\\n  # inner comment\n  b\nenv A=1\n");
  assert.deepEqual(steps, [
    { line: 2, cmd: "FROM", args: "x" },
    { line: 3, cmd: "RUN", args: "a  b" },
    { line: 6, cmd: "ENV", args: "A=1" },
  ]);
  assert.equal(substitute("$A/${B}/${C:-dflt}", new Map([["A", "1"], ["B", "2"]])), "1/2/dflt");
});

test("a Containerfile build: COPY, ADD of a tar, ENV, WORKDIR, USER, LABEL, EXPOSE, ENTRYPOINT, CMD; reproducible", async (t) => {
  const { store, root, cleanup } = await tempStore();
  t.after(cleanup);
  await buildBusyboxImage(store);
  const ctx = join(root, "ctx");
  await mkdir(join(ctx, "site", "css"), { recursive: true });
  await writeFile(join(ctx, "site", "index.html"), "<h1>hi</h1>");
  await writeFile(join(ctx, "site", "css", "a.css"), "body{}");
  await writeFile(join(ctx, "run.sh"), "#!/bin/sh\necho run\n");
  await chmod(join(ctx, "run.sh"), 0o755);
  await writeFile(join(ctx, "extra.tar"), await rawTar([{ name: "opt/extra/readme", data: "from a tar" }]));
  await writeFile(
    join(ctx, "Containerfile"),
    [
      "ARG VERSION=1.0",
      "FROM busybox",
      "ENV APP_HOME=/srv/app MODE=prod",
      "WORKDIR $APP_HOME",
      "COPY site/ ./www/",
      "COPY --chown=1000:1000 run.sh /usr/local/bin/",
      "ADD extra.tar /",
      "USER nobody",
      'LABEL version="${VERSION}" org.example.name=demo',
      "EXPOSE 8080 53/udp",
      'ENTRYPOINT ["/usr/local/bin/run.sh"]',
      'CMD ["--port", "8080"]',
    ].join("\n"),
  );
  const r1 = await buildFromContainerfile(store, { context: ctx, tag: "keel-test/site:1" });
  const r2 = await buildFromContainerfile(store, { context: ctx, tag: "keel-test/site:2" });
  assert.equal(r1.digest, r2.digest, "the same inputs give the same digest");
  assert.equal(r1.name, "localhost/keel-test/site:1");
  assert.equal(r1.layers, 4);
  const img = await store.resolve("localhost/keel-test/site:1");
  const c = img.config.config!;
  assert.deepEqual(c.Env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_HOME=/srv/app", "MODE=prod"]);
  assert.equal(c.WorkingDir, "/srv/app");
  assert.equal(c.User, "nobody");
  assert.deepEqual(c.Labels, { version: "1.0", "org.example.name": "demo" });
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ["8080/tcp", "53/udp"]);
  assert.deepEqual(c.Entrypoint, ["/usr/local/bin/run.sh"]);
  assert.deepEqual(c.Cmd, ["--port", "8080"]);
  const rootfs = await prepareRootfs(store, "localhost/keel-test/site:1", "keel-build-1");
  t.after(() => rootfs.cleanup());
  assert.equal(await readFile(join(rootfs.rootfs, "srv/app/www/index.html"), "utf8"), "<h1>hi</h1>");
  assert.deepEqual(await readdir(join(rootfs.rootfs, "srv/app/www/css")), ["a.css"]);
  assert.equal(await readFile(join(rootfs.rootfs, "opt/extra/readme"), "utf8"), "from a tar");
  const { stat } = await import("node:fs/promises");
  const st = await stat(join(rootfs.rootfs, "usr/local/bin/run.sh"));
  assert.equal(st.uid, 1000);
  assert.equal(st.mode & 0o777, 0o755);
  assert.ok((await readdir(join(rootfs.rootfs, "bin"))).includes("busybox"), "the base image's layer is below");
  await rootfs.cleanup();
});

test("unsupported and wrong Containerfiles fail with a BuildError naming the line", async (t) => {
  const { store, root, cleanup } = await tempStore();
  t.after(cleanup);
  const ctx = join(root, "ctx");
  await mkdir(ctx);
  const cases: [string, RegExp][] = [
    ["FROM scratch\nRUN echo hi\n", /Containerfile:2: RUN needs a container runner/],
    ["FROM scratch\nCOPY ../../etc/passwd /x\n", /outside the build context/],
    ["FROM scratch\nCOPY missing /x\n", /does not exist/],
    ["COPY a b\n", /before FROM/],
    ["FROM scratch\nFROBNICATE\n", /unknown instruction FROBNICATE/],
    ["FROM scratch\nEXPOSE http\n", /not PORT/],
  ];
  await symlink("/etc", join(ctx, "hostetc"));
  cases.push(["FROM scratch\nCOPY hostetc/passwd /x\n", /symlink out of the build context/]);
  for (const [text, re] of cases) {
    await writeFile(join(ctx, "Containerfile"), text);
    await assert.rejects(buildFromContainerfile(store, { context: ctx }), (e: unknown) => e instanceof BuildError && re.test(e.message), text);
  }
  assert.deepEqual(await store.listRefs(), []);
});

test("a directory build: the tree becomes one layer on a base", async (t) => {
  const { store, root, cleanup } = await tempStore();
  t.after(cleanup);
  await buildBusyboxImage(store);
  const dir = join(root, "tree");
  await mkdir(join(dir, "etc"), { recursive: true });
  await writeFile(join(dir, "etc", "motd"), "welcome\n");
  const a = await buildFromDirectory(store, dir, { base: "busybox", tag: "keel-test/tree" });
  const b = await buildFromDirectory(store, dir, { base: "busybox" });
  assert.equal(a.digest, b.digest);
  assert.equal(a.layers, 2);
  const img = await store.resolve("keel-test/tree");
  assert.deepEqual(img.config.config?.Cmd, ["sh"], "the base's config is kept");
});

test("RUN steps through a runner: their changes (new files, deletions, a replaced directory) become layers", async (t) => {
  const { store, root, cleanup } = await tempStore();
  t.after(cleanup);
  await buildBusyboxImage(store);
  const ctx = join(root, "ctx");
  await mkdir(ctx);
  await writeFile(
    join(ctx, "Containerfile"),
    [
      "FROM busybox",
      "ENV GREETING=built",
      "RUN mkdir -p /data /opt && echo $GREETING > /data/out && rm /etc/group && touch /opt/old",
      "RUN rm -rf /opt && mkdir /opt && echo new > /opt/new",
      "WORKDIR /w",
      'RUN ["/bin/sh", "-c", "pwd > /cwd.txt"]',
    ].join("\n"),
  );
  const r1 = await buildFromContainerfile(store, { context: ctx, tag: "keel-test/run", run: chrootRunner });
  assert.equal(r1.layers, 4);
  const r2 = await buildFromContainerfile(store, { context: ctx, run: chrootRunner });
  assert.equal(r2.digest, r1.digest, "deterministic RUN steps give the same digest");
  const fs = await prepareRootfs(store, "keel-test/run", "keel-build-run");
  t.after(() => fs.cleanup());
  assert.equal(await readFile(join(fs.rootfs, "data/out"), "utf8"), "built\n");
  await assert.rejects(readFile(join(fs.rootfs, "etc/group")), /ENOENT/, "the deletion is a whiteout in the RUN layer");
  assert.deepEqual(await readdir(join(fs.rootfs, "opt")), ["new"], "the re-created directory is opaque");
  assert.equal(await readFile(join(fs.rootfs, "cwd.txt"), "utf8"), "/w\n");
  await fs.cleanup();
  await writeFile(join(ctx, "Containerfile"), "FROM busybox\nRUN exit 3\n");
  await assert.rejects(buildFromContainerfile(store, { context: ctx, run: chrootRunner }), /Containerfile:2: RUN .* exited with status 3/);
  assert.deepEqual(await readdir(join(store.root, "active")), [], "no step's rootfs is left behind");
});
