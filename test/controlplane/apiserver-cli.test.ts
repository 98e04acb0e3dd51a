// `keel apiserver --help` explains every flag; the listen address is checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { register } from "../../cli/commands/apiserver.js";
import { parseListen, ListenAddressError } from "../../controlplane/apiserver/index.js";

test("keel apiserver --help names every flag with its default", () => {
  const program = new Command("keel").exitOverride();
  let out = "";
  program.configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { out += s; } });
  register(program);
  assert.throws(() => program.parse(["node", "keel", "apiserver", "--help"]), (e: { code?: string }) => e.code === "commander.helpDisplayed");
  for (const flag of ["--data-dir <dir>", "--listen <host:port>", "--store <spec>", "--insecure-http"]) assert.ok(out.includes(flag), `${flag} in\n${out}`);
  for (const text of ["/var/lib/keel", "0.0.0.0:6443", "etcd:http://", "admin.kubeconfig"]) assert.ok(out.includes(text), `${text} in\n${out}`);
});

test("listen addresses", () => {
  assert.deepEqual(parseListen("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListen("[::1]:6443"), { host: "::1", port: 6443 });
  assert.deepEqual(parseListen(":6443"), { host: "0.0.0.0", port: 6443 });
  for (const bad of ["6443", "host", "a:b", "1.2.3.4:70000"]) assert.throws(() => parseListen(bad), ListenAddressError);
});
