// Cluster DNS, the pure parts: a pod's resolv.conf by dnsPolicy and dnsConfig (kubelet/dns.ts),
// the DNS records' view of Services and slices, the kube-dns objects, and the proxy keeping only
// a node's own endpoints for an internalTrafficPolicy Local Service (node-local DNS).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Node, Pod, Service } from "../../api/core.js";
import type { EndpointSlice } from "../../api/extensions.js";
import { formatResolvConf, parseResolvConf, podDnsConfig } from "../../kubelet/dns.js";
import { DNS_CLUSTER_IP, dnsServices, kubeDnsNodes, kubeDnsObjects } from "../../cluster/dns.js";
import { serviceSpecs } from "../../cluster/services.js";

const pod = (spec: Partial<NonNullable<Pod["spec"]>> & Record<string, unknown> = {}, ns = "shop"): Pod =>
  ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: ns, uid: "u1" }, spec: { containers: [{ name: "c", image: "busybox" }], ...spec } }) as Pod;
const opts = { clusterDNS: [DNS_CLUSTER_IP], clusterDomain: "cluster.local" };

describe("a pod's resolv.conf", () => {
  it("ClusterFirst (the default): the cluster DNS, the namespace's search path, ndots:5", () => {
    assert.equal(formatResolvConf(podDnsConfig(pod(), opts)!),
      "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
  });

  it("ClusterFirst on the host network, or with no cluster DNS configured, falls back to Default (the image's file here)", () => {
    assert.equal(podDnsConfig(pod({ hostNetwork: true }), opts), undefined);
    assert.equal(podDnsConfig(pod(), {}), undefined);
    assert.equal(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), opts)?.nameservers[0], DNS_CLUSTER_IP);
  });

  it("None takes dnsConfig alone; dnsConfig is merged into ClusterFirst, its options winning", () => {
    const none = podDnsConfig(pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["1.1.1.1"], searches: ["corp.example"], options: [{ name: "ndots", value: "2" }] } }), opts)!;
    assert.equal(formatResolvConf(none), "nameserver 1.1.1.1\nsearch corp.example\noptions ndots:2\n");
    const merged = podDnsConfig(pod({ dnsConfig: { searches: ["corp.example", "svc.cluster.local"], options: [{ name: "ndots", value: "1" }, { name: "edns0" }] } }), opts)!;
    assert.deepEqual(merged.searches, ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"]);
    assert.deepEqual(merged.options, [{ name: "ndots", value: "1" }, { name: "edns0" }]);
  });

  it("parses a resolv.conf", () => {
    assert.deepEqual(parseResolvConf("# c\nnameserver 10.0.0.2\nsearch a b\noptions ndots:3 rotate\n"),
      { nameservers: ["10.0.0.2"], searches: ["a", "b"], options: [{ name: "ndots", value: "3" }, { name: "rotate" }] });
  });
});

describe("the cluster's DNS records and kube-dns", () => {
  const svc = (name: string, spec: Service["spec"]): Service => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec });
  const slice = (svcName: string, endpoints: EndpointSlice["endpoints"]): EndpointSlice => ({
    apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: `${svcName}-x`, namespace: "default", labels: { "kubernetes.io/service-name": svcName } },
    addressType: "IPv4", endpoints,
  });

  it("Services become records: ClusterIP, ports, headless endpoints with hostnames", () => {
    const out = dnsServices(
      [svc("web", { clusterIP: "10.96.3.4", ports: [{ name: "http", port: 80 }] }), svc("db", { clusterIP: "None", ports: [{ name: "pg", port: 5432 }] }), svc("ext", { type: "ExternalName", externalName: "x.example" } as Service["spec"])],
      [slice("db", [{ addresses: ["10.244.1.5"], hostname: "db-0", conditions: { ready: true } }, { addresses: ["10.244.2.5"], conditions: { ready: false } }])],
    );
    assert.deepEqual(out.map((s) => s.name), ["web", "db"]);
    assert.deepEqual(out[0]!.ports, [{ name: "http", protocol: "tcp", port: 80 }]);
    assert.deepEqual(out[1]!.endpoints, [{ ip: "10.244.1.5", ready: true, hostname: "db-0" }, { ip: "10.244.2.5", ready: false, hostname: undefined }]);
  });

  it("kube-dns: a fixed ClusterIP, node-local endpoints, and each node's proxy keeps only its own", () => {
    const nodes = [{ name: "n1", ip: "10.250.0.11" }, { name: "n2", ip: "10.250.0.12" }];
    const { service, slice: s } = kubeDnsObjects(nodes);
    assert.equal(service.spec?.clusterIP, DNS_CLUSTER_IP);
    assert.equal(service.spec?.internalTrafficPolicy, "Local");
    service.metadata.namespace = "kube-system";
    for (const n of nodes) {
      const [spec] = serviceSpecs([service], [s], n.name);
      assert.deepEqual(spec!.endpoints, [{ ip: n.ip, ready: true }]);
      assert.deepEqual(spec!.ports.map((p) => [p.protocol, p.port, p.targetPort]), [["udp", 53, 53], ["tcp", 53, 53]]);
    }
    // without a node (or for a Cluster policy) every endpoint stays
    assert.equal(serviceSpecs([service], [s])[0]!.endpoints.length, 2);
  });

  it("kube-dns names the cluster's own nodes, then every joined Node by its InternalIP", () => {
    const node = (name: string, ip?: string): Node => ({ apiVersion: "v1", kind: "Node", metadata: { name }, status: ip ? { addresses: [{ type: "Hostname", address: name }, { type: "InternalIP", address: ip }] } : {} }) as Node;
    const own = [{ name: "n1", ip: "10.250.0.11" }];
    assert.deepEqual(kubeDnsNodes(own, [node("n1", "10.250.0.99"), node("zz", "10.250.0.201"), node("joined", "10.250.0.200"), node("new")]),
      [{ name: "n1", ip: "10.250.0.11" }, { name: "joined", ip: "10.250.0.200" }, { name: "zz", ip: "10.250.0.201" }]);
  });
});
