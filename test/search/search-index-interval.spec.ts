import { SessionMemoryConfigurationError } from '../../lib';
import { DEFAULT_INDEX_INTERVAL_MS, resolveSearch } from '../../lib/search/search-options';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { startMemory } from '../support/memory';
import { startupError } from '../support/startup';
import { useSearchPair } from './search-support';

/** A minute: far longer than any test here may wait, so a test that waited for the interval times out. */
const LONG = 60_000;

describe('search.indexIntervalMs (the pause between index passes): validation', () => {
  it.each([
    ['-1', -1],
    ['1.5', 1.5],
    ['60001', 60_001],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ["'20'", '20'],
    ['true', true],
  ])('refuses %s at startup, before connecting (the server need not exist)', async (_what, bad) => {
    for (const url of ['postgres://postgres@127.0.0.1:1/none', 'mysql://root@127.0.0.1:1/none']) {
      const err = await startupError({ url, search: { indexIntervalMs: bad as number } });
      expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
      expect(err.message).toContain('search.indexIntervalMs must be a whole number of milliseconds from 0 to 60000');
    }
  });

  it('takes 0 to 60000, and defaults when not given', () => {
    expect(resolveSearch({ indexIntervalMs: 0 }, undefined)?.indexIntervalMs).toBe(0);
    expect(resolveSearch({ indexIntervalMs: LONG }, undefined)?.indexIntervalMs).toBe(LONG);
    expect(resolveSearch(true, undefined)?.indexIntervalMs).toBe(DEFAULT_INDEX_INTERVAL_MS);
    expect(resolveSearch({ language: 'english' }, undefined)?.indexIntervalMs).toBe(DEFAULT_INDEX_INTERVAL_MS);
  });
});

describeEachDialect('search.indexIntervalMs: a long interval delays only other processes', (dialect, baseUrl) => {
  // `a` writes with passes at most a minute apart; `b` is another process on the same tables.
  const [a, b] = useSearchPair(dialect, baseUrl, { search: { indexIntervalMs: LONG } }, { search: true });
  const prefix = `ivl-${Date.now().toString(36)}`;
  const found = async (memory: typeof a.memory, word: string) =>
    (await memory.searchConversations({ query: word, limit: 100 })).hits.map((h) => h.snippet).sort();

  it('a search in the writing process finds an item just added at once (it starts the pending pass)', async () => {
    // One pass indexes at most 1,000 rows: the first pass takes the oldest 1,000 of these and leaves
    // the rest for the next, which waits for the interval (deterministic on every driver, including
    // SQLite's synchronous one, where no write can land during a pass).
    const items = Array.from({ length: 1_200 }, (_, i) => user(i === 1_199 ? 'lastbulkword' : `bulkword ${i}`));
    await a.memory.session(`${prefix}-bulk`).addItems(items);
    // The first pass ran (milliseconds; polled: a loaded machine may take longer)...
    for (let tries = 0; tries < 150 && (await found(b.memory, 'bulkword')).length < 100; tries++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    // ...and another process does not see the newest item: the writer's worker is paused for a minute...
    expect(await found(b.memory, 'bulkword')).toHaveLength(100);
    expect(await found(b.memory, 'lastbulkword')).toEqual([]);
    // ...but the writer's own search does not wait for the pause (else this test would time out).
    expect(await found(a.memory, 'lastbulkword')).toEqual(['lastbulkword']);
    expect(await found(b.memory, 'lastbulkword')).toEqual(['lastbulkword']);
  }, 30_000);

  it('the first write after a quiet period is indexed at once, without waiting for the interval', async () => {
    await a.memory.searchConversations({ query: 'settle' }); // a's worker idle
    await a.memory.session(`${prefix}-q`).addItems([user('quietword after a pause')]);
    let hits: string[] = [];
    for (let tries = 0; tries < 150 && hits.length === 0; tries++) {
      hits = await found(b.memory, 'quietword');
      if (hits.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(hits).toEqual(['quietword after a pause']);
  }, 30_000);

  it('shutdown does not wait for the interval', async () => {
    const c = await startMemory(a.url, { search: { indexIntervalMs: LONG } }, a.tables);
    try {
      for (let i = 0; i < 5; i++) await c.memory.session(`${prefix}-c`).addItems([user(`closingword ${i}`)]);
    } finally {
      await c.module.close(); // would time out if shutdown waited for the paused worker
    }
  }, 30_000);

  it('shutdown indexes the writes already marked (without waiting for the pause): another process finds them', async () => {
    const c = await startMemory(a.url, { search: { indexIntervalMs: LONG } }, a.tables);
    try {
      // The first write starts a pass at once; the next ones wait for the one-minute pause.
      for (let i = 0; i < 5; i++) await c.memory.session(`${prefix}-d`).addItems([user(`flushword ${i}`)]);
    } finally {
      await c.module.close();
    }
    expect(await found(b.memory, 'flushword')).toEqual([0, 1, 2, 3, 4].map((i) => `flushword ${i}`));
  }, 30_000);
});
