import { InvalidSessionMetadataError, SessionItem } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { TestMemory, startMemory, urlFor } from '../support/memory';

/**
 * Input that one dialect refuses and the others store must be refused the same way everywhere,
 * with the package's typed error and before any I/O (hostile security review findings).
 */
const msg = (text: string): SessionItem => ({ role: 'user', content: text });
/** No raw NUL, no lone surrogate: the message can be logged as it is. */
const isLogSafe = (text: string) => !text.includes('\u0000') && text.isWellFormed();

describeEachDialect('hardening: metadata text every dialect can store', (dialect, baseUrl) => {
  let m: TestMemory;
  let n = 0;
  const id = (name: string) => `${name}-${++n}-${Date.now()}`;
  const rows = async (table: string, sessionId: string) =>
    Number((await m.sql(`SELECT COUNT(*) AS n FROM ${table} WHERE session_id = ?`, [sessionId]))[0].n);

  beforeAll(async () => {
    m = await startMemory(urlFor(dialect, baseUrl));
  });
  afterAll(async () => {
    await m?.close();
  });

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
    await expect(s.addItems([msg('kept out')], { metadata: bad })).rejects.toBeInstanceOf(InvalidSessionMetadataError);
    expect(await rows(m.tables.messages, s.conversationId)).toBe(0);
    expect(await rows(m.tables.sessions, s.conversationId)).toBe(0);
  });

  it('items themselves may still hold NUL (they are stored as text, not jsonb)', async () => {
    const s = m.memory.session(id('nul-item'));
    await s.addItems([msg('a\u0000b')], { metadata: { ok: 'fine' } });
    expect(await s.getItems()).toEqual([msg('a\u0000b')]);
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
