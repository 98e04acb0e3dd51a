// ServiceSync against a real API server and a network namespace of the test's: the table follows
// Services and EndpointSlices by watch, a burst of endpoint changes is gathered into few nft
// transactions, a change that alters nothing the table holds applies nothing, and remove()
// leaves no table.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Service } from "../../api/core.js";
import type { EndpointSlice } from "../../api/extensions.js";
import { ServiceSync } from "../../cluster/services.js";
import { R } from "../../controlplane/kit/index.js";
import { startApiFixture, waitFor, type ApiFixture } from "../controlplane/kit-fixture.js";
import { NetLab } from "../cni/fixtures.js";

const BURST = 100;

const slice = (name: string, svc: string, ips: string[]): EndpointSlice => ({
  apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice",
  metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": svc } },
  addressType: "IPv4", ports: [{ name: "", port: 8080, protocol: "TCP" }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
} as EndpointSlice);

describe("ServiceSync: Services and EndpointSlices by watch into a node's table", () => {
  let api: ApiFixture;
  const lab = new NetLab();
  let node = { name: "", path: "" };
  let sync: ServiceSync;
  const log: string[] = [];
  const table = async () => {
    try { return (await lab.exec(node.name, ["nft", "list", "table", "ip", "keel-services"])).stdout; } catch { return ""; }
  };

  before(async () => {
    api = await startApiFixture("keel-svcsync-");
    node = await lab.addNetns("svcsync");
    sync = new ServiceSync(api.client, [{ name: "n1", netnsPath: node.path }], (m) => log.push(m));
  });
  after(async () => {
    await sync?.stop();
    await sync?.remove().catch(() => {});
    await lab.cleanup();
    await api?.close();
  });

  it("applies the table once listed, then follows a Service and its endpoints", async (t) => {
    await sync.start();
    assert.equal(sync.applies, 1);
    assert.match(await table(), /chain services/);
    const svc = await api.client.create<Service>(R.services, "default", { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
    const ip = svc.spec!.clusterIP!;
    // no endpoint yet: refused at once
    await waitFor("the Service's reject rule", async () => (await table()).includes(`ip daddr ${ip} tcp dport 80 reject`), 10_000);
    const t0 = Date.now();
    await api.client.create(R.endpointslices, "default", slice("web-a", "web", ["10.244.0.5"]));
    await waitFor("the endpoint's DNAT", async () => (await table()).includes("dnat to 10.244.0.5:8080"), 10_000);
    t.diagnostic(`an EndpointSlice create was in the table within ${Date.now() - t0} ms (polled)`);
    assert.deepEqual(log, []);
  });

  it(`gathers a burst of ${BURST} endpoint changes into a few transactions`, async (t) => {
    const before = sync.applies;
    await Promise.all(Array.from({ length: BURST }, (_, i) => api.client.create(R.endpointslices, "default", slice(`web-b${i}`, "web", [`10.244.1.${i + 1}`]))));
    await waitFor("all the endpoints in the table", async () => (await table()).includes(`numgen random mod ${BURST + 1} `), 10_000);
    const applied = sync.applies - before;
    t.diagnostic(`${applied} nft transaction(s) for ${BURST} EndpointSlice creates`);
    // One per debounce window the burst spans (the creates themselves take a while): far fewer
    // than one per change.
    assert.ok(applied >= 1 && applied < BURST / 4, `${applied} transactions for ${BURST} changes`);
  });

  it("applies nothing for a change the table does not show", async () => {
    const before = sync.applies;
    const svc = await api.client.get<Service>(R.services, "default", "web");
    await api.client.update(R.services, { ...svc, metadata: { ...svc.metadata, labels: { touched: "yes" } } });
    // a later change the table does show: once it is in, the label change was seen before it
    await api.client.create(R.endpointslices, "default", slice("web-c", "web", ["10.244.2.1"]));
    await waitFor("the last endpoint", async () => (await table()).includes("dnat to 10.244.2.1:8080"), 10_000);
    assert.equal(sync.applies - before, 1);
  });

  it("remove() takes the table away", async () => {
    await sync.stop();
    await sync.remove();
    assert.equal(await table(), "");
  });
});
