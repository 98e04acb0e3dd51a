/** The store conformance suite on both backends: SQLite (a fresh file per test) and a real etcd. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../controlplane/store/index.js';
import { etcdMissing, startEtcd, type EtcdServer } from './etcd-fixture.js';
import { storeConformance } from './store-conformance.js';

let dir = '';
let n = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keel-store-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
storeConformance('sqlite', () => openStore(`sqlite:${join(dir, `store-${n++}.db`)}`));

const missing = etcdMissing();
if (missing) {
  describe('store conformance: etcd', () => {
    test(`skipped: ${missing}`, { skip: missing }, () => {});
  });
} else {
  let etcd: EtcdServer | null = null;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });
  storeConformance('etcd', () => openStore(etcd!.spec));
}
