import { InvalidManagementOptionsError, SessionMemoryConfigurationError, SessionSummary } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { TestMemory, startMemory, urlFor } from '../support/memory';
import { user } from '../support/items';

/** Every page of a listing, following nextCursor. */
async function listAll(
  m: TestMemory,
  options: Parameters<TestMemory['memory']['listSessions']>[0] = {},
): Promise<SessionSummary[]> {
  const all: SessionSummary[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await m.memory.listSessions({ ...options, cursor });
    all.push(...page.sessions);
    cursor = page.nextCursor;
    if (!cursor) return all;
  }
  throw new Error('listing never ended');
}

describeEachDialect('listSessions and purgeExpired', (dialect, baseUrl) => {
  let a: TestMemory;
  let b: TestMemory; // a second instance on the same tables
  let prefix = 0;

  beforeEach(async () => {
    a = await startMemory(urlFor(dialect, baseUrl));
    b = dialect === 'sqlite' ? a : await startMemory(baseUrl, {}, a.tables);
    prefix++;
  });
  afterEach(async () => {
    if (b !== a) await b?.close();
    await a?.close();
  });

  /** Sets updated_at of a conversation to `2020-01-01 00:00:00` + `seconds` (database-local time). */
  async function setUpdated(id: string, seconds: number): Promise<void> {
    const base = Date.UTC(2020, 0, 1);
    const text = new Date(base + seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
    await a.sql(`UPDATE ${a.tables.sessions} SET updated_at = ? WHERE session_id = ?`, [text, id]);
  }

  it('pages through every conversation exactly once, newest first or oldest first, ties broken by id', async () => {
    const ids = Array.from({ length: 23 }, (_, i) => `list-${prefix}-${String(i).padStart(2, '0')}`);
    for (const [i, id] of ids.entries()) await a.memory.session(id).addItems([user(`x${i}`)]);
    // Groups of three share one timestamp: only session_id can order them.
    for (const [i, id] of ids.entries()) await setUpdated(id, Math.floor(i / 3));
    const expectedDesc = [...ids].sort(
      (x, y) => Math.floor(ids.indexOf(y) / 3) - Math.floor(ids.indexOf(x) / 3) || (x < y ? 1 : -1),
    );
    for (const limit of [1, 4, 7, 50]) {
      const desc = await listAll(a, { limit });
      expect(desc.map((s) => s.conversationId)).toEqual(expectedDesc);
      const asc = await listAll(a, { limit, order: 'asc' });
      expect(asc.map((s) => s.conversationId)).toEqual([...expectedDesc].reverse());
    }
    const first = await a.memory.listSessions({ limit: 5 });
    expect(first.sessions).toHaveLength(5);
    expect(first.nextCursor).toEqual(expect.any(String));
    const last = await a.memory.listSessions({ limit: 23 });
    expect(last.nextCursor).toBeUndefined();
  });

  it('keeps pagination consistent while conversations are written between pages', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `moving-${prefix}-${String(i).padStart(2, '0')}`);
    for (const id of ids) await a.memory.session(id).addItems([user('start')]);
    for (const [i, id] of ids.entries()) await setUpdated(id, i);
    const seen: string[] = [];
    const written = new Set<string>();
    let cursor: string | undefined;
    let round = 0;
    do {
      const page = await a.memory.listSessions({ limit: 4, cursor });
      seen.push(...page.sessions.map((s) => s.conversationId));
      cursor = page.nextCursor;
      // Between pages, another instance writes one already-listed and one not-yet-listed conversation.
      const listed = ids.filter((id) => seen.includes(id) && !written.has(id));
      const unlisted = ids.filter((id) => !seen.includes(id) && !written.has(id));
      for (const id of [listed[0], unlisted[unlisted.length - 1]]) {
        if (!id) continue;
        written.add(id);
        await b.memory.session(id).addItems([user(`write ${round}`)]);
      }
      round++;
    } while (cursor);
    // A conversation not written meanwhile is listed exactly once; none is listed twice.
    for (const id of ids.filter((x) => !written.has(x))) expect(seen.filter((s) => s === id)).toHaveLength(1);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('counts items on request and filters on the time of the last update', async () => {
    const ids = [`count-${prefix}-a`, `count-${prefix}-b`, `count-${prefix}-c`];
    await a.memory.session(ids[0]).addItems([user('1')]);
    await a.memory.session(ids[1]).addItems([user('1'), user('2'), user('3')]);
    await a.memory.session(ids[2]).addItems([user('1'), user('2')]);
    await a.memory.session(ids[2]).popItem();
    for (const [i, id] of ids.entries()) await setUpdated(id, i * 10);
    const all = await listAll(a, { includeItemCount: true });
    expect(all.map((s) => [s.conversationId, s.itemCount])).toEqual([
      [ids[2], 1],
      [ids[1], 3],
      [ids[0], 1],
    ]);
    expect((await a.memory.listSessions()).sessions[0].itemCount).toBeUndefined();
    const middle = all[1].updatedAt;
    expect(middle.getTime() - all[2].updatedAt.getTime()).toBe(10_000);
    expect(all[1].createdAt).toBeInstanceOf(Date);
    expect((await listAll(a, { updatedBefore: middle })).map((s) => s.conversationId)).toEqual([ids[0]]);
    expect((await listAll(a, { updatedAfter: middle })).map((s) => s.conversationId)).toEqual([ids[2]]);
    expect(
      (await listAll(a, { updatedAfter: all[2].updatedAt, updatedBefore: all[0].updatedAt })).map(
        (s) => s.conversationId,
      ),
    ).toEqual([ids[1]]);
  });

  it('refuses bad options with InvalidManagementOptionsError', async () => {
    for (const options of [
      { limit: 0 },
      { limit: 1001 },
      { limit: 1.5 },
      { order: 'up' },
      { cursor: 'garbage' },
      { updatedBefore: new Date(NaN) },
      { updatedAfter: '2020-01-01' },
    ]) {
      await expect(a.memory.listSessions(options as any)).rejects.toBeInstanceOf(InvalidManagementOptionsError);
    }
    const id = `cursor-${prefix}`;
    await a.memory.session(`${id}-1`).addItems([user('x')]);
    await a.memory.session(`${id}-2`).addItems([user('x')]);
    const page = await a.memory.listSessions({ limit: 1 });
    await expect(a.memory.listSessions({ limit: 1, cursor: page.nextCursor, order: 'asc' })).rejects.toThrow(
      /same order/,
    );
    for (const idleFor of [0, -5, 'soon', '10', undefined]) {
      await expect(a.memory.purgeExpired({ idleFor } as any)).rejects.toBeInstanceOf(InvalidManagementOptionsError);
    }
  });

  it('purgeExpired deletes idle conversations in batches (items, metadata, operations) and keeps active ones', async () => {
    const old = Array.from({ length: 7 }, (_, i) => `old-${prefix}-${i}`);
    const fresh = Array.from({ length: 3 }, (_, i) => `fresh-${prefix}-${i}`);
    for (const id of [...old, ...fresh]) {
      await a.memory.session(id).addItems([user('a'), user('b')], { metadata: { kind: id.split('-')[0] } });
      await a.memory.session(id).applyHistoryTransaction({
        operationId: `op-${id}`,
        transaction: { type: 'append_items', items: [user('c')] },
      });
    }
    for (const id of old) await setUpdated(id, 0);
    expect(await a.memory.purgeExpired({ idleFor: '1d', batchSize: 3 })).toBe(7);
    const left = (await listAll(a, { includeItemCount: true })).map((s) => [s.conversationId, s.itemCount]);
    expect(left.sort()).toEqual(fresh.map((id) => [id, 3]).sort());
    const count = async (table: string) => Number((await a.sql(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
    expect(await count(a.tables.messages)).toBe(9);
    expect(await count(`${a.tables.sessions}_metadata`)).toBe(3);
    expect(await count(`${a.tables.messages}_operations`)).toBe(3);
    expect(await a.memory.purgeExpired({ idleFor: '1d' })).toBe(0);
    // maxBatches bounds one run's work.
    for (const id of fresh) await setUpdated(id, 0);
    expect(await a.memory.purgeExpired({ idleFor: 60_000, batchSize: 1, maxBatches: 2 })).toBe(2);
    expect(await a.memory.purgeExpired({ idleFor: 60_000 })).toBe(1);
  });

  it('two instances purging at once delete each idle conversation once, without errors', async () => {
    const old = Array.from({ length: 40 }, (_, i) => `race-${prefix}-${i}`);
    for (const id of old) await a.memory.session(id).addItems([user('x')]);
    for (const id of old) await setUpdated(id, 0);
    const counts = await Promise.all([
      a.memory.purgeExpired({ idleFor: '1h', batchSize: 5 }),
      b.memory.purgeExpired({ idleFor: '1h', batchSize: 5 }),
      a.memory.purgeExpired({ idleFor: '1h', batchSize: 7 }),
    ]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(40);
    expect(await listAll(a)).toEqual([]);
  });

  it('the ttl option purges on the module timer (first run at startup, finished before shutdown completes)', async () => {
    const old = [`ttl-${prefix}-1`, `ttl-${prefix}-2`];
    for (const id of old) await a.memory.session(id).addItems([user('x')]);
    for (const id of old) await setUpdated(id, 0);
    await a.memory.session(`ttl-${prefix}-fresh`).addItems([user('y')]);
    const url = dialect === 'sqlite' ? (a.memory.dataSource.options as any).database : baseUrl;
    const withTtl = await startMemory(
      dialect === 'sqlite' ? `sqlite:${url}` : url,
      { ttl: { idleFor: '7d', every: '1h' } },
      a.tables,
    );
    await withTtl.close(); // shutdown waits for the run the timer started
    expect((await listAll(a)).map((s) => s.conversationId)).toEqual([`ttl-${prefix}-fresh`]);
  });

  it('refuses a bad ttl at startup with SessionMemoryConfigurationError', async () => {
    const url = dialect === 'sqlite' ? 'sqlite::memory:' : baseUrl;
    await expect(startMemory(url, { ttl: 'often' })).rejects.toBeInstanceOf(SessionMemoryConfigurationError);
    await expect(startMemory(url, { ttl: { idleFor: '1d', batchSize: 0 } })).rejects.toBeInstanceOf(
      SessionMemoryConfigurationError,
    );
  });
});
