import { Logger } from '@nestjs/common';
import { ConversationChange, SessionItem } from '../../lib';
import { changeChannel } from '../../lib/changes/postgres-change-relay';
import { TEST_URLS, describeEachDialect } from '../support/databases';
import { TestMemory, startMemory } from '../support/memory';
import { user } from '../support/items';

const brief = (c: ConversationChange) =>
  c.type === 'added'
    ? { type: c.type, items: c.items, count: c.count, origin: c.origin }
    : c.type === 'popped'
      ? { type: c.type, origin: c.origin }
      : { type: c.type, origin: c.origin };

/**
 * Notifications on the change channel are hints: any role that can connect may NOTIFY it (the
 * channel name is derived from the table names). Instance A subscribes; the forger is a plain
 * `SELECT pg_notify(...)` on A's own pool; instance B makes the real writes. Each test ends with a
 * real write of B (a marker) and waits for A to report it: notifications are handled in order, so
 * whatever A did with the forged ones before it is visible by then.
 */
describeEachDialect(
  'forged change notifications',
  () => {
    let a: TestMemory;
    let b: TestMemory;
    let channel: string;
    let n = 0;
    const conv = () => `forged-${Date.now()}-${++n}`;

    beforeAll(async () => {
      a = await startMemory(TEST_URLS.postgres, { changes: { notify: true }, limits: { maxItemsPerCall: 100 } });
      b = await startMemory(TEST_URLS.postgres, { changes: { notify: true } }, a.tables);
      channel = changeChannel({ ...a.tables });
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });
    afterEach(() => jest.restoreAllMocks());

    const forge = (payloads: string[]) =>
      a.sql(`SELECT pg_notify(?, p) FROM unnest(?::text[]) AS p`, [channel, payloads]);

    /**
     * Subscribes A to `id` and to its marker conversation, and waits until A's listener reports B's
     * writes (a NOTIFY sent before LISTEN runs is lost).
     */
    async function watch(
      id: string,
      on: TestMemory = a,
    ): Promise<{ events: ConversationChange[]; marker(): Promise<void>; stop(): void }> {
      const events: ConversationChange[] = [];
      const markers: ConversationChange[] = [];
      const sub = on.memory.changes$(id).subscribe((e) => events.push(e));
      const markerId = `${id}-marker`;
      const markerSub = on.memory.changes$(markerId).subscribe((e) => markers.push(e));
      let written = 0;
      const seen = () => markers.filter((e) => e.type === 'added').length;
      for (let i = 0; i < 500 && seen() === 0; i++) {
        await b.memory.session(markerId).addItems([user(`probe ${i}`)]);
        await new Promise((r) => setTimeout(r, 5));
      }
      if (seen() === 0) throw new Error('instance A never reported a write of instance B');
      return {
        events,
        /**
         * B writes to the marker conversation; resolves once A reported it. Notifications are
         * handled in the order they arrive, conversation by conversation, so whatever A did with
         * the notifications of `id` sent before is done by then.
         */
        marker: async () => {
          const before = seen();
          written++;
          await b.memory.session(markerId).addItems([user(`marker ${written}`)]);
          for (let i = 0; i < 1000 && seen() === before; i++) await new Promise((r) => setTimeout(r, 10));
          if (seen() === before) throw new Error(`A never reported marker ${written}`);
        },
        stop: () => {
          sub.unsubscribe();
          markerSub.unsubscribe();
        },
      };
    }

    it('a forged popped with a huge count is not delivered when nothing was popped (no loop by the count)', async () => {
      const id = conv();
      await b.memory.session(id).addItems([user('one'), user('two')]);
      const w = await watch(id);
      try {
        await forge([JSON.stringify({ i: 'forger', c: id, k: 'p', n: 2_000_000 })]);
        await forge([JSON.stringify({ i: 'forger', c: id, k: 'p', n: 1 })]);
        await w.marker();
        expect(w.events.map(brief)).toEqual([]);
        expect(await a.memory.session(id).getItems()).toEqual([user('one'), user('two')]);
      } finally {
        w.stop();
      }
    });

    it('a forged cleared is not delivered while the conversation holds its rows; a real remote clear is', async () => {
      const id = conv();
      await b.memory.session(id).addItems([user('kept')]);
      const w = await watch(id);
      try {
        await forge([JSON.stringify({ i: 'forger', c: id, k: 'c', n: 0 })]);
        await w.marker();
        expect(w.events.map(brief)).toEqual([]);
        await b.memory.session(id).clearSession();
        await w.marker();
        expect(w.events.map(brief)).toEqual([{ type: 'cleared', origin: 'remote' }]);
        // Cleared and empty: a forged cleared is not reported again.
        await forge([JSON.stringify({ i: 'forger', c: id, k: 'c', n: 0 })]);
        await w.marker();
        expect(w.events.map(brief)).toEqual([{ type: 'cleared', origin: 'remote' }]);
      } finally {
        w.stop();
      }
    });

    it('a forged added re-reads only rows that are new: none when nothing was appended', async () => {
      const id = conv();
      await b.memory.session(id).addItems(Array.from({ length: 50 }, (_, i) => user(`old ${i}`)));
      const w = await watch(id);
      try {
        await forge([JSON.stringify({ i: 'forger', c: id, k: 'a', n: 100 })]); // valid-looking: within maxItemsPerCall
        await w.marker();
        expect(w.events.map(brief)).toEqual([]);
        // A count larger than what was appended: only the appended rows, once.
        await b.memory.session(id).addItems([user('x'), user('y')]);
        await forge([JSON.stringify({ i: 'forger', c: id, k: 'a', n: 100 })]);
        await w.marker();
        expect(w.events.flatMap((e): unknown[] => (e.type === 'added' ? e.items : [e.type]))).toEqual([
          user('x'),
          user('y'),
        ]);
      } finally {
        w.stop();
      }
    });

    it('malformed notifications are dropped with one rate-limited warning, never one line per message', async () => {
      const id = conv();
      await b.memory.session(id).addItems([user('a'), user('b')]);
      const warn = jest.spyOn(Logger.prototype, 'warn');
      // An instance of its own, which has seen no malformed notification yet.
      const c = await startMemory(
        TEST_URLS.postgres,
        { changes: { notify: true }, limits: { maxItemsPerCall: 100 } },
        a.tables,
      );
      const w = await watch(id, c);
      try {
        const bad: string[] = [
          'not json',
          '[1,2]',
          'null',
          '"a string"',
          JSON.stringify({ c: id, k: 'p', n: 1 }), // no instance id
          JSON.stringify({ i: 'f', c: id, k: 'x', n: 1 }), // unknown kind
          JSON.stringify({ i: 'f', c: id, k: 'a', n: 1e9 }), // count over maxItemsPerCall
          JSON.stringify({ i: 'f', c: id, k: 'p', n: 2_000_000 }),
          JSON.stringify({ i: 'f', c: id, k: 'a', n: 1.5 }),
          JSON.stringify({ i: 'f', c: id, k: 'a', n: -1 }),
          JSON.stringify({ i: 'f', c: id, k: 'a', n: '5' }),
          JSON.stringify({ i: 'f', c: id, k: 'a' }), // no count
          JSON.stringify({ i: 'f', c: '', k: 'c', n: 0 }), // not a conversation id
          JSON.stringify({ i: 'f', c: 'x'.repeat(256), k: 'c', n: 0 }),
          JSON.stringify({ i: 'f', c: `${id}\u0000`, k: 'c', n: 0 }),
          JSON.stringify({ i: 'f', c: 42, k: 'c', n: 0 }),
          JSON.stringify({ i: 'x'.repeat(200), c: id, k: 'c', n: 0 }),
          JSON.stringify({ i: 'f', c: id, k: 'c', n: 0, pad: 'x'.repeat(7000) }), // oversized
        ];
        const flood = Array.from({ length: 300 }, (_, i) => bad[i % bad.length] + ' '.repeat(i)); // distinct payloads
        await forge(flood);
        await w.marker();
        expect(w.events.map(brief)).toEqual([]);
        const about = warn.mock.calls.filter((call) => /malformed/i.test(String(call[0])));
        expect(about).toHaveLength(1);
        expect(String(about[0][0])).toMatch(/hint/);
        // The listener survived all of it.
        await b.memory.session(id).popItem();
        await w.marker();
        expect(w.events.map(brief)).toEqual([{ type: 'popped', origin: 'remote' }]);
      } finally {
        w.stop();
        await c.close();
      }
    });

    it('a burst of valid-looking notifications is coalesced per conversation: a few reads, not one per message', async () => {
      const id = conv();
      await b.memory.session(id).addItems([user('a'), user('b')]);
      const w = await watch(id);
      const store = (a.memory as any).context.store;
      const reads = ['readNewest', 'readNewestData', 'readAll', 'readAllData'].map((m) => jest.spyOn(store, m));
      try {
        const burst = Array.from({ length: 1000 }, (_, i) =>
          JSON.stringify({
            i: `f${i}`,
            c: id,
            k: i % 3 === 0 ? 'a' : i % 3 === 1 ? 'p' : 'c',
            n: i % 3 === 2 ? 0 : 10,
          }),
        );
        await forge(burst);
        await w.marker();
        const calls = reads.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
        expect(calls).toBeGreaterThan(0); // the spies see the reads
        expect(calls).toBeLessThan(30);
        expect(w.events.map(brief)).toEqual([]);
      } finally {
        w.stop();
      }
    });

    it('real remote changes still arrive: pops one per removed row, compaction as cleared + added, deletion as cleared', async () => {
      const id = conv();
      await b.memory.session(id).addItems([user('a'), user('b'), user('c')]);
      const w = await watch(id);
      try {
        const s = b.memory.session(id);
        await s.popItem();
        await s.applyHistoryTransaction({
          operationId: `op-${id}`,
          transaction: { type: 'replace_suffix', expectedSuffix: [user('b')], replacement: [user('B')] },
        });
        await w.marker();
        expect(w.events.map(brief)).toEqual([
          { type: 'popped', origin: 'remote' },
          { type: 'popped', origin: 'remote' },
          { type: 'added', items: [user('B')], count: 1, origin: 'remote' },
        ]);
        // Forged pops after the real ones: the rows are still there.
        await forge([JSON.stringify({ i: 'forger', c: id, k: 'p', n: 5 })]);
        await w.marker();
        expect(w.events).toHaveLength(3);
        const summary = { type: 'compaction', encrypted_content: 'sum' } as SessionItem;
        await s.replaceHistoryWithCompaction([summary]);
        await w.marker();
        expect(w.events.slice(3).map(brief)).toEqual([
          { type: 'cleared', origin: 'remote' },
          { type: 'added', items: [summary], count: 1, origin: 'remote' },
        ]);
        await b.memory.deleteSession(id);
        await w.marker();
        expect(w.events.slice(5).map(brief)).toEqual([{ type: 'cleared', origin: 'remote' }]);
      } finally {
        w.stop();
      }
    });

    it('local writes of the watching instance are not reported again as remote ones by forged hints', async () => {
      const id = conv();
      await b.memory.session(id).addItems([user('remote 1')]);
      const w = await watch(id);
      try {
        await a.memory.session(id).addItems([user('local 1'), user('local 2')]);
        await a.memory.session(id).popItem();
        await w.marker(); // A has taken note of its own writes
        await forge([
          JSON.stringify({ i: 'forger', c: id, k: 'a', n: 2 }),
          JSON.stringify({ i: 'forger', c: id, k: 'p', n: 1 }),
          JSON.stringify({ i: 'forger', c: id, k: 'c', n: 0 }),
        ]);
        await w.marker();
        expect(w.events.map(brief)).toEqual([
          { type: 'added', items: [user('local 1'), user('local 2')], count: 2, origin: 'local' },
          { type: 'popped', origin: 'local' },
        ]);
        // A pop by B of the row A wrote is reported.
        await b.memory.session(id).popItem();
        await w.marker();
        expect(w.events.slice(2).map(brief)).toEqual([{ type: 'popped', origin: 'remote' }]);
      } finally {
        w.stop();
      }
    });
  },
  ['postgres'],
);
