import {
  InvalidManagementOptionsError,
  InvalidSessionMetadataError,
  SessionMemoryConfigurationError,
  SessionMemoryModuleOptions,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { TestMemory, startMemory, urlFor, useMemory } from '../support/memory';
import { user } from '../support/items';

/**
 * Input that one dialect refuses and the others store must be refused the same way everywhere,
 * with the package's typed error and before any I/O (hostile security review findings).
 */
/** No raw NUL, no lone surrogate: the message can be logged as it is. */
const isLogSafe = (text: string) => !text.includes('\u0000') && text.isWellFormed();

describeEachDialect('hardening: metadata text every dialect can store', (dialect, baseUrl) => {
  let n = 0;
  const id = (name: string) => `${name}-${++n}-${Date.now()}`;
  const rows = async (table: string, sessionId: string) =>
    Number((await m.sql(`SELECT COUNT(*) AS n FROM ${table} WHERE session_id = ?`, [sessionId]))[0].n);

  const m = useMemory(dialect, baseUrl);

  // [metadata, the path the message must name]
  const BAD: [string, Record<string, unknown>, string][] = [
    ['NUL in a value', { title: 'a\u0000b' }, 'metadata.title'],
    ['NUL in a key', { 'ti\u0000tle': 'x' }, 'metadata["ti\\u0000tle"]'],
    ['a lone high surrogate deep in an array', { tags: ['ok', { deep: ['\ud800'] }] }, 'metadata.tags[1].deep[0]'],
    ['a lone low surrogate in a nested key', { nested: { ['k\udc00']: 1 } }, 'metadata.nested["k\\udc00"]'],
  ];

  it.each(BAD)('setMetadata refuses %s with InvalidSessionMetadataError naming the path', async (_what, bad, path) => {
    const s = m.memory.session(id('nul'));
    const err = await s.setMetadata(bad).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(InvalidSessionMetadataError);
    expect(err!.message).toContain(path);
    expect(err!.message).toMatch(/NUL|surrogate/);
    expect(isLogSafe(err!.message)).toBe(true);
    // Nothing written: no session row, no metadata row.
    expect(await rows(m.tables.sessions, s.conversationId)).toBe(0);
    expect(await rows(`${m.tables.sessions}_metadata`, s.conversationId)).toBe(0);
  });

  it.each(BAD)('addItems(items, { metadata }) refuses %s and writes neither', async (_what, bad) => {
    const s = m.memory.session(id('nul-items'));
    await expect(s.addItems([user('kept out')], { metadata: bad })).rejects.toBeInstanceOf(InvalidSessionMetadataError);
    expect(await rows(m.tables.messages, s.conversationId)).toBe(0);
    expect(await rows(m.tables.sessions, s.conversationId)).toBe(0);
  });

  it('items themselves may still hold NUL (they are stored as text, not jsonb)', async () => {
    const s = m.memory.session(id('nul-item'));
    await s.addItems([user('a\u0000b')], { metadata: { ok: 'fine' } });
    expect(await s.getItems()).toEqual([user('a\u0000b')]);
  });

  it.each([
    ['NUL', { userId: 'u\u0000' }],
    ['a lone surrogate', { userId: '\udfff' }],
    ['NUL nested in the value', { obj: { ['\u0000']: 1 } }],
  ])('listSessions refuses a metadata filter value holding %s', async (_what, filter) => {
    const err = await m.memory.listSessions({ metadata: filter }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(InvalidSessionMetadataError);
    expect(err!.message).toMatch(/filter/);
    expect(isLogSafe(err!.message)).toBe(true);
  });
});

/** What `promise` rejected with (fails the test when it resolved). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: Error) => err,
  );
}

describeEachDialect('hardening: listing cursors and listing/retention option ranges', (dialect, baseUrl) => {
  let a: TestMemory;
  const prefix = `cur-${Date.now()}`;
  const url = urlFor(dialect, baseUrl);
  /** A second module instance on the same tables (and, for SQLite, the same file). */
  const second = (options: Partial<SessionMemoryModuleOptions>) =>
    startMemory(
      dialect === 'sqlite' ? `sqlite:${(a.memory.dataSource.options as any).database}` : url,
      options,
      a.tables,
    );

  beforeAll(async () => {
    a = await startMemory(url, {
      cursorSecret: 'a shared secret of the whole fleet',
    } as Partial<SessionMemoryModuleOptions>);
    for (let i = 0; i < 3; i++) await a.memory.session(`${prefix}-${i}`).addItems([user('x')]);
  });
  afterAll(async () => {
    await a?.close();
  });

  it.each([
    ['a key with a raw newline (log injection)', ['d', "2025-01-01 00:00:00\nforged'; DROP", 'x']],
    ['a key far in the future (a silently wrong page)', ['d', '9999-12-31 23:59:59.999999', '']],
    ['an id the package never produced', ['d', '2025-01-01 00:00:00', 'forged\u0000']],
  ])('refuses a forged cursor holding %s, without echoing it', async (_what, payload) => {
    const forged = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    const err = await rejection(a.memory.listSessions({ limit: 1, cursor: forged }));
    expect(err).toBeInstanceOf(InvalidManagementOptionsError);
    expect(err.message).not.toMatch(/forged|DROP|\n/);
    expect(err.message).not.toContain(forged);
  });

  it('refuses a genuine cursor with one byte changed', async () => {
    const page = await a.memory.listSessions({ limit: 1 });
    const bytes = Buffer.from(page.nextCursor!, 'base64url');
    for (const at of [0, bytes.length >> 1, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[at] ^= 0x01;
      const err = await rejection(a.memory.listSessions({ limit: 1, cursor: tampered.toString('base64url') }));
      expect(err).toBeInstanceOf(InvalidManagementOptionsError);
    }
  });

  it('a cursor works on another instance with the same cursorSecret, and is refused by one with another', async () => {
    const page = await a.memory.listSessions({ limit: 1 });
    const same = await second({
      cursorSecret: 'a shared secret of the whole fleet',
    } as Partial<SessionMemoryModuleOptions>);
    const other = await second({
      cursorSecret: 'another secret, another fleet!!',
    } as Partial<SessionMemoryModuleOptions>);
    try {
      const next = await same.memory.listSessions({ limit: 1, cursor: page.nextCursor });
      expect(next.sessions).toHaveLength(1);
      expect(next.sessions[0].conversationId).not.toBe(page.sessions[0].conversationId);
      expect(await rejection(other.memory.listSessions({ limit: 1, cursor: page.nextCursor }))).toBeInstanceOf(
        InvalidManagementOptionsError,
      );
    } finally {
      await other.close();
      await same.close();
    }
  });

  it.each([
    ['the year -271821 (new Date(-8.64e15))', new Date(-8.64e15)],
    ['the year 275760 (new Date(8.64e15))', new Date(8.64e15)],
    ['the year 10000', new Date(Date.UTC(10000, 0, 1))],
    ['before 1970', new Date(-1)],
  ])('refuses updatedBefore / updatedAfter in %s', async (_what, date) => {
    for (const options of [{ updatedBefore: date }, { updatedAfter: date }]) {
      const err = await rejection(a.memory.listSessions(options));
      expect(err).toBeInstanceOf(InvalidManagementOptionsError);
      expect(err.message).toMatch(/1970.*9999/);
    }
  });

  it('accepts the range bounds', async () => {
    const page = await a.memory.listSessions({ updatedAfter: new Date(0), limit: 1000 });
    expect(page.sessions.map((s) => s.conversationId)).toEqual(expect.arrayContaining([`${prefix}-0`]));
  });

  it.each([
    ['idleFor: 1e15 ms', { idleFor: 1e15 }, /100 years/],
    ['idleFor: 5300 weeks', { idleFor: '5300w' }, /100 years/],
    ['maxBatches: 1e7', { idleFor: '1d', maxBatches: 1e7 }, /maxBatches/],
    ['batchSize as a string', { idleFor: '1d', batchSize: '5' }, /batchSize/],
  ])('purgeExpired refuses %s before any I/O', async (_what, options, pattern) => {
    const err = await rejection(a.memory.purgeExpired(options as any));
    expect(err).toBeInstanceOf(InvalidManagementOptionsError);
    expect(err.message).toMatch(pattern);
    expect((await a.memory.listSessions({ limit: 1000 })).sessions.length).toBeGreaterThanOrEqual(3);
  });

  it('purgeExpired accepts 100 years', async () => {
    expect(await a.memory.purgeExpired({ idleFor: '5200w' })).toBe(0);
  });

  it.each([
    ['ttl: 1e15 ms', { ttl: 1e15 }, /ttl\.idleFor.*100 years/],
    ['ttl.every over the 24.8-day timer limit', { ttl: { idleFor: '365d', every: '30d' } }, /ttl\.every/],
    ['ttl.batchSize as a string', { ttl: { idleFor: '1d', batchSize: '5' } }, /ttl\.batchSize/],
    ['a cursorSecret shorter than 16 characters', { cursorSecret: 'short' }, /cursorSecret/],
    ['a cursorSecret that is not a string', { cursorSecret: 42 }, /cursorSecret/],
  ])('refuses %s at startup with SessionMemoryConfigurationError', async (_what, options, pattern) => {
    const err = await rejection(
      startMemory(dialect === 'sqlite' ? 'sqlite::memory:' : url, options as any).then(async (started) => {
        await started.close();
        return 'started';
      }),
    );
    expect(err).toBeInstanceOf(SessionMemoryConfigurationError);
    expect(err.message).toMatch(pattern);
    expect(err.message).toMatch(/^nestjs-session-memory/);
  });
});
