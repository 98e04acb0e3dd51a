/** etcd-specific behaviour: several clients on one etcd, and an etcd restart under a watch. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore, type Store, type WatchEvent } from '../../controlplane/store/index.js';
import { etcdMissing, startEtcd, type EtcdServer } from './etcd-fixture.js';

const missing = etcdMissing();

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('etcd store', { skip: missing ?? false }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  test('two stores on one etcd see each other\'s writes through their watches', async () => {
    const a = await openStore(etcd.spec);
    const b = await openStore(etcd.spec);
    try {
      const from = await a.currentRevision();
      const seenByA: WatchEvent[] = [];
      const seenByB: WatchEvent[] = [];
      const wa = await a.watch('/two/', from, (ev) => seenByA.push(ev));
      const wb = await b.watch('/two/', from, (ev) => seenByB.push(ev));
      const x = await a.create('/two/x', 'from a');
      const y = await b.create('/two/y', 'from b');
      await assert.rejects(b.create('/two/x', 'again'), /already exists/);
      await b.update('/two/x', 'b edits', x.modRevision);
      await until(() => seenByA.length >= 3 && seenByB.length >= 3, 'three events on both');
      await wa.cancel();
      await wb.cancel();
      assert.deepEqual(seenByA, seenByB);
      assert.deepEqual(seenByA.map((e) => [e.key, e.value, e.modRevision]), [
        ['/two/x', 'from a', x.modRevision],
        ['/two/y', 'from b', y.modRevision],
        ['/two/x', 'b edits', y.modRevision + 1],
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('an etcd restart loses no acknowledged write and no watch event', async () => {
    const store = await openStore(etcd.spec);
    let watch: Awaited<ReturnType<Store['watch']>> | null = null;
    try {
      const from = await store.currentRevision();
      // A long history (3000 x 2 KB), so the watch is still catching up when etcd dies: etcd sends
      // it in batches, and the resume point after the restart must be the last event delivered.
      let kv = await store.create('/restart/k', '0');
      await Promise.all(Array.from({ length: 3000 }, (_, i) => store.create(`/restart/h${i}`, 'x'.repeat(2000))));
      const total = 3001;
      const events: WatchEvent[] = [];
      const errors: Error[] = [];
      watch = await store.watch('/restart/', from, (ev) => events.push(ev), (err) => errors.push(err));
      await until(() => events.length > 0, 'the first history batch');
      await etcd.kill();
      await etcd.start();
      // The client reconnects on its own; writes may fail while it does, so retry until one lands.
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          kv = await store.update(kv.key, 'after restart', kv.modRevision);
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await until(() => events.length >= total + 1, `${total + 1} events`);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(errors, []);
      assert.equal(events.length, total + 1);
      events.forEach((ev, i) => assert.equal(ev.modRevision, from + 1 + i));
      assert.equal(events[total]!.value, 'after restart');
      assert.equal((await store.get('/restart/k'))?.value, 'after restart');
    } finally {
      await watch?.cancel();
      await store.close();
    }
  });
  test('every write acknowledged around an etcd SIGKILL is there after the restart', async () => {
    const store = await openStore(etcd.spec);
    const acked = new Set<string>();
    let failures = 0;
    let stop = false;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const key = `/burst/${w}/${i}`;
        try {
          await store.create(key, String(i));
          acked.add(key);
        } catch {
          failures++; // in flight at the kill: its outcome is unknown, so it is not checked
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });
    try {
      await until(() => acked.size >= 300, '300 acknowledged writes');
      await etcd.kill();
      await etcd.start();
      const atRestart = acked.size;
      await until(() => acked.size >= atRestart + 100, 'writes to resume after the restart');
      stop = true;
      await Promise.all(writers);
      const stored = new Set<string>();
      let cont: string | undefined;
      do {
        const page = await store.list('/burst/', { limit: 1000, continue: cont });
        for (const kv of page.items) stored.add(kv.key);
        cont = page.continue;
      } while (cont);
      const lost = [...acked].filter((k) => !stored.has(k));
      assert.deepEqual(lost, [], `${lost.length} acknowledged writes lost (${failures} writes failed during the restart)`);
    } finally {
      stop = true;
      await Promise.allSettled(writers);
      await store.close();
    }
  });
});
