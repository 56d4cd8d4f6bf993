import {
  ConversationSession,
  InvalidConversationIdError,
  InvalidLimitError,
  InvalidSessionItemsError,
  SessionItem,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { startMemory, useMemoryPair } from '../support/memory';
import { insertRawRows } from '../support/raw-rows';
import { texts, user } from '../support/items';

describeEachDialect('ConversationSession contract', (dialect, baseUrl) => {
  const [a, b] = useMemoryPair(dialect, baseUrl);

  let n = 0;
  const fresh = (prefix = 'conv'): ConversationSession => a.memory.session(`${prefix}-${++n}-${Date.now()}`);

  it('keeps insertion order even when every timestamp is identical', async () => {
    const s = fresh();
    for (let i = 0; i < 12; i++) await s.addItems([user(`single ${i}`)]);
    await s.addItems(Array.from({ length: 8 }, (_, i) => user(`batch ${i}`)));
    // Make every created_at equal: only the row id can give the order now.
    await a.sql(`UPDATE ${a.tables.messages} SET created_at = ? WHERE session_id = ?`, [
      '2020-01-01 00:00:00',
      s.conversationId,
    ]);
    const expected = [
      ...Array.from({ length: 12 }, (_, i) => `single ${i}`),
      ...Array.from({ length: 8 }, (_, i) => `batch ${i}`),
    ];
    expect(texts(await s.getItems())).toEqual(expected);
    expect(texts(await s.getItems(5))).toEqual(expected.slice(-5));
  });

  it('implements limit: none = all, 0 = [], n = newest n oldest first, more than stored = all', async () => {
    const s = fresh();
    await s.addItems(['a', 'b', 'c', 'd'].map((t) => user(t)));
    expect(texts(await s.getItems())).toEqual(['a', 'b', 'c', 'd']);
    expect(await s.getItems(0)).toEqual([]);
    expect(texts(await s.getItems(1))).toEqual(['d']);
    expect(texts(await s.getItems(3))).toEqual(['b', 'c', 'd']);
    expect(texts(await s.getItems(100))).toEqual(['a', 'b', 'c', 'd']);
    expect(await fresh().getItems(3)).toEqual([]);
  });

  it.each([-1, 1.5, Number.NaN, Infinity, '2' as unknown as number])(
    'refuses limit %p with InvalidLimitError',
    async (limit) => {
      const s = fresh();
      await expect(s.getItems(limit)).rejects.toBeInstanceOf(InvalidLimitError);
    },
  );

  it('keeps conversations apart, and ids are exact (case, trailing space)', async () => {
    const stamp = Date.now();
    const ids = [`Conv-1-${stamp}`, `conv-1-${stamp}`, `conv-1-${stamp} `, `conv-1-${stamp}  `];
    for (const id of ids) await a.memory.session(id).addItems([user(`in ${JSON.stringify(id)}`)]);
    for (const id of ids) expect(texts(await a.memory.session(id).getItems())).toEqual([`in ${JSON.stringify(id)}`]);
    await a.memory.session(ids[0]).clearSession();
    expect(await a.memory.session(ids[0]).getItems()).toEqual([]);
    expect(await a.memory.session(ids[1]).getItems()).toHaveLength(1);
  });

  it('40 concurrent popItem calls from two clients on 40 items return 40 distinct items and leave none', async () => {
    const id = fresh().conversationId;
    const items = Array.from({ length: 40 }, (_, i) => user(`item ${i}`));
    await a.memory.session(id).addItems(items);
    const popped = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? b : a).memory.session(id).popItem()),
    );
    const got = texts(popped.filter((x): x is SessionItem => x !== undefined));
    expect(got).toHaveLength(40);
    expect(new Set(got).size).toBe(40);
    expect(await a.memory.session(id).getItems()).toEqual([]);
  });

  it('60 concurrent pops on 40 items: 40 distinct items and 20 undefined', async () => {
    const id = fresh().conversationId;
    await a.memory.session(id).addItems(Array.from({ length: 40 }, (_, i) => user(`item ${i}`)));
    const popped = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? b : a).memory.session(id).popItem()),
    );
    const got = texts(popped.filter((x): x is SessionItem => x !== undefined));
    expect(new Set(got).size).toBe(40);
    expect(popped.filter((x) => x === undefined)).toHaveLength(20);
  });

  it('popItem returns the newest item, then undefined on an empty conversation', async () => {
    const s = fresh();
    expect(await s.popItem()).toBeUndefined();
    await s.addItems([user('first'), user('second')]);
    expect(await s.popItem()).toEqual(user('second'));
    expect(texts(await s.getItems())).toEqual(['first']);
  });

  it('25 concurrent first writes to a new conversation lose nothing', async () => {
    const id = fresh().conversationId;
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => (i % 2 ? b : a).memory.session(id).addItems([user(`w${i}`)])),
    );
    const got = texts(await a.memory.session(id).getItems());
    expect(got.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `w${i}`).sort());
    const sessions = await a.sql(`SELECT session_id FROM ${a.tables.sessions} WHERE session_id = ?`, [id]);
    expect(sessions).toHaveLength(1);
  });

  it('16 concurrent batches to one conversation each stay whole and in order', async () => {
    const id = fresh().conversationId;
    await Promise.all(
      Array.from({ length: 16 }, (_, w) =>
        (w % 2 ? b : a).memory.session(id).addItems(Array.from({ length: 5 }, (_, i) => user(`b${w}-${i}`))),
      ),
    );
    const got = texts(await a.memory.session(id).getItems());
    expect(got).toHaveLength(80);
    for (let k = 0; k < 80; k += 5) {
      const w = got[k].split('-')[0];
      expect(got.slice(k, k + 5)).toEqual(Array.from({ length: 5 }, (_, i) => `${w}-${i}`));
    }
  });

  it('round-trips non-ASCII text, lone surrogates, NUL and JSON-looking strings exactly', async () => {
    const s = fresh();
    const item = {
      role: 'user',
      content:
        'Grüße, Привет, 日本語, emoji 😀🌧, RTL שלום, combining é, \u2028\u2029, tab\t, nl\n, NUL \u0000, lone \ud800 and \udfff, quote " backslash \\',
      extra: {
        "'; DROP TABLE x; --": '{"not":"json"}',
        __proto__x: 1,
        nested: [1.5, -0.25, true, null, { deep: ['✓'] }],
      },
    } as unknown as SessionItem;
    await s.addItems([item]);
    const [back] = await s.getItems();
    expect(back).toEqual(item);
    expect((back as any).content).toBe((item as any).content);
  });

  it('skips a corrupt stored row and counts only valid items towards limit', async () => {
    const s = fresh();
    await s.addItems([user('one'), user('two')]);
    await insertRawRows(a, s.conversationId, ['{not json']);
    await insertRawRows(a, s.conversationId, ['42']);
    await s.addItems([user('three')]);
    expect(texts(await s.getItems())).toEqual(['one', 'two', 'three']);
    expect(texts(await s.getItems(2))).toEqual(['two', 'three']);
    expect(texts(await s.getItems(3))).toEqual(['one', 'two', 'three']);
    expect(texts(await s.getItems(4))).toEqual(['one', 'two', 'three']);
    expect(await s.popItem()).toEqual(user('three'));
    expect(await s.popItem()).toEqual(user('two')); // the corrupt rows in between are discarded
    expect(texts(await s.getItems())).toEqual(['one']);
  });

  it('reads any valid JSON formatting (Python writes ASCII-escaped, compact JSON)', async () => {
    const s = fresh();
    await a.sql(`INSERT INTO ${a.tables.sessions} (session_id) VALUES (?)`, [s.conversationId]);
    await insertRawRows(a, s.conversationId, ['{ "role" : "user",\n "content" : "K\\u00f6ln \\ud83c\\udf27" }']);
    expect(await s.getItems()).toEqual([{ role: 'user', content: 'Köln 🌧' }]);
  });

  it('writes nothing when one item of a batch is bad', async () => {
    const s = fresh();
    await s.addItems([user('kept')]);
    const cyclic: any = { role: 'user', content: 'x' };
    cyclic.self = cyclic;
    const bad: unknown[] = [
      'a string',
      null,
      [1, 2],
      { role: 'user', content: () => 1 },
      { role: 'user', content: 10n },
      { role: 'user', n: Infinity },
      { role: 'user', n: NaN },
      { role: 'user', when: new Date() },
      { role: 'user', list: [undefined] },
      cyclic,
    ];
    for (const b of bad) {
      await expect(s.addItems([user('good'), b as SessionItem])).rejects.toBeInstanceOf(InvalidSessionItemsError);
    }
    await expect(s.addItems('nope' as unknown as SessionItem[])).rejects.toBeInstanceOf(InvalidSessionItemsError);
    expect(texts(await s.getItems())).toEqual(['kept']);
  });

  it('refuses items over the size cap and nesting limit with a message that says what to do', async () => {
    const small = await startMemory(a.url, { limits: { maxItemBytes: 100, maxDepth: 4 } }, a.tables);
    try {
      const s = small.memory.session(`caps-${Date.now()}`);
      await expect(s.addItems([{ role: 'user', content: 'x'.repeat(200) }])).rejects.toThrow(/limits\.maxItemBytes/);
      await expect(s.addItems([{ role: 'user', content: 'é'.repeat(40) } as SessionItem])).rejects.toThrow(/bytes/); // 80 chars of UTF-8 + keys > 100
      await expect(s.addItems([{ a: { b: { c: { d: { e: 1 } } } } } as unknown as SessionItem])).rejects.toThrow(
        /limits\.maxDepth/,
      );
      expect(await s.getItems()).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('refuses bad conversation ids before any I/O', () => {
    for (const id of [
      '',
      'x'.repeat(256),
      'a\u0000b',
      'lone \ud800',
      42 as unknown as string,
      undefined as unknown as string,
    ]) {
      expect(() => a.memory.session(id)).toThrow(InvalidConversationIdError);
    }
    expect(a.memory.session('x'.repeat(255)).conversationId).toHaveLength(255);
  });

  it('clearSession removes the items and keeps the session row; deleteSession removes both', async () => {
    const s = fresh();
    await s.addItems([user('x'), user('y')]);
    await s.clearSession();
    expect(await s.getItems()).toEqual([]);
    expect(await a.sql(`SELECT * FROM ${a.tables.sessions} WHERE session_id = ?`, [s.conversationId])).toHaveLength(1);
    expect(await a.sql(`SELECT * FROM ${a.tables.messages} WHERE session_id = ?`, [s.conversationId])).toHaveLength(0);
    await s.addItems([user('again')]);
    expect(texts(await s.getItems())).toEqual(['again']);
    expect(await a.memory.deleteSession(s.conversationId)).toBe(true);
    expect(await a.sql(`SELECT * FROM ${a.tables.sessions} WHERE session_id = ?`, [s.conversationId])).toHaveLength(0);
    expect(await a.sql(`SELECT * FROM ${a.tables.messages} WHERE session_id = ?`, [s.conversationId])).toHaveLength(0);
  });

  it('uses the custom table names it was given', async () => {
    const s = fresh();
    await s.addItems([user('where')]);
    const rows = await a.sql<{ message_data: string }>(
      `SELECT message_data FROM ${a.tables.messages} WHERE session_id = ?`,
      [s.conversationId],
    );
    expect(rows.map((r) => JSON.parse(r.message_data))).toEqual([user('where')]);
    expect(a.tables.messages).toMatch(/^t_msg_/);
  });

  it('moves updated_at forward on a write', async () => {
    const s = fresh();
    await s.addItems([user('1')]);
    await a.sql(`UPDATE ${a.tables.sessions} SET updated_at = ? WHERE session_id = ?`, [
      '2001-01-01 00:00:00',
      s.conversationId,
    ]);
    await s.addItems([user('2')]);
    const [row] = await a.sql(`SELECT updated_at FROM ${a.tables.sessions} WHERE session_id = ?`, [s.conversationId]);
    expect(new Date(row.updated_at).getUTCFullYear()).toBeGreaterThan(2001);
  });
});
