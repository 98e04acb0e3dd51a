// Unit tests for api/: quantities, selectors, defaulting, validation, schemas, patches.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Quantity, parseLabelSelector, matchesLabels, parseFieldSelector, matchesFields, selectorFromLabelSelector,
  applyDefaults, validateCreate, validateUpdate, strategicMerge, jsonMergePatch, checkAgainstSchema, definitions,
  ResourceRegistry, humanDuration, type KubeObject,
} from "../../api/index.js";

test("quantities parse exactly", () => {
  assert.equal(Quantity.parse("100m").milliValue(), 100n);
  assert.equal(Quantity.parse("1.5").milliValue(), 1500n);
  assert.equal(Quantity.parse("64Mi").value(), 64n * 1024n * 1024n);
  assert.equal(Quantity.parse("1.5Gi").value(), 1610612736n);
  assert.equal(Quantity.parse("1e3").value(), 1000n);
  assert.equal(Quantity.parse("2k").value(), 2000n);
  assert.equal(Quantity.parse("1E").value(), 10n ** 18n);
  assert.equal(Quantity.parse("0.1").milliValue(), 100n);
  assert.equal(Quantity.parse("1n").milliValue(), 1n, "rounds up to the milli");
  assert.equal(Quantity.parse("100m").toString(), "100m");
  assert.equal(Quantity.parse("1024Mi").toString(), "1Gi");
  assert.equal(Quantity.parse("1000m").toString(), "1");
  assert.ok(Quantity.parse("500m").cmp(Quantity.parse("0.5")) === 0);
  for (const bad of ["", "abc", "1.2.3", "10Xi", "--1", "1 m"]) assert.throws(() => Quantity.parse(bad), /quantities must match/, bad);
});

test("label selectors: equality and set-based", () => {
  const sel = parseLabelSelector("app=web,tier in (a, b),!legacy,env!=prod,track");
  assert.equal(matchesLabels(sel, { app: "web", tier: "a", env: "dev", track: "x" }), true);
  assert.equal(matchesLabels(sel, { app: "web", tier: "c", track: "x" }), false);
  assert.equal(matchesLabels(sel, { app: "web", tier: "a", track: "x", legacy: "1" }), false);
  assert.equal(matchesLabels(sel, { app: "web", tier: "b", env: "prod", track: "" }), false);
  assert.equal(matchesLabels(parseLabelSelector("x notin (1,2)"), {}), true);
  assert.equal(matchesLabels(parseLabelSelector(""), { a: "b" }), true);
  assert.throws(() => parseLabelSelector("a in b"), /unable to parse/);
  const ls = selectorFromLabelSelector({ matchLabels: { a: "1" }, matchExpressions: [{ key: "b", operator: "Exists" }] });
  assert.equal(matchesLabels(ls, { a: "1", b: "" }), true);
  assert.equal(matchesLabels(ls, { a: "1" }), false);
});

test("field selectors", () => {
  const fs = parseFieldSelector("spec.nodeName=n1,status.phase!=Running");
  assert.equal(matchesFields(fs, { spec: { nodeName: "n1" }, status: { phase: "Pending" } }), true);
  assert.equal(matchesFields(fs, { spec: { nodeName: "n1" }, status: { phase: "Running" } }), false);
  assert.equal(matchesFields(parseFieldSelector("spec.nodeName="), { spec: {} }), true, "empty matches missing");
});

const deployment = (): KubeObject => ({
  apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "default" },
  spec: { selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx", ports: [{ containerPort: 80 }] }] } } },
});

test("defaulting follows kube-apiserver", () => {
  const d = deployment();
  applyDefaults("apps", "Deployment", d);
  const spec = d.spec as any;
  assert.equal(spec.replicas, 1);
  assert.deepEqual(spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } });
  assert.equal(spec.revisionHistoryLimit, 10);
  const c = spec.template.spec.containers[0];
  assert.equal(c.imagePullPolicy, "Always", "no tag means :latest");
  assert.equal(c.ports[0].protocol, "TCP");
  assert.equal(spec.template.spec.restartPolicy, "Always");
  assert.equal(spec.template.spec.terminationGracePeriodSeconds, 30);
  const p: KubeObject = { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "nginx:1.27" }] } };
  applyDefaults("", "Pod", p);
  assert.equal((p.spec as any).containers[0].imagePullPolicy, "IfNotPresent");
  const svc: KubeObject = { metadata: { name: "s" }, spec: { ports: [{ port: 80 }] } };
  applyDefaults("", "Service", svc);
  assert.deepEqual((svc.spec as any).ports[0], { port: 80, protocol: "TCP", targetPort: 80 });
});

