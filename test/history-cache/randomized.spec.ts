import { InvalidBranchOperationError, SessionItem, SessionMemoryModuleOptions } from '../../lib';
import { HistoryCache } from '../../lib/history/history-cache';
import { readWholeHistory } from '../../lib/history/history-reader';
import type { SessionMemoryContext } from '../../lib/session-memory.context';
import { TestDialect, describeEachDialect } from '../support/databases';
import { compaction, functionCall, user } from '../support/items';
import { TestMemory, startMemory, urlFor } from '../support/memory';

/**
 * Issue 25 item 5: the history cache never returns a stale history. Two module instances with the
 * cache on (A and B, as two processes) and a Python-style writer (plain SQL as `SQLAlchemySession`
 * issues it) interleave every operation on a few conversations, in a random order from a logged seed;
 * after each operation, each cached instance's whole read of main (the cache's own read, with the row
 * ids it reports) and its `getItems()` are compared with a third instance's (cache off), and the cache
 * never holds more than its bound.
 */

/** A small deterministic generator (mulberry32), so a failing run can be replayed from its seed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The smallest bound the option takes: evictions happen in the run. */
const MAX_BYTES = 65536;
const STEPS = 160;
const KEY_1 = 'history-cache key one';
const KEY_2 = 'history-cache key two';

/** What a test reads of an instance's internals (`@internal`): its context. */
const contextOf = (m: TestMemory) => (m.memory as unknown as { context: SessionMemoryContext }).context;
const cacheOf = (m: TestMemory) => contextOf(m).historyCache as HistoryCache;

