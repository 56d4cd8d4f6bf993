import { InvalidManagementOptionsError, SessionMemoryConfigurationError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { startMemory, urlFor } from '../support/memory';
import { dropSessionTables, ignoreDropError, uniqueTables } from '../support/tables';
import { useSearchPair } from './search-support';

describeEachDialect('search: owners, reindex of rows written by plain SQL, off by default', (dialect, baseUrl) => {
  const [a, b] = useSearchPair(dialect, baseUrl);
  const prefix = `own-${Date.now().toString(36)}`;
  const settle = () => a.memory.searchConversations({ query: 'settle' });
  const ids = async (query: string, owner?: string) =>
    (await b.memory.searchConversations({ query, owner, limit: 100 })).hits.map((h) => h.conversationId).sort();

  it("never returns another owner's conversations; the owner is checked in the statement", async () => {
    await a.memory.session(`${prefix}-alice-1`, { owner: 'alice' }).addItems([user('ownerword alpha')]);
    await a.memory.session(`${prefix}-alice-2`, { owner: 'alice' }).addItems([user('ownerword beta')]);
    await a.memory.session(`${prefix}-bob-1`, { owner: 'bob' }).addItems([user('ownerword gamma')]);
    await a.memory.session(`${prefix}-nobody`).addItems([user('ownerword delta')]);
    await a.memory.session(`${prefix}-Alice`, { owner: 'Alice' }).addItems([user('ownerword epsilon')]);
    await settle();
    expect(await ids('ownerword', 'alice')).toEqual([`${prefix}-alice-1`, `${prefix}-alice-2`]);
    expect(await ids('ownerword', 'bob')).toEqual([`${prefix}-bob-1`]);
    expect(await ids('ownerword', 'alice ')).toEqual([]);
    expect(await ids('ownerword', 'carol')).toEqual([]);
    expect(await ids('ownerword')).toHaveLength(5);
    // Handing a conversation over shows at once in the next search.
    await a.memory.assignOwner(`${prefix}-bob-1`, 'alice');
    expect(await ids('ownerword', 'bob')).toEqual([]);
    expect(await ids('ownerword', 'alice')).toHaveLength(3);
    expect(await ids('ownerword', "' OR '1'='1")).toEqual([]); // an owner id like any other
    for (const owner of ['', 'x'.repeat(300), 42])
      await expect(b.memory.searchConversations({ query: 'ownerword', owner: owner as string })).rejects.toBeInstanceOf(
        InvalidManagementOptionsError,
      );
  });

  it('reindex indexes rows written as Python SQLAlchemySession writes them, in bounded resumable steps', async () => {
    const { sessions, messages } = a.tables;
    const pyIds = [`${prefix}-py-1`, `${prefix}-py-2`];
    for (const id of pyIds) await a.sql(`INSERT INTO ${sessions} (session_id) VALUES (?)`, [id]);
    // json.dumps(item, ensure_ascii=True, separators=(",", ":")), and a row that is not JSON at all
    const rows: [string, string][] = [
      [pyIds[0], '{"role":"user","content":"pythonword caf\\u00e9 one"}'],
      [pyIds[0], '{"role":"assistant","type":"message","content":[{"type":"output_text","text":"pythonword two"}]}'],
      [pyIds[0], 'not json at all'],
      [pyIds[1], '{"role":"user","content":[{"type":"input_text","text":"pythonword three"}]}'],
      [pyIds[1], '{"type":"function_call","call_id":"c","name":"pythonword","arguments":"{}"}'],
    ];
    for (const [id, data] of rows)
      await a.sql(`INSERT INTO ${messages} (session_id, message_data) VALUES (?, ?)`, [id, data]);
    expect(await ids('pythonword')).toEqual([]);
    let cursor: string | undefined;
    let steps = 0;
    let indexed = 0;
    do {
      const step = await b.memory.reindex({ batchSize: 3, cursor });
      expect(step.scanned).toBeLessThanOrEqual(3);
      indexed += step.indexed;
      cursor = step.nextCursor;
      steps++;
    } while (cursor);
    expect(steps).toBeGreaterThanOrEqual(2);
    expect(indexed).toBeGreaterThanOrEqual(rows.length);
    const hits = (await b.memory.searchConversations({ query: 'pythonword', limit: 100 })).hits;
    expect(hits.map((h) => h.snippet).sort()).toEqual(['pythonword café one', 'pythonword three', 'pythonword two']);
    expect((await b.memory.searchConversations({ query: 'café' })).hits).toHaveLength(1);
    // Everything is indexed now: a second pass writes nothing.
    let again = 0;
    cursor = undefined;
    do {
      const step = await b.memory.reindex({ batchSize: 1000, cursor });
      again += step.indexed + step.removed;
      cursor = step.nextCursor;
    } while (cursor);
    expect(again).toBe(0);
    for (const bad of [{ batchSize: 0 }, { batchSize: 10_001 }, { cursor: 'x' }, { cursor: '-1' }])
      await expect(b.memory.reindex(bad)).rejects.toBeInstanceOf(InvalidManagementOptionsError);
  });

  it('is off by default: no search table is created or written, and the calls say how to turn it on', async () => {
    const tables = uniqueTables('nosrch');
    const off = await startMemory(urlFor(dialect, baseUrl), {}, tables);
    try {
      await off.memory.session('x').addItems([user('hello')]);
      await off.memory.session('x').popItem();
      const probe = off.sql(`SELECT COUNT(*) AS n FROM ${tables.messages}_search`);
      expect(
        await probe.then(
          () => 'exists',
          () => 'missing',
        ),
      ).toBe('missing');
      await expect(off.memory.searchConversations({ query: 'hello' })).rejects.toBeInstanceOf(
        SessionMemoryConfigurationError,
      );
      await expect(off.memory.reindex()).rejects.toBeInstanceOf(SessionMemoryConfigurationError);
    } finally {
      await dropSessionTables(off.memory.dataSource, tables, ignoreDropError);
      await off.module.close();
    }
  });
});
