import { InvalidManagementOptionsError, InvalidSessionInputError, SessionMemoryError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { user } from '../support/items';

/** The largest signed 64-bit integer: the highest id a row can have on any dialect. */
const MAX = '9223372036854775807';
/** Decimal texts just above the 64-bit range, and far above it. */
const ABOVE = [
  '9223372036854775808',
  '9223372036854775817',
  '9300000000000000000',
  '9999999999999999999',
  '18446744073709551616',
  '99999999999999999999',
];

describeEachDialect('id-like inputs: range-checked before any I/O', (dialect, baseUrl) => {
  let n = 0;
  const id = (name: string) => `ids-${name}-${++n}-${Date.now()}`;

  const m = useMemory(dialect, baseUrl, { encryption: { keys: 'id range test key' } });

  it('getItemsPage refuses a `before` above the 64-bit range with InvalidSessionInputError, nothing raw', async () => {
    const s = m.memory.session(id('page'));
    await s.addItems([user('a'), user('b')]);
    for (const before of ABOVE) {
      const err = await s.getItemsPage({ limit: 10, before }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidSessionInputError);
      expect((err as Error).message).toMatch(/^nestjs-session-memory: getItemsPage before /);
      expect((err as Error).message).not.toMatch(/22003|bigint|out of range/i);
    }
  });

  it('getItemsPage accepts the largest id itself: an empty page on a new conversation, the newest items on a used one', async () => {
    expect(await m.memory.session(id('empty')).getItemsPage({ limit: 10, before: MAX })).toEqual({ items: [] });
    const s = m.memory.session(id('used'));
    await s.addItems([user('a'), user('b'), user('c')]);
    expect(await s.getItemsPage({ limit: 2, before: MAX })).toEqual(await s.getItemsPage({ limit: 2 }));
  });

  it('getItemsPage still refuses what was refused before (zero, leading zeros, signs, non-strings)', async () => {
    const s = m.memory.session(id('shape'));
    for (const before of ['0', '01', '-1', '+1', '1.0', '1e3', ' 1', '', 12 as unknown as string]) {
      await expect(s.getItemsPage({ limit: 10, before })).rejects.toBeInstanceOf(InvalidSessionInputError);
    }
  });

  it('reencrypt refuses a cursor above the 64-bit range with InvalidManagementOptionsError, nothing raw', async () => {
    await m.memory.session(id('re')).addItems([user('a')]);
    for (const cursor of [...ABOVE, ...ABOVE.map((c) => `branches:${c}`), 'branches:', 'branches:-1', 'other:1']) {
      const err = await m.memory.reencrypt({ cursor }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidManagementOptionsError);
      expect(err).toBeInstanceOf(SessionMemoryError);
      expect((err as Error).message).toMatch(/^nestjs-session-memory: reencrypt cursor /);
      expect((err as Error).message).not.toMatch(/22003|out of range/i);
    }
  });

  it('reencrypt accepts the largest id as a cursor (nothing after it) and 0 (from the start)', async () => {
    // Main's rows done: the branch lines' rows come next (a table of their own), then the end.
    expect(await m.memory.reencrypt({ cursor: MAX })).toEqual({
      scanned: 0,
      updated: 0,
      unreadable: 0,
      nextCursor: 'branches:0',
    });
    expect(await m.memory.reencrypt({ cursor: `branches:${MAX}` })).toEqual({ scanned: 0, updated: 0, unreadable: 0 });
    const fromStart = await m.memory.reencrypt({ cursor: '0', batchSize: 10_000 });
    expect(fromStart.scanned).toBeGreaterThan(0);
  });
});
