import { SessionStorageUnavailableError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { user } from '../support/items';
import { holdSessionRow } from '../support/hold-row';

describeEachDialect(
  'One stuck conversation beside the others',
  (dialect, url) => {
    const m = useMemory(dialect, url, {
      timeouts: { lockMs: 2000, connectMs: 1000 },
      limits: { maxConcurrentPerConversation: 2, maxQueuedPerConversation: 4 },
    });

    it('bounds what the stuck one may hold or queue, fails the rest fast naming it, and the others all succeed', async () => {
      const stuck = `stuck-${Date.now()}`;
      await m.memory.session(stuck).addItems([user('before')]);
      const release = await holdSessionRow(dialect, url, m.tables.sessions, stuck);
      try {
        const onStuck = Array.from({ length: 30 }, (_, i) => m.memory.session(stuck).addItems([user(`s${i}`)]));
        const onOthers = Array.from({ length: 30 }, (_, i) =>
          m.memory.session(`other-${i}-${Date.now()}`).addItems([user(`o${i}`)]),
        );
        const [stuckResults, otherResults] = await Promise.all([
          Promise.allSettled(onStuck),
          Promise.allSettled(onOthers),
        ]);
        expect(otherResults.filter((r) => r.status === 'rejected')).toEqual([]);
        const busy = stuckResults.filter(
          (r) =>
            r.status === 'rejected' &&
            /busy \(2 operations are running and 4 waiting\)/.test((r.reason as Error).message),
        ) as PromiseRejectedResult[];
        // 2 may run and 4 may wait: the other 24 are refused at once.
        expect(busy).toHaveLength(24);
        for (const r of busy) {
          expect(r.reason).toBeInstanceOf(SessionStorageUnavailableError);
          expect((r.reason as Error).message).toContain(JSON.stringify(stuck));
        }
        // The ones let through waited for the lock (or for a turn) and failed when that wait ran out, typed too.
        for (const r of stuckResults) {
          if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SessionStorageUnavailableError);
        }
      } finally {
        await release();
      }
      // Once the lock is gone the conversation works again.
      await m.memory.session(stuck).addItems([user('after')]);
      expect((await m.memory.session(stuck).getItems()).at(-1)).toEqual(user('after'));
    });
  },
  ['postgres', 'mariadb'],
);
