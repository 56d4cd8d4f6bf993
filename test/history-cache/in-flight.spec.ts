import type { HistoryCache } from '../../lib/history/history-cache';
import type { SessionMemoryContext } from '../../lib/session-memory.context';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { useMemoryPair } from '../support/memory';

/**
 * A row that appears below the cached newest id (docs/history-cache.md, kind 2): Python's `add_items`
 * inserts its rows before it locks anything, so its transaction can hold a lower id while another
 * writer's higher id commits first and is read. When it commits, the next cached read must include it,
 * in id order. Only the count (and sums) of the rows up to the cached newest id shows it: a check of
 * the newest id, or of the rows after it, would not. SQLite has one writer at a time: not possible there.
 */
describeEachDialect(
  'history cache: a row committed late below the newest one read',
  (dialect, url) => {
    const [cached, plain] = useMemoryPair(dialect, url, { historyCache: true });
    const cacheOf = () =>
      (cached.memory as unknown as { context: SessionMemoryContext }).context.historyCache as HistoryCache;

    it('is read once its transaction commits', async () => {
      const id = `hc-in-flight-${Date.now()}`;
      const { messages } = plain.tables;
      const p = (n: number) => (dialect === 'mariadb' ? '?' : `$${n}`);
      const insert = `INSERT INTO ${messages} (session_id, message_data) VALUES (${p(1)}, ${p(2)})`;
      await plain.memory.session(id).addItems([user('first')]);
      expect(await cached.memory.session(id).getItems()).toEqual([user('first')]);

      // Python's add_items, still open: its row has taken an id.
      const late = plain.memory.dataSource.createQueryRunner();
      await late.connect();
      try {
        await late.startTransaction();
        await late.query(insert, [id, JSON.stringify(user('late'))]);
        // Another Python writer's row takes a higher id and commits first; the cache reads it.
        await plain.sql(`INSERT INTO ${messages} (session_id, message_data) VALUES (?, ?)`, [
          id,
          JSON.stringify(user('early')),
        ]);
        expect(await cached.memory.session(id).getItems()).toEqual([user('first'), user('early')]);
        await late.commitTransaction();
      } finally {
        if (late.isTransactionActive) await late.rollbackTransaction();
        await late.release();
      }

      const misses = cacheOf().misses;
      const expected = await plain.memory.session(id).getItems();
      expect(expected).toEqual([user('first'), user('late'), user('early')]);
      expect(await cached.memory.session(id).getItems()).toEqual(expected);
      expect(cacheOf().misses).toBe(misses + 1); // the fingerprint changed: read again in full
    });
  },
  ['postgres', 'mariadb', 'citus'],
);