function variant(dialect: TestDialect, baseUrl: string, encrypted: boolean): void {
  const seed = Number(process.env.HISTORY_CACHE_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const cacheOn: Partial<SessionMemoryModuleOptions> = { historyCache: { maxBytes: MAX_BYTES } };
  let a: TestMemory;
  let b: TestMemory;
  let plain: TestMemory;

  beforeAll(async () => {
    const url = urlFor(dialect, baseUrl);
    // Each cached instance seals with its own first key and opens both: re-encryption moves rows between them.
    const keys = (first: string, second: string) => (encrypted ? { encryption: { keys: [first, second] } } : {});
    plain = await startMemory(url, keys(KEY_1, KEY_2));
    a = await startMemory(url, { ...cacheOn, ...keys(KEY_1, KEY_2) }, plain.tables);
    b = await startMemory(url, { ...cacheOn, ...keys(KEY_2, KEY_1) }, plain.tables);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await plain?.close();
  });

  it(`matches an uncached read after every operation (seed ${seed})`, async () => {
    const random = generator(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
    const ids = ['hc-1', 'hc-2', 'hc-3'].map((id) => `${id}-${encrypted ? 'e' : 'p'}`);
    const { sessions, messages } = plain.tables;
    let n = 0;
    // Texts of one length, so that a rewrite in place keeps the row's length; now and then a large one.
    const text = () => `m-${String(++n).padStart(6, '0')}${random() < 0.1 ? 'x'.repeat(3000) : ''}`;
    const item = (): SessionItem =>
      random() < 0.3 ? functionCall(`call-${String(++n).padStart(6, '0')}`, '{"v":0}') : user(text());

    const python = {
      add: async (id: string, items: SessionItem[]) => {
        const found = await plain.sql(`SELECT session_id FROM ${sessions} WHERE session_id = ?`, [id]);
        if (found.length === 0) await plain.sql(`INSERT INTO ${sessions} (session_id) VALUES (?)`, [id]);
        for (const i of items)
          await plain.sql(`INSERT INTO ${messages} (session_id, message_data) VALUES (?, ?)`, [id, JSON.stringify(i)]);
        await plain.sql(`UPDATE ${sessions} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?`, [id]);
      },
      pop: async (id: string) => {
        const rows = await plain.sql<{ id: number | string }>(
          `SELECT id FROM ${messages} WHERE session_id = ? ORDER BY id DESC LIMIT 1`,
          [id],
        );
        if (rows.length > 0) await plain.sql(`DELETE FROM ${messages} WHERE id = ?`, [rows[0].id]);
      },
      clear: async (id: string) => {
        await plain.sql(`DELETE FROM ${messages} WHERE session_id = ?`, [id]);
        await plain.sql(`DELETE FROM ${sessions} WHERE session_id = ?`, [id]);
      },
    };

    const operations: Record<string, (m: TestMemory, id: string) => Promise<unknown>> = {
      add: (m, id) => m.memory.session(id).addItems([item(), item()]),
      addOne: (m, id) => m.memory.session(id).addItems([item()]),
      pythonAdd: (_m, id) => python.add(id, [item(), item()]),
      pythonPop: (_m, id) => python.pop(id),
      pythonClear: (_m, id) => python.clear(id),
      pop: (m, id) => m.memory.session(id).popItem(),
      compaction: async (m, id) => {
        const s = m.memory.session(id);
        const history = await s.getItems();
        await s.replaceHistoryWithCompaction([compaction(`c${++n}`), ...history.slice(-2)]);
      },
      mutation: async (m, id) => {
        const calls = (await plain.memory.session(id).getItems()).filter(
          (i) => (i as { type?: string }).type === 'function_call',
        ) as { callId: string }[];
        if (calls.length === 0) return;
        const { callId } = pick(calls);
        // The same length as the stored call (`{"v":0}`): only a digit differs, or nothing at all.
        const replacement = functionCall(callId, `{"v":${Math.floor(random() * 10)}}`);
        await m.memory.session(id).applyHistoryMutations({
          mutations: [{ type: 'replace_function_call', callId, replacement: replacement as never }],
        });
      },
      replaceSuffix: async (m, id) => {
        const history = await plain.memory.session(id).getItems();
        if (history.length === 0) return;
        await m.memory.session(id).applyHistoryTransaction({
          operationId: `op-${++n}`,
          transaction: { type: 'replace_suffix', expectedSuffix: history.slice(-1), replacement: [item()] } as never,
        });
      },
      clear: (m, id) => m.memory.session(id).clearSession(),
      metadata: (m, id) => m.memory.session(id).setMetadata({ step: ++n }),
      addWithMetadata: (m, id) => m.memory.session(id).addItems([item()], { metadata: { step: ++n } }),
      deleteSession: (m, id) => m.memory.deleteSession(id),
      reencrypt: async (m) => {
        if (!encrypted) return;
        let cursor: string | undefined;
        do cursor = (await m.memory.reencrypt({ cursor, batchSize: 50 })).nextCursor;
        while (cursor !== undefined);
      },
      branch: async (m, id) => {
        const s = m.memory.session(id);
        const users = (await plain.memory.session(id).getItems()).filter(
          (i) => (i as { role?: string }).role === 'user',
        );
        if (users.length === 0) return;
        try {
          const branch = await s.createBranchFromTurn(1 + Math.floor(random() * users.length));
          await s.switchToBranch(branch);
          await s.addItems([item()]); // on the branch
          await compareAll(id); // the current branch is not main: getItems reads it, main stays cached
          await s.switchToBranch('main');
        } catch (err) {
          if (!(err instanceof InvalidBranchOperationError)) throw err;
        }
      },
    };

    /**
     * A cached instance's reads of `id` against the uncached instance's. Sometimes two cached reads at
     * once: both find the same entry and extend it (the second one finds its arrays already appended to).
     */
    const compare = async (m: TestMemory, id: string) => {
      const together = random() < 0.25 ? 2 : 1;
      const reads = await Promise.all(
        Array.from({ length: together }, async () => {
          const ids: (number | string)[] = [];
          const items = await cacheOf(m).read(contextOf(m), id, ids);
          return { id, items, ids: ids.map(String) };
        }),
      );
      const freshIds: (number | string)[] = [];
      const fresh = await readWholeHistory(contextOf(plain), id, undefined, freshIds);
      for (const read of reads) expect(read).toEqual({ id, items: fresh, ids: freshIds.map(String) });
      expect(await m.memory.session(id).getItems()).toEqual(await plain.memory.session(id).getItems());
      expect(cacheOf(m).size).toBeLessThanOrEqual(MAX_BYTES);
    };
    const compareAll = async (id: string) => {
      await compare(a, id);
      await compare(b, id);
    };

    const names = Object.keys(operations);
    const done: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      const name = pick(names);
      const id = pick(ids);
      const actor = random() < 0.5 ? a : b;
      done.push(`${step}:${name}@${id}`);
      try {
        await operations[name](actor, id);
        // Sometimes a read by only one instance, so that the other's entry is older by several changes.
        if (random() < 0.5) await compareAll(id);
        else await compare(random() < 0.5 ? a : b, id);
      } catch (err) {
        throw new Error(`seed ${seed}, after ${done.slice(-8).join(' ')}: ${(err as Error).stack ?? String(err)}`);
      }
    }
    for (const id of ids) await compareAll(id);
    // The cache was used (reads answered from an entry plus the rows added since) and also found changes.
    const [hits, misses] = [cacheOf(a).hits + cacheOf(b).hits, cacheOf(a).misses + cacheOf(b).misses];
    expect({ hits: hits > STEPS / 2, misses: misses > 10 }).toEqual({ hits: true, misses: true });
  }, 240_000);
}

describeEachDialect('history cache: randomized against an uncached read', (dialect, url) => {
  describe('plain', () => variant(dialect, url, false));
  describe('encrypted (re-encryption between two keys)', () => variant(dialect, url, true));
});
