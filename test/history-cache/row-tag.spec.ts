import { XID_OF_ROW } from '../../lib/storage/history-cache/history-delta.sql';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { useMemory } from '../support/memory';

/**
 * The PostgreSQL row tag's transaction id (`XID_OF_ROW`, computed from `age()` instead of printing
 * `xmin` as text) is exactly the row's raw `xmin`, on fresh rows, on rows rewritten in place (a new
 * version, a new `xmin`) and in every later transaction (whose `age()` reference differs).
 */
describeEachDialect(
  'history cache: the PostgreSQL row tag reads xmin exactly',
  (dialect, url) => {
    const m = useMemory(dialect, url);

    it('equals xmin::text::bigint on every row, before and after an in-place rewrite', async () => {
      const id = `hc-xid-${Date.now()}`;
      await m.memory.session(id).addItems([user('a'), user('b'), user('c')]);
      const { messages } = m.tables;
      const compare = async () => {
        const rows = await m.sql<{ raw: string; computed: string }>(
          `SELECT xmin::text::bigint AS raw, ${XID_OF_ROW} AS computed FROM ${messages} WHERE session_id = ? ORDER BY id`,
          [id],
        );
        expect(rows).toHaveLength(3);
        for (const row of rows) expect(String(row.computed)).toBe(String(row.raw));
        return rows.map((row) => String(row.raw));
      };
      const before = await compare();
      const [{ oldest }] = await m.sql<{ oldest: string }>(
        `SELECT MIN(id) AS oldest FROM ${messages} WHERE session_id = ?`,
        [id],
      );
      await m.sql(`UPDATE ${messages} SET message_data = message_data WHERE session_id = ? AND id = ?`, [id, oldest]);
      const after = await compare();
      expect(after[0]).not.toBe(before[0]); // a new row version, a new xmin
      expect(after.slice(1)).toEqual(before.slice(1));
      expect(await compare()).toEqual(after); // another transaction, another age() reference: the same ids
    });
  },
  ['postgres', 'citus'],
);
