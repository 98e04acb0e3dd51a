// ResourceQuota and LimitRange: admission in the API server (defaults, min/max, quota refusals
// with kube's messages, no double counting under concurrent creates) and the quota controller
// keeping status.used true; shown with the kit client and with kubectl.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Pod } from "../../api/core.js";
import type { LimitRange, ResourceQuota } from "../../api/policy.js";
import { ApiStatusError, Informer, R } from "../../controlplane/kit/index.js";
import { RESOURCE_QUOTAS, ResourceQuotaController } from "../../controlplane/controllers/index.js";
import { applyLimitRangeDefaults, limitRangeViolations } from "../../controlplane/apiserver/admission/index.js";
import { secondPassWrites, startCluster, waitFor, type Cluster } from "./controllers-fixture.js";

const LIMIT_RANGES = { group: "", version: "v1", plural: "limitranges", kind: "LimitRange", namespaced: true };

let c: Cluster;
before(async () => { c = await startCluster(); });
after(async () => { await c?.close(); });

const pod = (name: string, resources?: { requests?: Record<string, string>; limits?: Record<string, string> }): Pod => ({
  metadata: { name }, spec: { containers: [{ name: "c", image: "busybox", ...(resources ? { resources } : {}) }] },
});

async function namespace(name: string): Promise<string> {
  await c.client.create(R.namespaces, undefined, { metadata: { name } });
  return name;
}

/** The refusal's Status (code and message as kubectl prints them). */
async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try { await p; } catch (err) { if (err instanceof ApiStatusError) return { code: err.code, message: err.status?.message ?? "" }; throw err; }
  throw new Error("expected the API server to refuse the create");
}

test("limit ranger (pure): defaults fill what is unset; violations in kube's words", () => {
  const lr: LimitRange = { metadata: { name: "lr" }, spec: { limits: [{ type: "Container", default: { cpu: "500m" }, defaultRequest: { cpu: "100m", memory: "64Mi" }, max: { cpu: "1" }, min: { memory: "32Mi" } }] } };
  const p = pod("p", { limits: { memory: "128Mi" } });
  applyLimitRangeDefaults(p, [lr]);
  const res = p.spec!.containers[0]!.resources!;
  assert.deepEqual(res.limits, { memory: "128Mi", cpu: "500m" });
  assert.deepEqual(res.requests, { cpu: "100m", memory: "128Mi" }); // a stated limit is the request
  assert.match(p.metadata.annotations!["kubernetes.io/limit-ranger"]!, /LimitRanger plugin set: cpu, memory request for container c; cpu limit for container c/);
  assert.deepEqual(limitRangeViolations(p, [lr]), []);
  const big = pod("big", { requests: { cpu: "2", memory: "16Mi" }, limits: { cpu: "2", memory: "16Mi" } });
  assert.deepEqual(limitRangeViolations(big, [lr]), [
    "minimum memory usage per Container is 32Mi, but request is 16Mi",
    "maximum cpu usage per Container is 1, but limit is 2",
  ]);
  // Applying the defaults twice changes nothing.
  const again = structuredClone(p);
  applyLimitRangeDefaults(again, [lr]);
  assert.deepEqual(again.spec, p.spec);
});

