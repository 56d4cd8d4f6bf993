import { InvalidSessionItemsError } from '../../lib';
import { DEFAULT_ITEM_LIMITS, encodeItems, isJsonObject, parseJsonObject } from '../../lib/validation';

const limits = { ...DEFAULT_ITEM_LIMITS };

describe('encodeItems', () => {
  it('returns the JSON text of each item, leaving undefined properties out as JSON.stringify does', () => {
    const items = [
      { role: 'user', content: 'hi' },
      { type: 'function_call', arguments: '{}', extra: undefined },
    ];
    expect(encodeItems(items, limits)).toEqual([
      '{"role":"user","content":"hi"}',
      '{"type":"function_call","arguments":"{}"}',
    ]);
  });

  it.each([
    ['not an array', { role: 'user' }, /addItems expects an array of items, got an object/],
    ['an item that is a string', ['hi'], /^nestjs-session-memory: items\[0\] must be a plain object/],
    ['an item that is an array', [[]], /^nestjs-session-memory: items\[0\] must be a plain object/],
    ['NaN', [{ n: NaN }], /^nestjs-session-memory: items\[0\]\.n is NaN/],
    ['a bigint', [{ n: 1n }], /^nestjs-session-memory: items\[0\]\.n is a bigint/],
    ['a function', [{ f: () => 1 }], /^nestjs-session-memory: items\[0\]\.f is a function/],
    ['a Date', [{ at: new Date(0) }], /^nestjs-session-memory: items\[0\]\.at is an instance of Date/],
    ['an undefined array element', [{ a: [1, undefined] }], /^nestjs-session-memory: items\[0\]\.a\[1\] is undefined/],
  ])('refuses %s', (_what, items, message) => {
    expect(() => encodeItems(items, limits)).toThrow(InvalidSessionItemsError);
    expect(() => encodeItems(items, limits)).toThrow(message);
  });

  it('refuses a cycle, but not the same object twice side by side', () => {
    const shared = { x: 1 };
    expect(encodeItems([{ a: shared, b: shared }], limits)).toEqual(['{"a":{"x":1},"b":{"x":1}}']);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeItems([cyclic], limits)).toThrow(/refers back to one of its own parents/);
  });

  it('counts bytes in UTF-8, at the limit and one past it', () => {
    const small = { ...limits, maxItemBytes: 16 };
    // {"t":"éé"} is 10 characters and 12 bytes
    expect(encodeItems([{ t: 'éé' }], { ...small, maxItemBytes: 12 })).toHaveLength(1);
    expect(() => encodeItems([{ t: 'éé' }], { ...small, maxItemBytes: 11 })).toThrow(/is 12 bytes of JSON; at most 11/);
  });

  it('limits the depth and the batch size', () => {
    expect(() => encodeItems([{ a: { b: { c: 1 } } }], { ...limits, maxDepth: 2 })).toThrow(
      /nested deeper than 2 levels/,
    );
    expect(() => encodeItems([{}, {}, {}], { ...limits, maxItemsPerCall: 2 })).toThrow(/got 3 items; at most 2/);
  });

  it('accepts objects with a null prototype', () => {
    const bare = Object.assign(Object.create(null), { role: 'user' });
    expect(encodeItems([bare], limits)).toEqual(['{"role":"user"}']);
  });
});

describe('encodeItems error paths', () => {
  it('quote object keys, so a key with a newline or quote cannot forge a log line', () => {
    const item = { role: 'user', content: 'x', nested: { 'evil\n2026-12-03 ERROR forged': () => 1 } };
    let message = '';
    try {
      encodeItems([item], DEFAULT_ITEM_LIMITS);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/items\[0\]\.nested\["evil\\n2026-12-03 ERROR forged"\] is a function/);
    expect(message).not.toContain('\n');
  });

  it('keep plain identifier keys readable', () => {
    expect(() => encodeItems([{ a: { b: 1n } }], DEFAULT_ITEM_LIMITS)).toThrow(/items\[0\]\.a\.b is a bigint/);
  });
});

describe('isJsonObject / parseJsonObject', () => {
  it.each([
    ['{"a":1}', { a: 1 }],
    ['{}', {}],
    ['[]', undefined],
    ['null', undefined],
    ['"text"', undefined],
    ['{not json', undefined],
    ['', undefined],
  ])('%p parses to %p', (text, expected) => {
    expect(parseJsonObject(text)).toEqual(expected);
  });

  it('tells objects from arrays and null', () => {
    expect([{}, [], null, 'x', 1].map(isJsonObject)).toEqual([true, false, false, false, false]);
  });
});
