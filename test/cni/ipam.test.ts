// keel's host-local IPAM on its own (no namespaces needed): round-robin, exhaustion, concurrency,
// the reference plugin's on-disk format.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostLocalIpam } from "../../cni/ipam/host-local.js";
import { IpamExhaustedError, InvalidNetworkConfigError } from "../../cni/index.js";

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "keel-ipam-"));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test("allocates past the gateway, is idempotent per container, records the reference format", async () => {
  const d = dataDir();
  const ipam = new HostLocalIpam({ dataDir: d, network: "n1", subnet: "10.1.0.0/24" });
  const a = await ipam.allocate("c1", "eth0");
  assert.deepEqual(a, { ip: "10.1.0.2", prefixLength: 24, gateway: "10.1.0.1", existing: false });
  assert.equal((await ipam.allocate("c1", "eth0")).existing, true);
  assert.equal((await ipam.allocate("c1", "eth1")).ip, "10.1.0.3");
  assert.equal(readFileSync(join(d, "n1", "10.1.0.2"), "utf8"), "c1\r\neth0");
  assert.deepEqual(await ipam.release("c1", "eth0"), ["10.1.0.2"]);
  // round robin: a freed address is not handed out again at once
  assert.equal((await ipam.allocate("c2", "eth0")).ip, "10.1.0.4");
});

test("an exhausted range is a typed error naming the range", async () => {
  const ipam = new HostLocalIpam({ dataDir: dataDir(), network: "n2", subnet: "10.2.0.0/29", rangeStart: "10.2.0.2", rangeEnd: "10.2.0.3" });
  await ipam.allocate("a", "eth0");
  await ipam.allocate("b", "eth0");
  await assert.rejects(ipam.allocate("c", "eth0"), (e: unknown) => e instanceof IpamExhaustedError && /10\.2\.0\.2-10\.2\.0\.3/.test(e.message));
  await ipam.release("a", "eth0");
  assert.equal((await ipam.allocate("c", "eth0")).ip, "10.2.0.2");
});

test("bad ranges are refused naming the field", () => {
  assert.throws(() => new HostLocalIpam({ dataDir: "/nonexistent", network: "n", subnet: "10.3.0.0/24", rangeStart: "10.4.0.1" }), (e: unknown) => e instanceof InvalidNetworkConfigError && e.field === "ipam.rangeStart");
  assert.throws(() => new HostLocalIpam({ dataDir: "/nonexistent", network: "../n", subnet: "10.3.0.0/24" }), /name/);
  assert.throws(() => new HostLocalIpam({ dataDir: "/nonexistent", network: "n", subnet: "10.3.0.0" }), /ipam\.subnet/);
});

test("50 concurrent allocations are distinct; GC frees all but the kept", async () => {
  const d = dataDir();
  const ipams = Array.from({ length: 5 }, () => new HostLocalIpam({ dataDir: d, network: "n3", subnet: "10.5.0.0/24" }));
  const got = await Promise.all(Array.from({ length: 50 }, (_, i) => ipams[i % 5]!.allocate(`c${i}`, "eth0")));
  assert.equal(new Set(got.map((g) => g.ip)).size, 50);
  const freed = await ipams[0]!.gc(new Set(["c0", "c1"]));
  assert.equal(freed.length, 48);
  assert.equal((await ipams[0]!.list()).size, 2);
});
