import { createSearchStorage } from '../../lib/storage/search/search-storage';
import { describeEachDialect } from '../support/databases';
import { useSearchPair } from './search-support';

/**
 * Index writes of many entries at once (PostgreSQL sends them as arrays, one statement of up to 2,000
 * rows; several statements of one write go as one script; other dialects as multi-row inserts of 200):
 * every entry belongs to its row (id and text), whatever characters the texts hold, including those
 * that mean something in an array literal (`"`, `\`, `{`, `}`, `,`, `NULL`) or in SQL (`'`).
 */
describeEachDialect('search: writes of many entries at once', (dialect, baseUrl) => {
  const [a, b] = useSearchPair(dialect, baseUrl);
  const prefix = `lw-${Date.now().toString(36)}`;
  const tricky = ['"quoted"', 'back\\slash', '{braces}', 'a,b', 'NULL', "it's", 'é€𝄞', '{"x":[1,2]}', '\\"'];
  const text = (k: number) => `lw${k}x ${tricky[k % tricky.length]} tail${k % 7}`;

  /** Rows written by plain SQL (as Python writes them: no entries), `count` over three conversations. */
  async function writeRows(count: number, first: number): Promise<void> {
    const { sessions, messages } = a.tables;
    const ids = [0, 1, 2].map((i) => `${prefix}-${first}-${i}`);
    for (const id of ids) await a.sql(`INSERT INTO ${sessions} (session_id) VALUES (?)`, [id]);
    for (let at = 0; at < count; at += 500) {
      const rows = Array.from({ length: Math.min(500, count - at) }, (_, i) => first + at + i);
      await a.sql(
        `INSERT INTO ${messages} (session_id, message_data) VALUES ${rows.map(() => '(?, ?)').join(', ')}`,
        rows.flatMap((k) => [ids[k % 3], JSON.stringify({ role: 'user', content: text(k) })]),
      );
    }
  }

  /**
   * Every entry of the range holds its row's text (all compared, through the table), one entry per row;
   * a sample of words each finds exactly its row through a search.
   */
  async function expectIndexed(count: number, first: number): Promise<void> {
    const { messages } = a.tables;
    const entries = await a.sql(
      `SELECT m.message_data AS data, s.body AS body FROM ${messages} m LEFT JOIN ${messages}_search s ` +
        `ON s.session_id = m.session_id AND s.item_id = m.id WHERE m.session_id LIKE ?`,
      [`${prefix}-${first}-%`],
    );
    expect(entries).toHaveLength(count);
    const wrong = entries.filter((e) => e.body !== JSON.parse(String(e.data)).content);
    expect(wrong).toEqual([]);
    for (let k = first; k < first + count; k += Math.ceil(count / 20)) {
      const { hits } = await b.memory.searchConversations({ query: `lw${k}x` });
      expect(hits).toHaveLength(1);
      const [row] = await a.sql(`SELECT message_data FROM ${messages} WHERE id = ?`, [hits[0].itemId]);
      expect(JSON.parse(String(row.message_data)).content).toBe(text(k));
      expect(hits[0].snippet).toContain(`lw${k}x`);
    }
  }

  it('one reindex step of 4,500 rows (several statements in one write)', async () => {
    await writeRows(4500, 0);
    const step = await b.memory.reindex({ batchSize: 10_000 });
    expect(step.indexed).toBe(4500);
    await expectIndexed(4500, 0);
  });

  it('reindex steps of 100 rows (one statement per write)', async () => {
    await writeRows(300, 10_000);
    let cursor: string | undefined;
    let indexed = 0;
    do {
      const step = await b.memory.reindex({ batchSize: 100, cursor });
      indexed += step.indexed;
      cursor = step.nextCursor;
    } while (cursor);
    expect(indexed).toBe(300);
    await expectIndexed(300, 10_000);
  });

  it('appends of many rows through the module (two batches, more than a pass takes): each row gets its entry, found from another instance', async () => {
    const id = `${prefix}-appended`;
    const items = Array.from({ length: 2500 }, (_, i) => ({ role: 'user' as const, content: text(20_000 + i) }));
    await a.memory.session(id).addItems(items.slice(0, 1200));
    await a.memory.session(id).addItems(items.slice(1200));
    await a.memory.searchConversations({ query: 'settle' }); // a's passes done
    const [n] = await a.sql(`SELECT COUNT(*) AS n FROM ${a.tables.messages}_search WHERE session_id = ?`, [id]);
    expect(Number(n.n)).toBe(2500);
    for (let k = 20_000; k < 22_500; k += 125) {
      const search = async () =>
        (await b.memory.searchConversations({ query: `lw${k}x` })).hits.map((h) => h.conversationId);
      let found = await search();
      // MariaDB has, three times in about twenty-five runs of this test, not found a committed entry at
      // once (the entry was there, counted above; found 100 ms later): docs/search.md, "A just-committed
      // entry may be missed for a moment on MariaDB". It must find it within 5 s.
      for (let wait = 0; dialect === 'mariadb' && found.length === 0 && wait < 50; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        found = await search();
        if (found.length > 0) console.warn(`[mariadb] lw${k}x found only after ${(wait + 1) * 100} ms`);
      }
      expect({ k, found }).toEqual({ k, found: [id] });
    }
  });

  it('an upsert naming one entry twice writes it once, as given last (one statement cannot update a row twice)', async () => {
    const name = dialect === 'mariadb' ? 'mysql' : dialect;
    const storage = await createSearchStorage(
      name,
      (sql, p = []) => a.memory.dataSource.query(sql, p),
      a.tables,
      'simple',
    );
    const entry = {
      sessionId: `${prefix}-dup`,
      branchId: 'main',
      itemId: '900000001',
      role: 'user',
      body: 'dupfirst',
      dataLength: 8,
    };
    const statements = storage.statements.upsert([
      entry,
      { ...entry, body: 'dupsecond' },
      { ...entry, itemId: '900000002' },
    ]);
    for (const s of statements) await storage.query(s.sql, s.params);
    const rows = await a.sql(
      `SELECT item_id, body FROM ${a.tables.messages}_search WHERE session_id = ? ORDER BY item_id`,
      [entry.sessionId],
    );
    expect(rows.map((r) => [String(r.item_id), r.body])).toEqual([
      ['900000001', 'dupsecond'],
      ['900000002', 'dupfirst'],
    ]);
  });
});
