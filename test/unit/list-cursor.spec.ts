import { InvalidManagementOptionsError } from '../../lib';
import { decodeListCursor, encodeListCursor, listCursorKey } from '../../lib/management/list-cursor';

describe('listSessions cursor codec', () => {
  const key = listCursorKey('a secret of sixteen or more characters');
  const position = { key: '2026-12-02 10:11:12.123456', id: 'conv "1" é\u{1F600}' };

  it.each(['asc', 'desc'] as const)('round-trips a position in %s order, as URL-safe text', (order) => {
    const cursor = encodeListCursor(key, order, position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeListCursor(key, cursor, order)).toEqual(position);
  });

  it('refuses a cursor made for the other order', () => {
    const cursor = encodeListCursor(key, 'desc', position);
    expect(() => decodeListCursor(key, cursor, 'asc')).toThrow(/made for order 'desc'/);
  });

  it('the same secret gives the same key (instances exchange cursors); another secret or none does not', () => {
    const cursor = encodeListCursor(key, 'desc', position);
    expect(decodeListCursor(listCursorKey('a secret of sixteen or more characters'), cursor, 'desc')).toEqual(position);
    expect(() => decodeListCursor(listCursorKey('another secret of sixteen chars'), cursor, 'desc')).toThrow(
      InvalidManagementOptionsError,
    );
    expect(() => decodeListCursor(listCursorKey(), cursor, 'desc')).toThrow(InvalidManagementOptionsError);
    expect(listCursorKey()).toBe(listCursorKey()); // one random key per process
  });

  it('refuses every single-bit change of a genuine cursor', () => {
    const bytes = Buffer.from(encodeListCursor(key, 'desc', position), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] ^= 1 << (i % 8);
      expect(() => decodeListCursor(key, tampered.toString('base64url'), 'desc')).toThrow(
        /not one this package produced/,
      );
    }
  });

  it('refuses a signed payload whose fields are out of range (a leaked key carries nothing odd to the SQL)', () => {
    for (const bad of [
      { key: '2026-12-02 10:11:12\n; DROP', id: 'x' },
      { key: 'now', id: 'x' },
      { key: position.key, id: '' },
      { key: position.key, id: 'a\u0000' },
      { key: position.key, id: '\ud800' },
      { key: position.key, id: 'x'.repeat(256) },
    ]) {
      expect(() => decodeListCursor(key, encodeListCursor(key, 'desc', bad), 'desc')).toThrow(
        InvalidManagementOptionsError,
      );
    }
  });

  it.each([
    ['not a string', 42],
    ['not base64url', '%%%'],
    ['unsigned JSON (the old format)', Buffer.from('["d","2026-01-01 00:00:00","id"]').toString('base64url')],
    ['too long', 'A'.repeat(5000)],
    ['empty', ''],
  ])('refuses %s with a typed error that does not quote it', (_what, cursor) => {
    expect(() => decodeListCursor(key, cursor, 'desc')).toThrow(InvalidManagementOptionsError);
    expect(() => decodeListCursor(key, cursor, 'desc')).toThrow(/not one this package produced/);
    try {
      decodeListCursor(key, cursor, 'desc');
    } catch (err) {
      if (typeof cursor === 'string' && cursor.length > 3) expect((err as Error).message).not.toContain(cursor);
    }
  });
});
