// The live view's page: one HTML document with its script inline (no build step, no assets).
// It opens /events (server-sent events) and redraws from each snapshot the server sends.
export const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>keel cluster</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 16px; background: #f6f7f9; color: #1d2330; }
  h1 { font-size: 18px; margin: 0 0 12px; } h2 { font-size: 15px; margin: 20px 0 8px; }
  #status { font-size: 12px; color: #667; margin-left: 8px; }
  .nodes { display: flex; flex-wrap: wrap; gap: 12px; }
  .node { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; padding: 10px; width: 300px; }
  .node.notready { border-color: #d33; background: #fff4f4; }
  .node h3 { margin: 0 0 4px; font-size: 14px; } .meta { font-size: 12px; color: #667; }
  .bar { height: 8px; background: #e8ebf0; border-radius: 4px; margin: 2px 0 6px; overflow: hidden; }
  .bar > div { height: 100%; background: #4a7bd0; }
  .pods { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 6px; }
  .pod { font-size: 11px; padding: 2px 6px; border-radius: 10px; background: #ddd; }
  .pod.Running { background: #cdeccd; } .pod.Pending { background: #f5e6b8; } .pod.Failed { background: #f3c4c4; }
  .pod.Succeeded { background: #d6e2f5; } .pod.terminating { text-decoration: line-through; opacity: .6; }
  table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #d5d9e0; padding: 3px 8px; font-size: 13px; text-align: left; }
</style></head>
<body>
<h1>keel cluster <span id="status">connecting…</span></h1>
<div class="nodes" id="nodes"></div>
<h2>Unscheduled pods</h2><div class="pods" id="unscheduled"></div>
<h2>Workloads</h2><table><thead><tr><th>kind</th><th>namespace</th><th>name</th><th>ready / desired</th></tr></thead><tbody id="workloads"></tbody></table>
<script>
const el = (tag, attrs, ...kids) => { const e = document.createElement(tag); for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v); for (const k of kids) e.append(k); return e; };
const pct = (a, b) => (b > 0 ? Math.min(100, Math.round((100 * a) / b)) : 0);
const mib = (b) => (b / 1048576).toFixed(0) + " MiB";
const podChip = (p) => el("span", { class: "pod " + p.phase + (p.terminating ? " terminating" : ""), "data-pod": p.name, "data-namespace": p.namespace, "data-phase": p.phase, title: p.namespace + "/" + p.name + " " + p.phase + (p.ip ? " " + p.ip : "") }, p.name);
function bar(label, used, total, text) {
  return [el("div", { class: "meta" }, label + ": " + text), el("div", { class: "bar" }, el("div", { style: "width:" + pct(used, total) + "%" }))];
}
function draw(v) {
  const nodes = document.getElementById("nodes");
  nodes.replaceChildren(...v.nodes.map((n) => el("div", { class: "node" + (n.ready ? "" : " notready"), "data-node": n.name, "data-ready": String(n.ready) },
    el("h3", {}, n.name + (n.ready ? "" : " (NotReady)")),
    el("div", { class: "meta" }, (n.address || "") + (n.podCIDR ? " · pods " + n.podCIDR : "")),
    ...bar("cpu requested", n.cpu.requestedMilli, n.cpu.allocatableMilli, n.cpu.requestedMilli + "m / " + n.cpu.allocatableMilli + "m"),
    ...bar("memory requested", n.memory.requestedBytes, n.memory.allocatableBytes, mib(n.memory.requestedBytes) + " / " + mib(n.memory.allocatableBytes)),
    ...bar("pods", n.pods.count, n.pods.capacity, n.pods.count + " / " + n.pods.capacity),
    el("div", { class: "pods" }, ...n.podList.map(podChip)))));
  document.getElementById("unscheduled").replaceChildren(...v.unscheduled.map(podChip));
  document.getElementById("workloads").replaceChildren(...v.workloads.map((w) => el("tr", { "data-workload": w.kind + "/" + w.namespace + "/" + w.name },
    el("td", {}, w.kind), el("td", {}, w.namespace), el("td", {}, w.name), el("td", {}, w.ready + " / " + w.desired))));
  document.getElementById("status").textContent = "live · " + new Date(v.at).toLocaleTimeString();
}
const es = new EventSource("events");
es.addEventListener("snapshot", (e) => draw(JSON.parse(e.data)));
es.onerror = () => { document.getElementById("status").textContent = "reconnecting…"; };
</script>
</body></html>
`;
