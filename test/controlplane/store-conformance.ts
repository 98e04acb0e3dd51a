/**
 * The store contract as one suite, run against every backend (kine's approach): call
 * `storeConformance(name, open)` with a function that opens a store on a backend. Tests use
 * their own key prefixes and assert revisions relative to the store's revision when they start,
 * so one etcd server can serve the whole suite.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  InvalidContinueError,
  KeyExistsError,
  NotFoundError,
  StoreClosedError,
  type Store,
  type WatchEvent,
} from '../../controlplane/store/index.js';

/** Collects a watch's events; `waitFor(n)` resolves once n have arrived (or fails after a while). */
function collector() {
  const events: WatchEvent[] = [];
  const errors: Error[] = [];
  let waiter: { n: number; resolve: () => void } | null = null;
  return {
    events,
    errors,
    onEvent: (ev: WatchEvent) => {
      events.push(ev);
      if (waiter && events.length >= waiter.n) waiter.resolve();
    },
    onError: (err: Error) => errors.push(err),
    async waitFor(n: number, timeoutMs = 20_000): Promise<void> {
      if (events.length >= n) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} events, got ${events.length}`)), timeoutMs);
        waiter = { n, resolve: () => (clearTimeout(timer), resolve()) };
      });
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 200));

export function storeConformance(name: string, open: () => Promise<Store>): void {
  describe(`store conformance: ${name}`, () => {
    /** Opens a store for one test, with a prefix no other test uses; closes it after. */
    async function withStore(fn: (s: Store, p: string) => Promise<void>): Promise<void> {
      const s = await open();
      try {
        await fn(s, `/keel-test/${randomUUID()}/`);
      } finally {
        await s.close();
      }
    }

    test('every change gets the next revision; create, get, update, delete', () =>
      withStore(async (s, p) => {
        const r0 = await s.currentRevision();
        const a = await s.create(`${p}a`, 'v1');
        assert.deepEqual(a, { key: `${p}a`, value: 'v1', createRevision: r0 + 1, modRevision: r0 + 1 });
        assert.deepEqual(await s.get(`${p}a`), a);
        const a2 = await s.update(`${p}a`, 'v2', a.modRevision);
        assert.deepEqual(a2, { key: `${p}a`, value: 'v2', createRevision: r0 + 1, modRevision: r0 + 2 });
        const del = await s.delete(`${p}a`, a2.modRevision);
        assert.deepEqual(del, { revision: r0 + 3, prev: a2 });
        assert.equal(await s.currentRevision(), r0 + 3);
        assert.equal(await s.get(`${p}a`), null);
        const again = await s.create(`${p}a`, 'v3');
        assert.equal(again.createRevision, r0 + 4, 'a re-created key starts a new incarnation');
        assert.equal(await s.get(`${p}missing`), null);
      }));

    test('stale and impossible writes fail with typed errors and change nothing', () =>
      withStore(async (s, p) => {
        const a = await s.create(`${p}a`, 'v1');
        const a2 = await s.update(`${p}a`, 'v2', a.modRevision);
        const r = await s.currentRevision();
        await assert.rejects(s.create(`${p}a`, 'x'), (e: unknown) => e instanceof KeyExistsError && e.key === `${p}a` && e.code === 'KEY_EXISTS');
        await assert.rejects(s.update(`${p}a`, 'x', a.modRevision), (e: unknown) =>
          e instanceof ConflictError && e.expectedModRevision === a.modRevision && e.actualModRevision === a2.modRevision);
        await assert.rejects(s.delete(`${p}a`, a.modRevision), ConflictError);
        await assert.rejects(s.update(`${p}none`, 'x', a.modRevision), NotFoundError);
        await assert.rejects(s.update(`${p}none`, 'x', 0), NotFoundError);
        await assert.rejects(s.delete(`${p}none`), NotFoundError);
        await assert.rejects(s.delete(`${p}none`, 5), NotFoundError);
        assert.equal(await s.currentRevision(), r, 'failed writes do not advance the revision');
        assert.deepEqual(await s.get(`${p}a`), a2);
      }));

    test('racing updates on one revision: exactly one wins', () =>
      withStore(async (s, p) => {
        const a = await s.create(`${p}a`, 'v0');
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.update(`${p}a`, `v${i + 1}`, a.modRevision)));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError);
        const creates = await Promise.allSettled(Array.from({ length: 10 }, () => s.create(`${p}b`, 'x')));
        assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
      }));

    test('get and list at a past revision', () =>
      withStore(async (s, p) => {
        const a = await s.create(`${p}a`, 'a1');
        const b = await s.create(`${p}b`, 'b1');
        const a2 = await s.update(`${p}a`, 'a2', a.modRevision);
        const del = await s.delete(`${p}b`);
        await s.create(`${p}c`, 'c1');
        assert.deepEqual(await s.get(`${p}a`, { revision: b.modRevision }), a);
        assert.deepEqual(await s.get(`${p}b`, { revision: a2.modRevision }), b);
        assert.equal(await s.get(`${p}b`, { revision: del.revision }), null);
        assert.equal(await s.get(`${p}a`, { revision: a.modRevision - 1 }), null);

        const atB = await s.list(p, { revision: b.modRevision });
        assert.equal(atB.revision, b.modRevision);
        assert.deepEqual(atB.items, [a, b]);
        const atDel = await s.list(p, { revision: del.revision });
        assert.deepEqual(atDel.items, [a2]);
        const now = await s.list(p);
        assert.equal(now.revision, await s.currentRevision());
        assert.deepEqual(now.items.map((i) => i.key), [`${p}a`, `${p}c`]);
        assert.equal(now.continue, undefined);

        const future = (await s.currentRevision()) + 1000;
        await assert.rejects(s.get(`${p}a`, { revision: future }), FutureRevisionError);
        await assert.rejects(s.list(p, { revision: future }), FutureRevisionError);
      }));

    test('list is by prefix, in byte order', () =>
      withStore(async (s, p) => {
        for (const k of ['b', 'a', 'ab', 'a/x', 'é', 'z~', 'A']) await s.create(`${p}${k}`, k);
        await s.create(`${p.slice(0, -1)}x`, 'outside'); // shares the prefix minus its slash
        const all = await s.list(p);
        assert.deepEqual(all.items.map((i) => i.key.slice(p.length)), ['A', 'a', 'a/x', 'ab', 'b', 'z~', 'é']);
        assert.deepEqual((await s.list(`${p}a`)).items.map((i) => i.value), ['a', 'a/x', 'ab']);
        assert.deepEqual((await s.list(`${p}a/`)).items.map((i) => i.value), ['a/x']);
        assert.deepEqual((await s.list(`${p}q`)).items, []);
      }));

    test('pagination with limit and continue reads one snapshot', () =>
      withStore(async (s, p) => {
        const keys = Array.from({ length: 25 }, (_, i) => `${p}k${String(i).padStart(2, '0')}`);
        for (const k of keys) await s.create(k, k);
        const page1 = await s.list(p, { limit: 10 });
        assert.equal(page1.items.length, 10);
        assert.ok(page1.continue);
        // Changes after the first page must not show in later pages.
        await s.create(`${p}k15a`, 'new');
        const k20 = (await s.get(keys[20]!))!;
        await s.update(keys[20]!, 'changed', k20.modRevision);
        await s.delete(keys[11]!);
        const page2 = await s.list(p, { limit: 10, continue: page1.continue });
        const page3 = await s.list(p, { limit: 10, continue: page2.continue });
        assert.equal(page2.revision, page1.revision);
        assert.equal(page3.revision, page1.revision);
        assert.equal(page3.items.length, 5);
        assert.equal(page3.continue, undefined);
        const seen = [...page1.items, ...page2.items, ...page3.items];
        assert.deepEqual(seen.map((i) => i.key), keys);
        assert.deepEqual(seen.map((i) => i.value), keys);
        const exact = await s.list(p, { limit: 26 });
        assert.equal(exact.items.length, 25);
        assert.equal(exact.continue, undefined);
        await assert.rejects(s.list(p, { continue: 'garbage!' }), InvalidContinueError);
        await assert.rejects(s.list(`${p}other`, { continue: page1.continue }), InvalidContinueError);
      }));

    test('watch delivers history, then live events, in order with values', () =>
      withStore(async (s, p) => {
        const a = await s.create(`${p}a`, 'a1');
        const a2 = await s.update(`${p}a`, 'a2', a.modRevision);
        const b = await s.create(`${p}b`, 'b1');
        await s.create(`/keel-elsewhere/${randomUUID()}`, 'not watched');
        const c = collector();
        const w = await s.watch(p, a.modRevision, c.onEvent, c.onError);
        try {
          await c.waitFor(2);
          const del = await s.delete(`${p}a`);
          await c.waitFor(3);
          await settle();
          assert.deepEqual(c.events, [
            { type: 'PUT', key: `${p}a`, value: 'a2', prevValue: 'a1', modRevision: a2.modRevision, createRevision: a.modRevision },
            { type: 'PUT', key: `${p}b`, value: 'b1', modRevision: b.modRevision, createRevision: b.modRevision },
            { type: 'DELETE', key: `${p}a`, value: 'a2', prevValue: 'a2', modRevision: del.revision, createRevision: a.modRevision },
          ]);
          assert.deepEqual(c.errors, []);
        } finally {
          await w.cancel();
        }
        await s.create(`${p}after-cancel`, 'x');
        await settle();
        assert.equal(c.events.length, 3, 'no event after cancel');
      }));

    test('watch under concurrent writers: every event once, in revision order (8 writers x 50)', () =>
      withStore(async (s, p) => {
        const from = await s.currentRevision();
        const first = collector();
        const w1 = await s.watch(p, from, first.onEvent, first.onError);
        const writers = 8;
        const perWriter = 50;
        const late: { c: ReturnType<typeof collector>; w: Awaited<ReturnType<Store['watch']>> }[] = [];
        try {
          await Promise.all(
            Array.from({ length: writers }, async (_, wi) => {
              let kv = await s.create(`${p}w${wi}`, '0');
              for (let i = 1; i < perWriter; i++) {
                if (wi === 0 && i === perWriter / 2) {
                  // A second watch joins mid-burst from the start: history and live must join seamlessly.
                  const c = collector();
                  late.push({ c, w: await s.watch(p, from, c.onEvent, c.onError) });
                }
                kv = await s.update(kv.key, String(i), kv.modRevision);
              }
            }),
          );
          const total = writers * perWriter;
          assert.equal(await s.currentRevision(), from + total);
          await first.waitFor(total);
          await late[0]!.c.waitFor(total);
          await settle();
          for (const c of [first, late[0]!.c]) {
            assert.equal(c.events.length, total);
            c.events.forEach((ev, i) => assert.equal(ev.modRevision, from + 1 + i));
            const lastByKey = new Map<string, number>();
            for (const ev of c.events) {
              const v = Number(ev.value);
              assert.equal(v, (lastByKey.get(ev.key) ?? -1) + 1, `values of ${ev.key} arrive in write order`);
              lastByKey.set(ev.key, v);
            }
            assert.deepEqual(c.errors, []);
          }
        } finally {
          await w1.cancel();
          for (const l of late) await l.w.cancel();
        }
      }));

    test('watch resumes from any revision and from the future', () =>
      withStore(async (s, p) => {
        const revs: number[] = [];
        let kv = await s.create(`${p}k`, '0');
        revs.push(kv.modRevision);
        for (let i = 1; i < 10; i++) {
          kv = await s.update(kv.key, String(i), kv.modRevision);
          revs.push(kv.modRevision);
        }
        const c = collector();
        const w = await s.watch(p, revs[4]!, c.onEvent, c.onError);
        const future = collector();
        const wf = await s.watch(p, revs[9]! + 1, future.onEvent, future.onError);
        try {
          await c.waitFor(5);
          assert.deepEqual(c.events.map((e) => e.value), ['5', '6', '7', '8', '9']);
          await s.update(kv.key, '10', kv.modRevision); // revs[9] + 1: not delivered to `future`
          kv = (await s.get(kv.key))!;
          await s.update(kv.key, '11', kv.modRevision);
          await c.waitFor(7);
          await future.waitFor(1);
          await settle();
          assert.deepEqual(c.events.map((e) => e.value), ['5', '6', '7', '8', '9', '10', '11']);
          assert.deepEqual(future.events.map((e) => e.value), ['11']);
        } finally {
          await w.cancel();
          await wf.cancel();
        }
      }));

    test('compaction: older reads and watches fail as compacted, newer ones work', () =>
      withStore(async (s, p) => {
        let kv = await s.create(`${p}k`, '0');
        const gone = await s.create(`${p}gone`, 'g');
        const early = kv.modRevision;
        for (let i = 1; i <= 5; i++) kv = await s.update(kv.key, String(i), kv.modRevision);
        await s.delete(gone.key);
        const keep = await s.create(`${p}keep`, 'kept');
        const compactAt = kv.modRevision + 1; // the delete of `gone`
        kv = await s.update(kv.key, '6', kv.modRevision);
        const live = collector();
        const wl = await s.watch(p, await s.currentRevision(), live.onEvent, live.onError);
        try {
          await s.compact(compactAt);
          await s.compact(compactAt - 2); // already compacted: a no-op
          await assert.rejects(s.watch(p, early, () => {}), CompactedError);
          await assert.rejects(s.watch(p, compactAt - 1, () => {}), CompactedError);
          await assert.rejects(s.get(kv.key, { revision: compactAt - 1 }), CompactedError);
          await assert.rejects(s.list(p, { revision: early }), CompactedError);
          await assert.rejects(s.compact((await s.currentRevision()) + 100), FutureRevisionError);
          // At the compaction point everything still reads.
          const at = await s.list(p, { revision: compactAt });
          assert.deepEqual(at.items.map((i) => [i.key.slice(p.length), i.value]), [['k', '5']]);
          assert.deepEqual((await s.list(p)).items.map((i) => i.value), ['6', 'kept']);
          const c = collector();
          const w = await s.watch(p, compactAt, c.onEvent, c.onError);
          await c.waitFor(2);
          await settle();
          await w.cancel();
          assert.deepEqual(c.events.map((e) => [e.type, e.key.slice(p.length), e.modRevision]), [
            ['PUT', 'keep', keep.modRevision],
            ['PUT', 'k', kv.modRevision],
          ]);
          // A watch that was already running is not disturbed by compaction.
          await s.create(`${p}new`, 'n');
          await live.waitFor(1);
          assert.deepEqual(live.errors, []);
        } finally {
          await wl.cancel();
        }
      }));

    test('a throwing watch callback ends the watch with its error', () =>
      withStore(async (s, p) => {
        const seen: string[] = [];
        const errors: Error[] = [];
        const w = await s.watch(p, await s.currentRevision(), (ev) => {
          seen.push(ev.value);
          if (ev.value === 'boom') throw new Error('callback bug');
        }, (err) => errors.push(err));
        await s.create(`${p}a`, 'ok');
        await s.create(`${p}b`, 'boom');
        await s.create(`${p}c`, 'never seen');
        const deadline = Date.now() + 10_000;
        while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await settle();
        await w.cancel(); // still safe after the watch ended
        assert.deepEqual(seen, ['ok', 'boom']);
        assert.deepEqual(errors.map((e) => e.message), ['callback bug']);
      }));

    test('a closed store refuses work', async () => {
      const s = await open();
      await s.close();
      await s.close();
      await assert.rejects(s.get('/x'), StoreClosedError);
      await assert.rejects(s.create('/x', 'y'), StoreClosedError);
    });
  });
}