test("validation names the field path", () => {
  const ctx = { group: "", kind: "Pod", namespaced: true };
  const pod: KubeObject = { metadata: { name: "Bad_Name", namespace: "default" }, spec: { containers: [{ name: "c" }, { name: "c", image: "x", ports: [{ containerPort: 70000 }] }] } };
  const msgs = validateCreate(ctx, pod).map((e) => e.message);
  assert.ok(msgs.some((m) => m.startsWith("metadata.name: Invalid value: \"Bad_Name\"")), msgs.join("\n"));
  assert.ok(msgs.includes("spec.containers[0].image: Required value"), msgs.join("\n"));
  assert.ok(msgs.includes("spec.containers[1].name: Duplicate value: \"c\""), msgs.join("\n"));
  assert.ok(msgs.some((m) => m.startsWith("spec.containers[1].ports[0].containerPort: Invalid value: 70000")), msgs.join("\n"));
  const noContainers = validateCreate(ctx, { metadata: { name: "p", namespace: "default" }, spec: { containers: [] } });
  assert.deepEqual(noContainers.map((e) => e.message), ["spec.containers: Required value"]);
  const res = validateCreate(ctx, { metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "c", image: "i", resources: { requests: { cpu: "2" }, limits: { cpu: "1", memory: "1Zi" } } }] } });
  assert.ok(res.some((e) => e.field === "spec.containers[0].resources.limits[memory]"));
  assert.ok(res.some((e) => e.field === "spec.containers[0].resources.requests" && /less than or equal to cpu limit/.test(e.message)));
});

test("selectors must match template labels; selectors are immutable", () => {
  const ctx = { group: "apps", kind: "Deployment", namespaced: true };
  const d = deployment();
  assert.deepEqual(validateCreate(ctx, d), []);
  const bad = deployment();
  (bad.spec as any).template.metadata.labels = { app: "other" };
  const errs = validateCreate(ctx, bad);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].field, "spec.template.metadata.labels");
  assert.match(errs[0].message, /`selector` does not match template `labels`/);
  const moved = deployment();
  (moved.spec as any).selector = { matchLabels: { app: "web", v: "2" } };
  (moved.spec as any).template.metadata.labels.v = "2";
  assert.ok(validateUpdate(ctx, moved, deployment()).some((e) => e.field === "spec.selector" && /immutable/.test(e.message)));
  const pod = (img: string): KubeObject => ({ metadata: { name: "p", namespace: "d" }, spec: { containers: [{ name: "c", image: img }], restartPolicy: "Always" } });
  const podCtx = { group: "", kind: "Pod", namespaced: true };
  assert.deepEqual(validateUpdate(podCtx, pod("b"), pod("a")), [], "image may change");
  const changed = pod("a");
  (changed.spec as any).restartPolicy = "Never";
  assert.ok(validateUpdate(podCtx, changed, pod("a")).some((e) => e.field === "spec" && e.type === "FieldValueForbidden"));
});

test("jobs require OnFailure or Never", () => {
  const job: KubeObject = { metadata: { name: "j", namespace: "d" }, spec: { template: { spec: { containers: [{ name: "c", image: "i" }], restartPolicy: "Always" } } } };
  const errs = validateCreate({ group: "batch", kind: "Job", namespaced: true }, job);
  assert.ok(errs.some((e) => e.field === "spec.template.spec.restartPolicy" && e.type === "FieldValueNotSupported"));
});

