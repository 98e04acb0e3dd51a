// Runs one httpGet or tcpSocket probe and exits 0 (success) or 1 (failure, reason on stderr).
// The kubelet starts it with `nsenter --net=/proc/<sandbox>/ns/net` so that it connects from
// inside the pod's network namespace, never touching the host's.
//   node probe-helper.js http HOST PORT PATH TIMEOUT_MS [SCHEME]
//   node probe-helper.js tcp HOST PORT TIMEOUT_MS
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";

const [kind, host, port, a, b, c] = process.argv.slice(2);
const fail = (msg: string) => { process.stderr.write(msg); process.exit(1); };

if (kind === "tcp") {
  const timeout = Number(a);
  const s = connect({ host, port: Number(port) });
  s.setTimeout(timeout, () => fail(`dial tcp ${host}:${port}: i/o timeout`));
  s.on("connect", () => { s.destroy(); process.exit(0); });
  s.on("error", (e) => fail(`dial tcp ${host}:${port}: ${e.message}`));
} else if (kind === "http") {
  const path = a, timeout = Number(b), scheme = (c ?? "HTTP").toUpperCase();
  const req = (scheme === "HTTPS" ? httpsRequest : httpRequest)(
    { host, port: Number(port), path, method: "GET", timeout, headers: { "User-Agent": "kube-probe/1.32", Accept: "*/*" }, rejectUnauthorized: false },
    (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      if (code >= 200 && code < 400) process.exit(0);
      fail(`HTTP probe failed with statuscode: ${code}`);
    },
  );
  req.on("timeout", () => { req.destroy(); fail(`Get "${scheme.toLowerCase()}://${host}:${port}${path}": context deadline exceeded`); });
  req.on("error", (e) => fail(`Get "${scheme.toLowerCase()}://${host}:${port}${path}": ${e.message}`));
  req.end();
} else {
  fail(`unknown probe kind ${kind}`);
}
