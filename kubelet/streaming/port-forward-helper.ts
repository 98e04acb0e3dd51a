// Connects to HOST:PORT and copies stdin to the connection and the connection to stdout, with
// half-closes passed on. The kubelet starts it with `nsenter --net=/proc/<sandbox>/ns/net`, so
// the connection is made inside the pod's network namespace, never in the host's.
//   node port-forward-helper.js HOST PORT
import { connect } from "node:net";

const [host, port] = process.argv.slice(2);
const s = connect({ host, port: Number(port) });
s.on("connect", () => {
  process.stdin.pipe(s);
  s.pipe(process.stdout);
});
s.on("error", (e) => { process.stderr.write(`dial tcp ${host}:${port}: ${e.message}`); process.exit(1); });
s.on("close", () => process.exit(0));