test("strategic merge patch merges containers, env and ports by key", () => {
  const d = deployment();
  (d.spec as any).template.spec.containers[0].env = [{ name: "A", value: "1" }, { name: "B", value: "2" }];
  const schema = definitions["io.k8s.api.apps.v1.Deployment"];
  const out = strategicMerge(d, {
    spec: { template: { spec: {
      containers: [
        { name: "c", image: "nginx:2", env: [{ name: "B", value: "3" }, { name: "A", $patch: "delete" }], ports: [{ containerPort: 443 }] },
        { name: "side", image: "busybox" },
      ],
    } } },
  }, schema) as any;
  const cs = out.spec.template.spec.containers;
  assert.deepEqual(cs.map((c: any) => c.name), ["c", "side"]);
  assert.equal(cs[0].image, "nginx:2");
  assert.deepEqual(cs[0].env, [{ name: "B", value: "3" }]);
  assert.deepEqual(cs[0].ports.map((p: any) => p.containerPort), [80, 443]);
  // $retainKeys on the strategy, $setElementOrder and null deletion
  const d2 = deployment();
  (d2.spec as any).strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } };
  const out2 = strategicMerge(d2, { metadata: { labels: null }, spec: { strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null } } }, schema) as any;
  assert.deepEqual(out2.spec.strategy, { type: "Recreate" });
  // finalizers merge as a set; a plain list (args) is replaced
  const pod = { metadata: { finalizers: ["a"] }, spec: { containers: [{ name: "c", args: ["1", "2"] }] } };
  const out3 = strategicMerge(pod, { metadata: { finalizers: ["b"] }, spec: { containers: [{ name: "c", args: ["3"] }] } }, definitions["io.k8s.api.core.v1.Pod"]) as any;
  assert.deepEqual(out3.metadata.finalizers, ["a", "b"]);
  assert.deepEqual(out3.spec.containers[0].args, ["3"]);
  assert.deepEqual(jsonMergePatch({ a: { b: 1, c: 2 }, l: [1] }, { a: { b: null }, l: [2] }), { a: { c: 2 }, l: [2] });
});

test("schema check finds unknown fields with their path, and wrong types", () => {
  const d = deployment() as any;
  d.spec.replicaz = 3;
  d.spec.template.spec.containers[0].imagee = "x";
  const res = checkAgainstSchema(d, definitions["io.k8s.api.apps.v1.Deployment"], { prune: true, constraints: false });
  assert.deepEqual(res.unknownFields.sort(), ["spec.replicaz", "spec.template.spec.containers[0].imagee"]);
  assert.equal(d.spec.replicaz, undefined, "pruned");
  const typed = deployment() as any;
  typed.spec.replicas = "3";
  const r2 = checkAgainstSchema(typed, definitions["io.k8s.api.apps.v1.Deployment"], { prune: false, constraints: false });
  assert.equal(r2.errors[0].field, "spec.replicas");
});

test("the registry knows every built-in kind with its columns", () => {
  const reg = new ResourceRegistry();
  const pods = reg.get("", "v1", "pods")!;
  assert.deepEqual(pods.columns.filter((c) => !c.priority).map((c) => c.name), ["Name", "Ready", "Status", "Restarts", "Age"]);
  assert.deepEqual(reg.get("apps", "v1", "deployments")!.columns.filter((c) => !c.priority).map((c) => c.name), ["Name", "Ready", "Up-to-date", "Available", "Age"]);
  for (const [g, v, p] of [["", "v1", "namespaces"], ["", "v1", "nodes"], ["", "v1", "services"], ["", "v1", "endpoints"], ["", "v1", "configmaps"], ["", "v1", "secrets"],
    ["", "v1", "events"], ["", "v1", "serviceaccounts"], ["apps", "v1", "replicasets"], ["apps", "v1", "daemonsets"], ["apps", "v1", "statefulsets"], ["batch", "v1", "jobs"],
    ["batch", "v1", "cronjobs"], ["coordination.k8s.io", "v1", "leases"], ["discovery.k8s.io", "v1", "endpointslices"], ["autoscaling", "v2", "horizontalpodautoscalers"],
    ["apiextensions.k8s.io", "v1", "customresourcedefinitions"]]) {
    const r = reg.get(g, v, p);
    assert.ok(r, `${g}/${v}/${p}`);
    assert.ok(r.definition && definitions[r.definition], `schema for ${p}`);
  }
  const running = { metadata: { name: "p", creationTimestamp: new Date(Date.now() - 5000).toISOString() }, spec: { containers: [{ name: "a" }, { name: "b" }] },
    status: { phase: "Running", containerStatuses: [{ name: "a", ready: true, restartCount: 2, state: { running: {} } }, { name: "b", ready: false, restartCount: 1, state: { waiting: { reason: "CrashLoopBackOff" } } }] } };
  const cells = pods.columns.map((c) => c.cell(running as KubeObject, Date.now()));
  assert.deepEqual(cells.slice(0, 4), ["p", "1/2", "CrashLoopBackOff", "3"]);
  assert.equal(humanDuration(5_000), "5s");
  assert.equal(humanDuration(3 * 60_000 + 2_000), "3m2s");
  assert.equal(humanDuration(50 * 3600_000), "2d2h");
});
