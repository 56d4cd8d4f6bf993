import { describeEachDialect } from '../support/databases';
import { recordStatements } from '../support/citus';
import { user } from '../support/items';
import { useSearchPair } from './search-support';

/**
 * Index passes after appends. Where the store reports the ids of the rows it appended (PostgreSQL),
 * a pass after this process's appends to a conversation read whole within the minute writes their
 * entries from the appended texts, without reading the rows back. On every dialect: each entry belongs
 * to its own row (same id, same byte length: a hit is joined to its live row by both), whatever the
 * texts' characters; a removal between the append and the pass leaves no entry behind.
 */
describeEachDialect('search: entries of appended rows', (dialect, baseUrl) => {
  const [a, b] = useSearchPair(dialect, baseUrl);
  const prefix = `ar-${Date.now().toString(36)}`;
  const settle = () => a.memory.searchConversations({ query: 'settle' });

  /** Texts of every length, with characters of 1 to 4 UTF-8 bytes and JSON escapes. */
  const text = (k: number) =>
    `uq${k}x ${'é'.repeat(k % 5)}${'€'.repeat(k % 3)}${k % 4 === 0 ? ' 𝄞 "quoted" \\ back' : ''} tail${k}`;

  it('every entry of concurrent appends, in batches, belongs to its row (id and byte length)', async () => {
    const ids = [`${prefix}-1`, `${prefix}-2`, `${prefix}-3`];
    let k = 0;
    for (let wave = 0; wave < 4; wave++) {
      await Promise.all(
        Array.from({ length: 9 }, (_, i) => {
          const batch = Array.from({ length: 1 + (i % 3) }, () => user(text(k++)));
          return a.memory.session(ids[i % 3]).addItems(batch);
        }),
      );
      if (wave % 2 === 0) await settle(); // conversations read whole, then passes after appends alone
    }
    await settle();
    for (let j = 0; j < k; j++) {
      const page = await b.memory.searchConversations({ query: `uq${j}x` });
      expect(page.hits).toHaveLength(1);
      const [hit] = page.hits;
      const [row] = await a.sql(`SELECT message_data FROM ${a.tables.messages} WHERE id = ?`, [hit.itemId]);
      expect(JSON.parse(String(row.message_data)).content).toBe(text(j));
    }
  });

  it('an append, then a pop before the pass: the popped row has no entry, the other one has', async () => {
    const id = `${prefix}-pop`;
    const s = a.memory.session(id);
    await s.addItems([user('popbase warm')]);
    await settle();
    await s.addItems([user('popkeep one'), user('popgone two')]);
    await s.popItem();
    await settle();
    expect((await b.memory.searchConversations({ query: 'popkeep' })).hits).toHaveLength(1);
    expect((await b.memory.searchConversations({ query: 'popgone' })).hits).toHaveLength(0);
    const m = a.tables.messages;
    const entries = await a.sql(`SELECT COUNT(*) AS n FROM ${m}_search WHERE session_id = ?`, [id]);
    expect(Number(entries[0].n)).toBe(2);
  });

  it('appends of more rows than one pass takes (one large batch; several conversations together): every row gets its entry', async () => {
    const big = `${prefix}-big`;
    const many = [`${prefix}-many-1`, `${prefix}-many-2`, `${prefix}-many-3`];
    for (const id of [big, ...many]) await a.memory.session(id).addItems([user('bigwarm')]);
    await settle(); // read whole: later passes may take the appended texts
    await a.memory.session(big).addItems(Array.from({ length: 1100 }, (_, i) => user(`bigrow ${i}`)));
    await Promise.all(
      many.map((id) => a.memory.session(id).addItems(Array.from({ length: 450 }, () => user('manyrow')))),
    );
    await settle();
    const m = a.tables.messages;
    const ids = [big, ...many];
    const unindexed = await a.sql(
      `SELECT COUNT(*) AS n FROM ${m} m LEFT JOIN ${m}_search s ON s.session_id = m.session_id AND s.branch_id = 'main' ` +
        `AND s.item_id = m.id WHERE m.session_id IN (?, ?, ?, ?) AND s.item_id IS NULL`,
      ids,
    );
    expect(Number(unindexed[0].n)).toBe(0);
    const entries = await a.sql(`SELECT COUNT(*) AS n FROM ${m}_search WHERE session_id IN (?, ?, ?, ?)`, ids);
    expect(Number(entries[0].n)).toBe(4 + 1100 + 3 * 450);
  });

  if (dialect === 'postgres') {
    it('a pass after appends to a conversation read whole sends no read of the rows', async () => {
      const id = `${prefix}-noread`;
      const s = a.memory.session(id);
      await s.addItems([user('nrfirst')]);
      await settle(); // the first pass reads the conversation whole
      const recorder = recordStatements(a.memory.dataSource);
      try {
        await s.addItems([user('nrsecond'), user('nrthird')]);
        await settle();
        const sent = recorder.take().map((st) => st.text);
        // (the read of rows lacking an entry is an anti-join: `s.item_id IS NULL`)
        expect(sent.filter((t) => t.includes('item_id IS NULL'))).toEqual([]);
        expect(sent.some((t) => t.includes(`INSERT INTO "${a.tables.messages}_search"`))).toBe(true);
      } finally {
        recorder.stop();
      }
      expect((await b.memory.searchConversations({ query: 'nrthird' })).hits).toHaveLength(1);
    });
  }
});
