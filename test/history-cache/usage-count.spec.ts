import type { HistoryCache } from '../../lib/history/history-cache';
import type { SessionMemoryContext } from '../../lib/session-memory.context';
import { runIn } from '../../lib/structure/run-usage';
import { describeEachDialect } from '../support/databases';
import { functionCall, user } from '../support/items';
import { TestMemory, useMemoryPair } from '../support/memory';

/**
 * A run's first whole read counts the user messages it read (the turn its usage belongs to). With the
 * history cache that count comes from the cache (kept as rows are added), not from a pass over the
 * items: it must be the count of the items the read returned, on a hit (items shared with earlier
 * entries), on a miss (after a pop, after a clear) and for reads answered in any order.
 */
const cacheOf = (m: TestMemory) =>
  (m.memory as unknown as { context: SessionMemoryContext }).context.historyCache as HistoryCache;

describeEachDialect('history cache: the user messages a run read', (dialect, url) => {
  const [cached, plain] = useMemoryPair(dialect, url, { historyCache: true });

  /** What a new run learns from its first whole read through `m`, and the items it read. */
  const firstRead = async (m: TestMemory, id: string) => {
    const run = {};
    const items = await m.memory.session(id).getItems(undefined, run as never);
    return {
      read: runIn(run, id).state.read,
      users: items.filter((i) => (i as { role?: string }).role === 'user').length,
    };
  };

  it('is the count of the items returned, on hits and misses alike', async () => {
    const id = `hc-usage-${Date.now()}`;
    const writer = plain.memory.session(id);
    const expectSame = async () => {
      const seen = await firstRead(cached, id);
      expect(seen.read).toBe(seen.users);
      expect(seen).toEqual(await firstRead(plain, id));
    };
    await writer.addItems([user('q1'), functionCall('c1', '{}'), user('q2')]);
    await expectSame(); // a miss: the whole history
    await writer.addItems([user('q3'), functionCall('c2', '{}')]);
    const hits = cacheOf(cached).hits;
    await expectSame(); // a hit: three rows added since
    await expectSame(); // a hit: nothing added
    expect(cacheOf(cached).hits).toBe(hits + 2);
    await writer.popItem();
    await writer.popItem();
    await expectSame(); // a miss: the pops are seen
    // Two reads of the same entry at once, each extending it by the same new rows.
    await writer.addItems([user('q4')]);
    const [x, y] = await Promise.all([firstRead(cached, id), firstRead(cached, id)]);
    expect([x.read, y.read]).toEqual([x.users, y.users]);
    await writer.addItems([user('q5'), user('q6')]);
    await expectSame();
    await writer.clearSession();
    await expectSame();
  });
});
