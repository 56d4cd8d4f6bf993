import { InvalidSessionMetadataError, SessionMemoryConfigurationError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { startMemory, urlFor, useMemory } from '../support/memory';
import { user } from '../support/items';
import { insertRawRows } from '../support/raw-rows';

describeEachDialect('conversation metadata', (dialect, baseUrl) => {
  let n = 0;
  const id = (name: string) => `${name}-${++n}-${Date.now()}`;
  const count = async (table: string, sessionId: string) =>
    Number((await m.sql(`SELECT COUNT(*) AS n FROM ${table} WHERE session_id = ?`, [sessionId]))[0].n);
  const ids = async (metadata: Record<string, unknown>) =>
    (await m.memory.listSessions({ metadata, limit: 1000 })).sessions.map((s) => s.conversationId).sort();

  const m = useMemory(dialect, baseUrl);

  it('is set, read, replaced and removed; setting it creates the conversation', async () => {
    const s = m.memory.session(id('meta'));
    expect(await s.getMetadata()).toBeUndefined();
    await s.setMetadata({ userId: 'u1', title: 'Ünïcode ✓', tags: ['a', 'b'], nested: { deep: [1, { x: null }] } });
    expect(await s.getMetadata()).toEqual({
      userId: 'u1',
      title: 'Ünïcode ✓',
      tags: ['a', 'b'],
      nested: { deep: [1, { x: null }] },
    });
    expect(
      (await m.memory.listSessions({ limit: 1000 })).sessions.find((x) => x.conversationId === s.conversationId),
    ).toBeDefined();
    await m.memory.setMetadata(s.conversationId, { userId: 'u2' });
    expect(await m.memory.getMetadata(s.conversationId)).toEqual({ userId: 'u2' });
    await s.setMetadata(null);
    expect(await s.getMetadata()).toBeUndefined();
    expect(await s.getItems()).toEqual([]);
  });

  it('addItems(items, { metadata }) writes both in one transaction; a bad item writes neither', async () => {
    const s = m.memory.session(id('with-items'));
    await s.addItems([user('one'), user('two')], { metadata: { userId: 'u7' } });
    expect(await s.getItems()).toEqual([user('one'), user('two')]);
    expect(await s.getMetadata()).toEqual({ userId: 'u7' });
    await expect(
      s.addItems([user('three'), { role: 'user', content: 1n } as any], { metadata: { userId: 'other' } }),
    ).rejects.toThrow();
    expect(await s.getMetadata()).toEqual({ userId: 'u7' });
    expect(await s.getItems()).toHaveLength(2);
    // Not a plain options object (e.g. a RunContext passed along): ignored, plain append.
    class NotOptions {
      metadata = { userId: 'ignored' };
    }
    await s.addItems([user('three')], new NotOptions() as any);
    expect(await s.getMetadata()).toEqual({ userId: 'u7' });
    expect(await s.getItems()).toHaveLength(3);
  });

  it('filters listings by equality of top-level keys (exact: case, type, whole nested value)', async () => {
    const tag = `t${++n}`;
    const a = id('fa');
    const b = id('fb');
    const c = id('fc');
    const d = id('fd');
    await m.memory.setMetadata(a, { tag, userId: 'u1', plan: 'pro', n: 1, flag: true, obj: { x: [1, 2] } });
    await m.memory.setMetadata(b, { tag, userId: 'U1', plan: 'pro', n: '1', flag: false, obj: { x: [1] } });
    await m.memory.setMetadata(c, { tag, userId: 'u1', plan: 'free', n: null });
    await m.memory.session(d).addItems([user('no metadata')]);
    expect(await ids({ tag })).toEqual([a, b, c].sort());
    expect(await ids({ tag, userId: 'u1' })).toEqual([a, c].sort());
    expect(await ids({ tag, userId: 'U1' })).toEqual([b]);
    expect(await ids({ tag, userId: 'u1', plan: 'pro' })).toEqual([a]);
    expect(await ids({ tag, n: 1 })).toEqual([a]);
    expect(await ids({ tag, n: '1' })).toEqual([b]);
    expect(await ids({ tag, n: null })).toEqual([c]);
    expect(await ids({ tag, flag: true })).toEqual([a]);
    expect(await ids({ tag, obj: { x: [1, 2] } })).toEqual([a]);
    expect(await ids({ tag, obj: { x: [1] } })).toEqual([b]);
    expect(await ids({ tag, missing: 'x' })).toEqual([]);
    const page = await m.memory.listSessions({ metadata: { tag, plan: 'free' } });
    expect(page.sessions.map((s) => s.metadata)).toEqual([{ tag, userId: 'u1', plan: 'free', n: null }]);
  });

  it('refuses metadata that is not a plain JSON object within 64 KiB, and unsupported filter keys', async () => {
    const s = m.memory.session(id('bad'));
    for (const bad of [[1], 'x', 42, new Date(), { big: 'x'.repeat(70_000) }, { f: () => 1 }]) {
      await expect(s.setMetadata(bad as any)).rejects.toBeInstanceOf(InvalidSessionMetadataError);
    }
    await expect(m.memory.listSessions({ metadata: { 'a.b': 1 } })).rejects.toBeInstanceOf(InvalidSessionMetadataError);
    await expect(m.memory.listSessions({ metadata: { "x'); DROP TABLE y; --": 1 } })).rejects.toBeInstanceOf(
      InvalidSessionMetadataError,
    );
    expect(await s.getMetadata()).toBeUndefined();
  });

  it('stays through clearSession; goes with deleteSession and with a Python-style clear', async () => {
    const metadataTable = `${m.tables.sessions}_metadata`;
    const one = m.memory.session(id('clear'));
    await one.addItems([user('x')], { metadata: { k: 1 } });
    await one.clearSession();
    expect(await one.getItems()).toEqual([]);
    expect(await count(metadataTable, one.conversationId)).toBe(1);
    expect(await one.getMetadata()).toEqual({ k: 1 });

    const two = id('delete');
    await m.memory.session(two).addItems([user('x')], { metadata: { k: 2 } });
    expect(await m.memory.deleteSession(two)).toBe(true);
    expect(await count(metadataTable, two)).toBe(0);

    // Python's SQLAlchemySession.clear_session: delete the messages, then the session row.
    const three = id('python');
    await m.memory.session(three).addItems([user('x')], { metadata: { k: 3 } });
    await m.sql(`DELETE FROM ${m.tables.messages} WHERE session_id = ?`, [three]);
    await m.sql(`DELETE FROM ${m.tables.sessions} WHERE session_id = ?`, [three]);
    expect(await count(metadataTable, three)).toBe(0);
  });

  it('leaves the Python tables as Python reads and writes them', async () => {
    const s = m.memory.session(id('python-reads'));
    await s.addItems([user('hello')], { metadata: { userId: 'u1' } });
    // What SQLAlchemySession selects and inserts: only these columns exist for it.
    const rows = await m.sql(
      `SELECT message_data FROM ${m.tables.messages} WHERE session_id = ? ORDER BY created_at, id`,
      [s.conversationId],
    );
    expect(rows.map((r: any) => JSON.parse(r.message_data))).toEqual([user('hello')]);
    await insertRawRows(m, s.conversationId, ['{"role":"user","content":"from python"}']);
    await m.sql(`UPDATE ${m.tables.sessions} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?`, [
      s.conversationId,
    ]);
    expect(await s.getItems()).toEqual([user('hello'), user('from python')]);
    expect(await s.getMetadata()).toEqual({ userId: 'u1' });
  });

  it('without the metadata table (createTables off, older schema) says how to create it', async () => {
    const other = await startMemory(urlFor(dialect, baseUrl));
    try {
      await other.sql(`DROP TABLE ${other.tables.sessions}_metadata`);
      const plain = await startMemory(
        dialect === 'sqlite' ? `sqlite:${(other.memory.dataSource.options as any).database}` : baseUrl,
        { createTables: false },
        other.tables,
      );
      try {
        await plain.memory.session('x').addItems([user('still works')]);
        await expect(plain.memory.session('x').setMetadata({ a: 1 })).rejects.toBeInstanceOf(
          SessionMemoryConfigurationError,
        );
        await expect(plain.memory.listSessions({ metadata: { a: 1 } })).rejects.toThrow(/createTables: true/);
        expect((await plain.memory.listSessions()).sessions.map((s) => s.conversationId)).toEqual(['x']);
      } finally {
        await plain.close();
      }
    } finally {
      await other.close();
    }
  });
});