test("LimitRange: pods get default requests and limits; a pod outside min/max is refused with 403", async () => {
  const ns = await namespace("keel-lr");
  await c.client.create(LIMIT_RANGES, ns, { metadata: { name: "limits" }, spec: { limits: [{ type: "Container", default: { cpu: "500m", memory: "128Mi" }, max: { cpu: "1" } }, { type: "Pod", max: { memory: "256Mi" } }] } } as LimitRange);
  // The LimitRange itself was defaulted (defaultRequest from default) as kube does.
  const stored = await c.client.get<LimitRange>(LIMIT_RANGES, ns, "limits");
  assert.deepEqual(stored.spec!.limits[0]!.defaultRequest, { cpu: "500m", memory: "128Mi" });
  assert.match(await c.kubectl("describe", "limitrange", "limits", "-n", ns), /Container\s+cpu\s+-\s+1\s+500m\s+500m\s+-/);
  const p = await c.client.create<Pod>(R.pods, ns, pod("plain"));
  assert.deepEqual(p.spec!.containers[0]!.resources, { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "500m", memory: "128Mi" } });
  assert.equal(p.status?.qosClass, "Guaranteed");
  const e = await refusal(c.client.create(R.pods, ns, pod("greedy", { limits: { cpu: "2" } })));
  assert.equal(e.code, 403);
  assert.equal(e.message, `pods "greedy" is forbidden: maximum cpu usage per Container is 1, but limit is 2`);
  const two: Pod = { metadata: { name: "two" }, spec: { containers: [{ name: "a", image: "busybox", resources: { limits: { memory: "200Mi" } } }, { name: "b", image: "busybox", resources: { limits: { memory: "200Mi" } } }] } };
  const e2 = await refusal(c.client.create(R.pods, ns, two));
  assert.equal(e2.message, `pods "two" is forbidden: maximum memory usage per Pod is 256Mi, but limit is 400Mi`);
  // An invalid LimitRange is refused with field errors.
  const bad = await refusal(c.client.create(LIMIT_RANGES, ns, { metadata: { name: "bad" }, spec: { limits: [{ type: "Container", min: { cpu: "2" }, max: { cpu: "1" } }] } } as LimitRange));
  assert.equal(bad.code, 422);
  assert.match(bad.message, /spec\.limits\[0\]\.min\[cpu\]: Invalid value: "2": min value 2 is greater than max value 1/);
});

test("ResourceQuota: concurrent creates never exceed hard; refusals carry kube's message; used stays true", async () => {
  const ns = await namespace("keel-quota");
  await c.client.create(RESOURCE_QUOTAS, ns, { metadata: { name: "compute" }, spec: { hard: { pods: "3", "requests.cpu": "1", "requests.memory": "1Gi", "count/configmaps": "2" } } } as ResourceQuota);
  // Twenty creates at once, each asking 200m: exactly three fit under pods=3 (cpu alone would allow five).
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => c.client.create(R.pods, ns, pod(`p${i}`, { requests: { cpu: "200m", memory: "100Mi" } }))));
  const ok = results.filter((r) => r.status === "fulfilled");
  assert.equal(ok.length, 3);
  for (const r of results) {
    if (r.status === "rejected") {
      const e = r.reason as ApiStatusError;
      assert.equal(e.code, 403);
      assert.match(e.status?.message ?? "", /^pods "p\d+" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=3, limited: pods=3$/);
    }
  }
  const q = await c.client.get<ResourceQuota>(RESOURCE_QUOTAS, ns, "compute");
  assert.equal(q.status?.used?.pods, "3");
  assert.equal(q.status?.used?.["requests.cpu"], "600m");
  assert.equal(q.status?.used?.["requests.memory"], "300Mi");
  // A pod without the requests the quota tracks is refused, naming what is missing.
  await c.client.delete(R.pods, ns, "p0", { gracePeriodSeconds: 0 }).catch(() => {});
  await c.client.delete(R.pods, ns, ok.map((r) => (r as PromiseFulfilledResult<Pod>).value.metadata.name!).find((n) => n !== "p0")!, { gracePeriodSeconds: 0 });
  // The controller releases what deleted pods held.
  await waitFor("used released", async () => Number((await c.client.get<ResourceQuota>(RESOURCE_QUOTAS, ns, "compute")).status?.used?.pods ?? 9) <= 2);
  const missing = await refusal(c.client.create(R.pods, ns, pod("bare")));
  assert.equal(missing.message, `pods "bare" is forbidden: failed quota: compute: must specify requests.cpu for: c; requests.memory for: c`);
  // Several resources over at once, sorted by name.
  const e = await refusal(c.client.create(R.pods, ns, pod("huge", { requests: { cpu: "2", memory: "2Gi" } })));
  assert.match(e.message, /exceeded quota: compute, requested: requests\.cpu=2,requests\.memory=2Gi, used: requests\.cpu=\d+m,requests\.memory=\d+Mi, limited: requests\.cpu=1,requests\.memory=1Gi$/);
  // Object counts: count/configmaps.
  await c.client.create(R.configmaps, ns, { metadata: { name: "a" } });
  await c.client.create(R.configmaps, ns, { metadata: { name: "b" } });
  const cm = await refusal(c.client.create(R.configmaps, ns, { metadata: { name: "c" } }));
  assert.equal(cm.message, `configmaps "c" is forbidden: exceeded quota: compute, requested: count/configmaps=1, used: count/configmaps=2, limited: count/configmaps=2`);
});

