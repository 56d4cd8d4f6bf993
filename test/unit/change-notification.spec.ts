import { MAX_NOTIFICATION_CHARS, parseChangeNotification } from '../../lib/changes/postgres-change-relay';

const parse = (payload: unknown, max = 100) => parseChangeNotification(payload as string, max);

describe('parseChangeNotification: every field checked and bounded', () => {
  it('accepts what instances send', () => {
    expect(parse(JSON.stringify({ i: 'AbC-_1', c: 'conv', k: 'a', n: 3 }))).toEqual({
      ok: true,
      instance: 'AbC-_1',
      change: { conversationId: 'conv', type: 'added', count: 3 },
    });
    expect(parse(JSON.stringify({ i: 'x', c: 'conv', k: 'p', n: 1 }))).toMatchObject({
      ok: true,
      change: { type: 'popped' },
    });
    expect(parse(JSON.stringify({ i: 'x', c: 'conv', k: 'c', n: 0 }))).toMatchObject({
      ok: true,
      change: { type: 'cleared' },
    });
    // Unknown fields are ignored (a later version may add some).
    expect(parse(JSON.stringify({ i: 'x', c: 'conv', k: 'c', n: 0, z: [1] }))).toMatchObject({ ok: true });
    // The longest conversation id, every character escaped, fits.
    const id = '\u0001'.repeat(255);
    expect(parse(JSON.stringify({ i: 'x'.repeat(32), c: id, k: 'a', n: 100 }))).toMatchObject({ ok: true });
  });

  it.each([
    ['not a string', 42],
    ['too long', JSON.stringify({ i: 'x', c: 'c', k: 'c', n: 0, pad: 'x'.repeat(MAX_NOTIFICATION_CHARS) })],
    ['not JSON', '{"i":'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', '7'],
    ['no instance id', JSON.stringify({ c: 'c', k: 'c', n: 0 })],
    ['an instance id with other characters', JSON.stringify({ i: 'a b', c: 'c', k: 'c', n: 0 })],
    ['an unknown kind', JSON.stringify({ i: 'x', c: 'c', k: 'added', n: 1 })],
    ['an empty conversation id', JSON.stringify({ i: 'x', c: '', k: 'c', n: 0 })],
    ['a conversation id with NUL', JSON.stringify({ i: 'x', c: 'a\u0000', k: 'c', n: 0 })],
    ['a lone surrogate', JSON.stringify({ i: 'x', c: '\ud800', k: 'c', n: 0 })],
    ['a too long conversation id', JSON.stringify({ i: 'x', c: 'x'.repeat(256), k: 'c', n: 0 })],
    ['a count over the bound', JSON.stringify({ i: 'x', c: 'c', k: 'a', n: 101 })],
    ['a huge count', JSON.stringify({ i: 'x', c: 'c', k: 'p', n: 2_000_000 })],
    ['a fractional count', JSON.stringify({ i: 'x', c: 'c', k: 'a', n: 1.5 })],
    ['a negative count', JSON.stringify({ i: 'x', c: 'c', k: 'a', n: -1 })],
    ['a zero count for added', JSON.stringify({ i: 'x', c: 'c', k: 'a', n: 0 })],
    ['a zero count for popped', JSON.stringify({ i: 'x', c: 'c', k: 'p', n: 0 })],
    ['a count as text', JSON.stringify({ i: 'x', c: 'c', k: 'a', n: '1' })],
    ['no count', JSON.stringify({ i: 'x', c: 'c', k: 'a' })],
    ['an exponent beyond safe integers', '{"i":"x","c":"c","k":"a","n":1e300}'],
  ])('refuses %s, saying why', (_what, payload) => {
    const parsed = parse(payload);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok === false && parsed.reason.length).toBeGreaterThan(0);
  });
});
