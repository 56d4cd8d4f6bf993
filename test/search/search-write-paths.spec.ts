import type { SessionItem } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { compaction, functionCall, user } from '../support/items';
import { startMemory } from '../support/memory';
import type { TestMemory } from '../support/memory';
import { useSearchPair } from './search-support';

/**
 * A search never returns a removed item, after every write path. `a` writes; `b`, a second instance
 * on the same tables (as another process), searches at once, without waiting for `a`'s index work:
 * the hits are joined to the live rows. Then, once `a`'s syncs ran, no stale entry is left.
 */
describeEachDialect('search: removed items never appear, after every write path', (dialect, baseUrl) => {
  const include = {
    include: ['messages', 'tool_calls', 'tool_outputs'] as ('messages' | 'tool_calls' | 'tool_outputs')[],
  };
  const [a, b] = useSearchPair(dialect, baseUrl, { search: include });
  const prefix = `wp-${Date.now().toString(36)}`;
  const settle = () => a.memory.searchConversations({ query: 'settle' });
  const texts = async (query: string, via: TestMemory = b) =>
    (await via.memory.searchConversations({ query, limit: 100 })).hits.map((h) => h.snippet).sort();
  const staleEntries = async () => {
    const m = a.tables.messages;
    const rows = await a.sql(
      `SELECT COUNT(*) AS n FROM ${m}_search s WHERE NOT EXISTS (SELECT 1 FROM ${m} m WHERE m.session_id = s.session_id AND m.id = s.item_id)`,
    );
    return Number(rows[0].n);
  };

  afterEach(async () => {
    await settle();
    expect(await staleEntries()).toBe(0);
  });

  it('addItems (and addItems with metadata) index user and assistant text', async () => {
    const s = a.memory.session(`${prefix}-add`);
    await s.addItems([user('addword from the user')]);
    await s.addItems(
      [
        {
          role: 'assistant',
          type: 'message',
          status: 'completed',
          content: [{ type: 'output_text', text: 'addword from the assistant' }],
        } as SessionItem,
      ],
      { metadata: { topic: 'x' } },
    );
    await settle();
    const page = await b.memory.searchConversations({ query: 'addword' });
    expect(page.hits.map((h) => h.role).sort()).toEqual(['assistant', 'user']);
  });

  it('concurrent appends (one process, few conversations, passes in between): every row gets its entry', async () => {
    const ids = [`${prefix}-conc-1`, `${prefix}-conc-2`];
    for (let wave = 0; wave < 6; wave++) {
      await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          a.memory.session(ids[i % 2]).addItems([user(`concword ${wave} ${i}`), user(`second ${wave} ${i}`)]),
        ),
      );
      if (wave % 2 === 1) await settle(); // watermarks are set between waves
    }
    await settle();
    const m = a.tables.messages;
    const unindexed = await a.sql(
      `SELECT COUNT(*) AS n FROM ${m} m LEFT JOIN ${m}_search s ON s.session_id = m.session_id AND s.branch_id = 'main' ` +
        `AND s.item_id = m.id WHERE m.session_id IN (?, ?) AND s.item_id IS NULL`,
      ids,
    );
    expect(Number(unindexed[0].n)).toBe(0);
    expect((await b.memory.searchConversations({ query: 'concword', limit: 100 })).hits).toHaveLength(100);
  });

  it('popItem', async () => {
    const s = a.memory.session(`${prefix}-pop`);
    await s.addItems([user('popword one'), user('popword two')]);
    await settle();
    expect(await texts('popword')).toEqual(['popword one', 'popword two']);
    await s.popItem();
    expect(await texts('popword')).toEqual(['popword one']);
  });

  it('clearSession and deleteSession', async () => {
    await a.memory.session(`${prefix}-clear`).addItems([user('clearword')]);
    await a.memory.session(`${prefix}-delete`).addItems([user('deleteword')]);
    await settle();
    expect(await texts('clearword')).toEqual(['clearword']);
    await a.memory.session(`${prefix}-clear`).clearSession();
    await a.memory.deleteSession(`${prefix}-delete`);
    expect(await texts('clearword')).toEqual([]);
    expect(await texts('deleteword')).toEqual([]);
  });

  it('replaceHistoryWithCompaction', async () => {
    const s = a.memory.session(`${prefix}-compact`);
    await s.addItems([user('compactword old one'), user('compactword old two')]);
    await settle();
    await s.replaceHistoryWithCompaction([compaction('c'), user('compactword kept')]);
    expect(await texts('compactword')).not.toContain('compactword old one');
    await settle();
    expect(await texts('compactword')).toEqual(['compactword kept']);
  });

  it('applyHistoryTransaction (replace_suffix)', async () => {
    const s = a.memory.session(`${prefix}-tx`);
    await s.addItems([user('txword first'), user('txword second')]);
    await settle();
    await s.applyHistoryTransaction({
      operationId: `${prefix}-op`,
      transaction: {
        type: 'replace_suffix',
        expectedSuffix: [user('txword second')],
        replacement: [user('txword third')],
      },
    });
    expect(await texts('txword')).not.toContain('txword second');
    await settle();
    expect(await texts('txword')).toEqual(['txword first', 'txword third']);
  });

  it('applyHistoryMutations (a tool call rewritten in place)', async () => {
    const s = a.memory.session(`${prefix}-mut`);
    await s.addItems([functionCall('call-1', '{"q":"oldargword"}'), functionCall('call-2', '{"q":"samelength1"}')]);
    await settle();
    expect(await texts('oldargword')).toHaveLength(1);
    const replace = (callId: string, args: string) => ({
      type: 'replace_function_call' as const,
      callId,
      replacement: functionCall(callId, args) as never,
    });
    await s.applyHistoryMutations({
      mutations: [replace('call-1', '{"q":"a longer new argword"}'), replace('call-2', '{"q":"samelength2"}')],
    });
    // A text of another length: never returned again, at once (the hit's row no longer matches its entry).
    expect(await texts('oldargword')).toEqual([]);
    // Same length: replaced by the writer's index sync (docs/search.md, "In-place rewrites").
    await settle();
    expect(await texts('samelength1')).toEqual([]);
    expect(await texts('samelength2')).toHaveLength(1);
    expect(await texts('argword')).toHaveLength(1);
  });

  it('retention purge (purgeExpired)', async () => {
    const id = `${prefix}-purge`;
    await a.memory.session(id).addItems([user('purgeword')]);
    await settle();
    await a.sql(`UPDATE ${a.tables.sessions} SET updated_at = ? WHERE session_id = ?`, ['2020-01-01 00:00:00', id]);
    expect(await a.memory.purgeExpired({ idleFor: '365d' })).toBeGreaterThanOrEqual(1);
    expect(await texts('purgeword')).toEqual([]);
  });

  it('rows deleted behind the module (plain SQL, as Python clear_session does)', async () => {
    const id = `${prefix}-sql`;
    await a.memory.session(id).addItems([user('sqlword')]);
    await settle();
    await a.sql(`DELETE FROM ${a.tables.messages} WHERE session_id = ?`, [id]);
    expect(await texts('sqlword')).toEqual([]);
    await a.memory.reindex({ batchSize: 10_000 });
  });
});