test("ResourceQuota with kubectl: create quota, a refused run, describe; the controller's counts are idempotent", async () => {
  const ns = await namespace("keel-quota-cli");
  await c.kubectl("create", "quota", "small", "-n", ns, "--hard=pods=1,count/services=0");
  await waitFor("status counted", async () => (await c.client.get<ResourceQuota>(RESOURCE_QUOTAS, ns, "small")).status?.used?.pods === "0");
  await c.kubectl("run", "one", "-n", ns, "--image=busybox");
  await assert.rejects(c.kubectl("run", "two", "-n", ns, "--image=busybox"),
    (err: Error & { stderr?: string }) => /Error from server \(Forbidden\): pods "two" is forbidden: exceeded quota: small, requested: pods=1, used: pods=1, limited: pods=1/.test(err.stderr ?? ""));
  const described = await c.kubectl("describe", "quota", "small", "-n", ns);
  assert.match(described, /pods\s+1\s+1/);
  assert.match(await c.kubectl("get", "quota", "-n", ns), /^small\s+\S+\s+count\/services: 0\/0, pods: 1\/1\s*$/m);
  assert.deepEqual(await secondPassWrites(c, [ResourceQuotaController], RESOURCE_QUOTAS), []);
});


test("ResourceQuota scopes: a BestEffort quota counts only pods without requests or limits", async () => {
  const ns = await namespace("keel-quota-scope");
  await c.client.create(RESOURCE_QUOTAS, ns, { metadata: { name: "besteffort" }, spec: { hard: { pods: "1" }, scopes: ["BestEffort"] } } as ResourceQuota);
  await c.client.create(R.pods, ns, pod("be-1"));
  const e = await refusal(c.client.create(R.pods, ns, pod("be-2")));
  assert.equal(e.message, `pods "be-2" is forbidden: exceeded quota: besteffort, requested: pods=1, used: pods=1, limited: pods=1`);
  // Burstable pods are outside the scope.
  await c.client.create(R.pods, ns, pod("burst-1", { requests: { cpu: "10m" } }));
  await c.client.create(R.pods, ns, pod("burst-2", { requests: { cpu: "10m" } }));
  await waitFor("controller agrees", async () => (await c.client.get<ResourceQuota>(RESOURCE_QUOTAS, ns, "besteffort")).status?.used?.pods === "1");
  const bad = await refusal(c.client.create(RESOURCE_QUOTAS, ns, { metadata: { name: "bad" }, spec: { hard: { bananas: "1" }, scopes: ["Sometimes"] } } as ResourceQuota));
  assert.equal(bad.code, 422);
  assert.match(bad.message, /spec\.hard\[bananas\]: Invalid value: "bananas": must be a standard resource for quota/);
  assert.match(bad.message, /spec\.scopes\[0\]: Unsupported value: "Sometimes"/);
});

test("ResourceQuota under churn: creates racing deletes and the controller's recounts never hold more than hard", async () => {
  const ns = await namespace("keel-quota-churn");
  await c.client.create(RESOURCE_QUOTAS, ns, { metadata: { name: "three" }, spec: { hard: { pods: "3" } } } as ResourceQuota);
  const existing = new Set<string>();
  let most = 0;
  const watcher = new Informer<Pod>(c.client, R.pods, { namespace: ns });
  watcher.addEventHandler({
    add: (p) => { existing.add(p.metadata.name!); most = Math.max(most, existing.size); },
    delete: (p) => { existing.delete(p.metadata.name!); },
  });
  await watcher.start();
  let created = 0, refused = 0, seq = 0;
  const until = Date.now() + 4_000;
  try {
    const creator = async () => {
      while (Date.now() < until) {
        try { await c.client.create(R.pods, ns, pod(`churn-${seq++}`)); created++; } catch (err) {
          if (!(err instanceof ApiStatusError && err.code === 403)) throw err;
          refused++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const deleter = async () => {
      while (Date.now() < until) {
        const victim = watcher.list()[0];
        if (victim) await c.client.delete(R.pods, ns, victim.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => {});
        await new Promise((r) => setTimeout(r, 150));
      }
    };
    await Promise.all([creator(), creator(), creator(), deleter()]);
    assert.ok(created > 3, `only ${created} creates got through: the controller never released quota`);
    assert.ok(refused > 0, "the quota never refused anything");
    assert.ok(most <= 3, `${most} pods existed at once under pods=3`);
  } finally { watcher.stop(); }
});
