import { SessionItem } from '../../lib';
import type { HistoryCache } from '../../lib/history/history-cache';
import type { SessionMemoryContext } from '../../lib/session-memory.context';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { TestMemory, useMemoryPair } from '../support/memory';

/**
 * The history cache's memory bound (least recently used conversation first out, a history larger than
 * the bound not kept) and what a cached read hands out (frozen items, a fresh array).
 */
const MAX_BYTES = 65536;
const cacheOf = (m: TestMemory) =>
  (m.memory as unknown as { context: SessionMemoryContext }).context.historyCache as HistoryCache;

describeEachDialect('history cache: bound and items', (_dialect, url) => {
  const [cached, plain] = useMemoryPair(_dialect, url, { historyCache: { maxBytes: MAX_BYTES } });
  const stamp = Date.now();
  /** Items of about `chars` characters each. */
  const items = (count: number, chars: number, tag: string): SessionItem[] =>
    Array.from({ length: count }, (_, i) => user(`${tag}-${i}-${'y'.repeat(chars)}`));

  it('never holds more than maxBytes, evicting the least recently used conversation', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `hc-bound-${stamp}-${i}`);
    // About 12 KB of text each (24 KB estimated): two or three fit in 64 KiB.
    for (const id of ids) await plain.memory.session(id).addItems(items(10, 1200, id));
    for (const id of ids) {
      expect(await cached.memory.session(id).getItems()).toEqual(await plain.memory.session(id).getItems());
      expect(cacheOf(cached).size).toBeLessThanOrEqual(MAX_BYTES);
    }
    expect(cacheOf(cached).conversations).toBeLessThan(ids.length);
    expect(cacheOf(cached).conversations).toBeGreaterThan(0);
    // The first ones were evicted: read again in full (a miss), and still right.
    const misses = cacheOf(cached).misses;
    expect(await cached.memory.session(ids[0]).getItems()).toEqual(await plain.memory.session(ids[0]).getItems());
    expect(cacheOf(cached).misses).toBe(misses + 1);
    // The most recently read one is answered from the cache (a hit).
    const hits = cacheOf(cached).hits;
    await cached.memory.session(ids[0]).getItems();
    expect(cacheOf(cached).hits).toBe(hits + 1);
    expect(cacheOf(cached).size).toBeLessThanOrEqual(MAX_BYTES);
  });

  it('does not keep a history larger than the bound', async () => {
    const id = `hc-bound-big-${stamp}`;
    await plain.memory.session(id).addItems(items(4, 20000, id)); // about 160 KB estimated
    const before = cacheOf(cached).size;
    expect(await cached.memory.session(id).getItems()).toEqual(await plain.memory.session(id).getItems());
    expect(cacheOf(cached).size).toBeLessThanOrEqual(Math.max(before, MAX_BYTES));
    const misses = cacheOf(cached).misses;
    await cached.memory.session(id).getItems();
    expect(cacheOf(cached).misses).toBe(misses + 1);
  });

  it('hands out frozen items in a fresh array, and only the rows added since cross on the next read', async () => {
    const id = `hc-frozen-${stamp}`;
    const session = cached.memory.session(id);
    await session.addItems([user('one'), user('two')]);
    const first = await session.getItems();
    expect(Object.isFrozen(first[0])).toBe(true);
    expect(Object.isFrozen(first)).toBe(false);
    first.push(user('not stored'));
    await plain.memory.session(id).addItems([user('three')]);
    const hits = cacheOf(cached).hits;
    expect(await session.getItems()).toEqual([user('one'), user('two'), user('three')]);
    expect(cacheOf(cached).hits).toBe(hits + 1);
  });

  it('answers concurrent reads of one entry, each extending it by the rows added since, with the whole history', async () => {
    const id = `hc-concurrent-${stamp}`;
    const session = cached.memory.session(id);
    await plain.memory.session(id).addItems([user('one'), user('two')]);
    await session.getItems(); // the entry
    for (let round = 0; round < 4; round++) {
      await plain.memory.session(id).addItems([user(`new ${round}`), user(`newer ${round}`)]);
      const expected = await plain.memory.session(id).getItems();
      // Each read finds the same entry and extends it; the ones finishing later find its arrays taken.
      const reads = await Promise.all([1, 2, 3].map(() => cached.memory.session(id).getItems()));
      for (const read of reads) expect(read).toEqual(expected);
      expect(await session.getItems()).toEqual(expected);
    }
  });

  it('is not used for reads with a limit, nor for a branch', async () => {
    const id = `hc-bypass-${stamp}`;
    const session = cached.memory.session(id);
    await session.addItems([user('q1'), user('a1'), user('q2'), user('a2')]);
    const branch = await session.createBranchFromTurn(2); // reads main's whole history (through the cache)
    const { hits, misses } = cacheOf(cached);
    expect(await session.getItems(2)).toEqual([user('q1')]);
    await session.addItems([user('q2 again')]);
    expect(await session.getItems()).toEqual([user('q1'), user('q2 again')]); // every item a user turn
    expect({ hits: cacheOf(cached).hits, misses: cacheOf(cached).misses }).toEqual({ hits, misses });
    await session.switchToBranch('main');
    expect(await session.getItems()).toEqual([user('q1'), user('a1'), user('q2'), user('a2')]);
    expect(branch).not.toBe('main');
  });
});
