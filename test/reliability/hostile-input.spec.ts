import fc from 'fast-check';
import {
  InvalidConversationIdError,
  InvalidSessionItemsError,
  MAX_CONVERSATION_ID_LENGTH,
  SessionItem,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';

/** The item limit these properties probe around (1 MiB: below every server's max_allowed_packet, and fast). */
const ITEM_LIMIT = 1024 * 1024;
import { settle } from '../support/outcomes';

/**
 * Hostile input, property-based (fast-check): every item batch and conversation id either round-trips
 * exactly (deep equality, same key order, same prototypes, after getItems) or is refused with the
 * package's typed error, and then nothing at all is written. Runs on every dialect, modest numRuns.
 */
const RUNS = Number(process.env.SESSION_MEMORY_PROPERTY_RUNS ?? 25);

// ---- arbitraries ----------------------------------------------------------------------------------

const SQLISH = [
  "'); DROP TABLE agent_messages; --",
  "' OR '1'='1",
  '" OR ""="',
  '\\',
  "\\'",
  '$1',
  '?',
  '%',
  '_',
  '/* */',
  '`',
  ';',
  'NULL',
  '\\0',
  '\\u0000',
];
/** One hostile piece of text: lone surrogates, NUL, BOM, bidi override, combining mark, astral, line separators, SQL. */
const hostileUnit = fc.oneof(
  fc.constantFrom(
    '\uD800',
    '\uDBFF',
    '\uDC00',
    '\uDFFF',
    '\u0000',
    '\uFEFF',
    '\u202E',
    '\u0301',
    '\u2028',
    '\u2029',
    '\uFFFF',
    '😀',
    '𝕏',
    '中',
    'é',
  ),
  fc.constantFrom(...SQLISH),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);
const hostileString = fc.string({ unit: hostileUnit, maxLength: 12 });
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '__defineGetter__',
    'then',
    'role',
    'content',
    '',
  ),
  hostileString,
);
/** A finite double other than -0 (JSON has no -0: it would read back as 0). */
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.constantFrom(
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    2 ** 63,
    1e21,
    0.1,
  ),
);

/**
 * JSON text of a value; objects are written as text and later parsed, so that `__proto__` becomes an
 * own key exactly as `JSON.parse` makes it (and as the Agents SDK would receive it from the wire).
 */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString.map((s) => JSON.stringify(s)),
    number.map((n) => JSON.stringify(n)),
    fc.constantFrom('true', 'false', 'null'),
    tie('object'),
    tie('array'),
  ),
  object: fc
    .array(fc.tuple(hostileKey, tie('value')), { maxLength: 5 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  array: fc.array(tie('value'), { maxLength: 5 }).map((values) => `[${values.join(',')}]`),
})).object;

const hostileItem = jsonText.map((text) => JSON.parse(text) as SessionItem);

// ---- exact comparison -------------------------------------------------------------------------------