describeEachDialect('search: re-encryption takes items out of the index', (dialect, baseUrl) => {
  const [plain] = useSearchPair(dialect, baseUrl);
  it('a plaintext row re-encrypted is never returned, and its entry is removed', async () => {
    const id = `reenc-${Date.now().toString(36)}`;
    await plain.memory.session(id).addItems([user('secretword in plaintext')]);
    await plain.memory.searchConversations({ query: 'settle' });
    expect((await plain.memory.searchConversations({ query: 'secretword' })).hits).toHaveLength(1);
    const sealed = await startMemory(
      plain.url,
      { search: true, encryption: { keys: 'a key of search tests' } },
      plain.tables,
    );
    try {
      let cursor: string | undefined;
      do cursor = (await sealed.memory.reencrypt({ batchSize: 100, cursor, encryptPlain: true })).nextCursor;
      while (cursor);
      expect((await plain.memory.searchConversations({ query: 'secretword' })).hits).toEqual([]);
      await sealed.memory.session(id).addItems([user('secretword sealed')]);
      await sealed.memory.searchConversations({ query: 'settle' });
      expect((await sealed.memory.searchConversations({ query: 'secretword' })).hits).toEqual([]);
      const m = plain.tables.messages;
      const left = await plain.sql(`SELECT body FROM ${m}_search WHERE session_id = ? AND body <> ''`, [id]);
      expect(left).toEqual([]);
    } finally {
      await sealed.module.close();
    }
  });
});
