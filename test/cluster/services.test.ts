// serviceSpecs: Services and EndpointSlices as the API gives them → the proxy's list (target
// ports from the slices, numeric targetPorts as given, readiness kept, headless passed through).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Service } from "../../api/core.js";
import type { EndpointSlice } from "../../api/extensions.js";
import { serviceSpecs } from "../../cluster/services.js";

const svc = (name: string, spec: Service["spec"]): Service => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec });
const slice = (svcName: string, ports: EndpointSlice["ports"], endpoints: EndpointSlice["endpoints"]): EndpointSlice => ({
  apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: `${svcName}-x`, namespace: "default", labels: { "kubernetes.io/service-name": svcName } },
  addressType: "IPv4", ports, endpoints,
});

describe("serviceSpecs", () => {
  it("resolves target ports from the slices and keeps endpoint readiness", () => {
    const specs = serviceSpecs(
      [svc("web", { clusterIP: "10.96.0.10", type: "NodePort", ports: [{ name: "http", port: 80, targetPort: "http", nodePort: 30080 }, { name: "dns", protocol: "UDP", port: 53, targetPort: 5353 }] }),
        svc("headless", { clusterIP: "None", ports: [{ port: 80 }] })],
      [slice("web", [{ name: "http", port: 8080 }], [{ addresses: ["10.244.0.2"], conditions: { ready: true } }, { addresses: ["10.244.1.2"], conditions: { ready: false } }])],
    );
    assert.deepEqual(specs[0], {
      namespace: "default", name: "web", clusterIP: "10.96.0.10", sessionAffinity: undefined,
      ports: [{ name: "http", protocol: "tcp", port: 80, targetPort: 8080, nodePort: 30080 }, { name: "dns", protocol: "udp", port: 53, targetPort: 5353 }],
      endpoints: [{ ip: "10.244.0.2", ready: true }, { ip: "10.244.1.2", ready: false }],
    });
    assert.equal(specs[1]!.clusterIP, "None");
    assert.deepEqual(specs[1]!.endpoints, []);
  });

  it("drops a named target port no slice resolves yet", () => {
    const [s] = serviceSpecs([svc("a", { clusterIP: "10.96.0.11", ports: [{ name: "http", port: 80, targetPort: "http" }] })], []);
    assert.deepEqual(s!.ports, []);
  });
});