/** Exact equality: same primitives (Object.is), arrays element-wise, objects with the same own keys in the same order and the same prototype. */
function exactlyEqual(a: unknown, b: unknown, path = '$'): string | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b) ? undefined : `${path}: ${String(a)} !== ${String(b)}`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: prototypes differ`;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return `${path}: length ${a.length} !== ${bb.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = exactlyEqual(a[i], bb[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (JSON.stringify(ka) !== JSON.stringify(kb)) return `${path}: keys ${JSON.stringify(ka)} !== ${JSON.stringify(kb)}`;
  for (const k of ka) {
    const va = Object.getOwnPropertyDescriptor(a, k)!.value;
    const vb = Object.getOwnPropertyDescriptor(b, k)!.value;
    const d = exactlyEqual(va, vb, `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

/** An object with one own enumerable key, exactly as `JSON.parse` defines it (so `__proto__` is an own key). */
function own(key: string, value: unknown): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return o;
}

/** Nests `leaf` `depth` levels deep, alternating objects (under the key `__proto__`) and arrays. */
function nested(depth: number, leaf: unknown): SessionItem {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : own('__proto__', value);
  return { role: 'user', content: 'deep', payload: value } as unknown as SessionItem;
}

class NotPlain {
  x = 1;
}

describeEachDialect('hostile input', (dialect, baseUrl) => {
  let n = 0;
  const m = useMemory(dialect, baseUrl, { limits: { maxItemBytes: ITEM_LIMIT } });

  const counts = async () => {
    const [{ s }] = await m.sql<{ s: number | string }>(`SELECT COUNT(*) AS s FROM ${m.tables.sessions}`);
    const [{ c }] = await m.sql<{ c: number | string }>(`SELECT COUNT(*) AS c FROM ${m.tables.messages}`);
    return { sessions: Number(s), messages: Number(c) };
  };

  /**
   * Adds `items` to a conversation that already holds one item; asserts the exact round trip, or the
   * typed refusal with nothing written. Returns which of the two happened.
   */
  async function addAndCheck(items: unknown, conversationId = `hostile-${++n}`): Promise<'stored' | 'refused'> {
    const session = m.memory.session(conversationId);
    const seed: SessionItem = { role: 'user', content: 'already here' };
    await session.addItems([seed]);
    const before = await counts();
    const outcome = await settle(session.addItems(items as SessionItem[]));
    if (outcome.kind === 'ok') {
      const got = await session.getItems();
      const diff = exactlyEqual(got, [seed, ...(items as SessionItem[])]);
      if (diff) throw new Error(`round trip changed the items: ${diff}`);
      expect(got.length).toBe(1 + (items as unknown[]).length);
      for (const item of got) expect(Object.getPrototypeOf(item)).toBe(Object.prototype);
      return 'stored';
    }
    if (outcome.kind !== 'invalid' || !(outcome.error instanceof InvalidSessionItemsError)) {
      throw new Error(
        `expected a round trip or InvalidSessionItemsError, got ${outcome.kind}: ${String((outcome as { error: unknown }).error)}`,
      );
    }
    expect(await counts()).toEqual(before);
    expect(exactlyEqual(await session.getItems(), [seed])).toBeUndefined();
    return 'refused';
  }

  it('JSON items with hostile keys (__proto__, constructor, ...), unicode edge cases and SQL-looking text round-trip exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileItem, { minLength: 1, maxLength: 4 }), async (items) => {
        // All of these are plain JSON within the limits: refusing them would be a bug.
        expect(await addAndCheck(items)).toBe('stored');
      }),
      { numRuns: RUNS },
    );
    // and nothing leaked onto Object.prototype
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'role')).toBe(false);
    expect(({} as Record<string, unknown>).content).toBeUndefined();
  });

  it('very large items: up to limits.maxItemBytes of JSON round-trip, larger ones are refused and nothing is written', async () => {
    const limit = ITEM_LIMIT;
    await fc.assert(
      fc.asyncProperty(
        // fillers of 1 to 6 JSON bytes each: ASCII, 2-byte, 3-byte, 4-byte (astral), escaped NUL, escaped lone surrogate, escaped quote
        fc.constantFrom('a', 'é', '中', '😀', '\u0000', '\uD800', '"'),
        fc.integer({ min: limit - 64, max: limit + 64 }),
        async (filler, targetBytes) => {
          const fillerBytes = Buffer.byteLength(JSON.stringify(filler), 'utf8') - 2;
          const base = { role: 'user', content: '' };
          const overhead = Buffer.byteLength(JSON.stringify(base), 'utf8');
          const item = {
            ...base,
            content: filler.repeat(Math.max(0, Math.floor((targetBytes - overhead) / fillerBytes))),
          };
          const bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
          const result = await addAndCheck([item]);
          // The documented limit: the item's JSON text in UTF-8 bytes.
          expect(result).toBe(bytes <= limit ? 'stored' : 'refused');
        },
      ),
      { numRuns: Math.min(RUNS, 10) },
    );
  });

  it('deeply nested items: shallow ones round-trip, too deep ones are refused (never a stack overflow), nothing half-written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), hostileString, async (depth, leaf) => {
        const result = await addAndCheck([{ role: 'user', content: 'sibling' }, nested(depth, leaf)]);
        // Documented default: limits.maxDepth = 128.
        if (depth <= 100) expect(result).toBe('stored');
        if (depth >= 200) expect(result).toBe('refused');
      }),
      { numRuns: RUNS },
    );
    // Far beyond what JSON.stringify's recursion survives: still the typed refusal.
    expect(await addAndCheck([nested(200_000, 'bottom')])).toBe('refused');
  });

  it('a batch with one value JSON cannot hold exactly is refused as a whole: the good items are not written either', async () => {
    const cyclic: Record<string, unknown> = { role: 'user', content: 'cycle' };
    cyclic.self = cyclic;
    const bad = fc.constantFrom<[string, () => unknown]>(
      ['NaN', () => ({ role: 'user', content: 'x', n: Number.NaN })],
      ['Infinity', () => ({ role: 'user', content: 'x', n: -Infinity })],
      ['bigint', () => ({ role: 'user', content: 'x', n: BigInt(10) })],
      ['function', () => ({ role: 'user', content: 'x', toJSON: () => 'sneaky' })],
      ['symbol', () => ({ role: 'user', content: 'x', s: Symbol('s') })],
      ['Date', () => ({ role: 'user', content: 'x', at: new Date(0) })],
      ['Map', () => ({ role: 'user', content: 'x', m: new Map([[1, 2]]) })],
      ['class instance', () => ({ role: 'user', content: 'x', o: new NotPlain() })],
      ['cycle', () => cyclic],
      ['undefined in an array', () => ({ role: 'user', content: 'x', a: [1, undefined] })],
      ['array item', () => [{ role: 'user', content: 'x' }]],
      ['null item', () => null],
      ['string item', () => 'hello'],
      ['number item', () => 42],
    );
    await fc.assert(
      fc.asyncProperty(fc.array(hostileItem, { maxLength: 3 }), bad, fc.nat(), async (good, [, makeBad], at) => {
        const items: unknown[] = [...good];
        items.splice(at % (good.length + 1), 0, makeBad());
        expect(await addAndCheck(items)).toBe('refused');
      }),
      { numRuns: RUNS },
    );
    // Not an array at all
    expect(await addAndCheck({ role: 'user', content: 'not wrapped' })).toBe('refused');
    expect(await addAndCheck(JSON.parse('{"length": 1, "0": {"role": "user", "content": "array-like"}}'))).toBe(
      'refused',
    );
  });

  describe('conversation ids', () => {
    const hostileId = fc.oneof(
      fc.string({ unit: hostileUnit, maxLength: 40 }),
      fc.constantFrom(...SQLISH),
      fc
        .integer({ min: MAX_CONVERSATION_ID_LENGTH - 3, max: MAX_CONVERSATION_ID_LENGTH + 3 })
        .map((len) => 'x'.repeat(len)),
      fc.integer({ min: 126, max: 129 }).map((pairs) => '😀'.repeat(pairs)), // 2 UTF-16 units each
    );
    /** The documented rules: a non-empty string of at most 255 UTF-16 units, with no NUL and no lone surrogate. */
    const documentedValid = (id: string) =>
      id.length > 0 &&
      id.length <= MAX_CONVERSATION_ID_LENGTH &&
      !id.includes('\u0000') &&
      (id as unknown as { isWellFormed(): boolean }).isWellFormed();

    it('each id is stored exactly as given, or refused with InvalidConversationIdError and nothing written', async () => {
      await fc.assert(
        fc.asyncProperty(hostileId, async (rawId) => {
          const id = `${rawId}`; // hostile ids are used as given (no prefix: length limits are part of the test)
          const before = await counts();
          const refused = await settle(Promise.resolve().then(() => m.memory.session(id)));
          if (refused.kind === 'invalid') {
            expect(refused.error).toBeInstanceOf(InvalidConversationIdError);
            expect(documentedValid(id)).toBe(false);
            expect((await settle(m.memory.deleteSession(id))).kind).toBe('invalid');
            expect(await counts()).toEqual(before);
            return;
          }
          expect(refused.kind).toBe('ok');
          expect(documentedValid(id)).toBe(true);
          const session = m.memory.session(id);
          await session.clearSession(); // the same id may come up twice in one run
          const item: SessionItem = { role: 'user', content: `for ${JSON.stringify(id)}` };
          await session.addItems([item]);
          expect(await session.getSessionId()).toBe(id);
          expect(await session.getItems()).toEqual([item]);
          // Stored exactly: the row's session_id reads back as the same string.
          const rows = await m.sql<{ session_id: string }>(
            `SELECT session_id FROM ${m.tables.sessions} WHERE session_id = ?`,
            [id],
          );
          expect(rows.map((r) => r.session_id)).toEqual([id]);
          expect(await m.memory.deleteSession(id)).toBe(true);
          expect(await session.getItems()).toEqual([]);
        }),
        { numRuns: RUNS * 2 },
      );
    });

    it('ids that differ only by case, trailing space or normalisation are different conversations', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), async (base) => {
          const stem = `v${++n}-${base}é`;
          const variants = [
            ...new Set([
              stem,
              stem.toUpperCase(),
              `${stem} `,
              `${stem}  `,
              stem.normalize('NFD'),
              stem.normalize('NFC'),
            ]),
          ].filter((v) => v.length <= MAX_CONVERSATION_ID_LENGTH);
          for (const v of variants) await m.memory.session(v).addItems([{ role: 'user', content: v }]);
          for (const v of variants)
            expect(await m.memory.session(v).getItems()).toEqual([{ role: 'user', content: v }]);
        }),
        { numRuns: Math.min(RUNS, 10) },
      );
    });
  });
});
