import { InvalidManagementOptionsError } from '../../lib';
import { decodeListCursor, encodeListCursor } from '../../lib/management/list-cursor';

describe('listSessions cursor codec', () => {
  const position = { key: '2026-12-02 10:11:12.123456', id: 'conv "1" é\u{1F600}' };

  it.each(['asc', 'desc'] as const)('round-trips a position in %s order, as URL-safe text', (order) => {
    const cursor = encodeListCursor(order, position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeListCursor(cursor, order)).toEqual(position);
  });

  it('refuses a cursor made for the other order', () => {
    const cursor = encodeListCursor('desc', position);
    expect(() => decodeListCursor(cursor, 'asc')).toThrow(/made for order 'desc'/);
  });

  it.each([
    ['not a string', 42],
    ['not base64url JSON', '%%%'],
    ['a JSON object', Buffer.from('{"a":1}').toString('base64url')],
    ['a wrong-length array', Buffer.from('["d","k"]').toString('base64url')],
    ['a non-string key', Buffer.from('["d",1,"id"]').toString('base64url')],
  ])('refuses %s with a typed error', (_what, cursor) => {
    expect(() => decodeListCursor(cursor, 'desc')).toThrow(InvalidManagementOptionsError);
    expect(() => decodeListCursor(cursor, 'desc')).toThrow(/not one this package produced/);
  });
});
