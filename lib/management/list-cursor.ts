import { InvalidManagementOptionsError } from '../exceptions';

/** A keyset position of `listSessions`: the `updated_at` text and the id of the last row of a page. @internal */
export interface ListPosition {
  key: string;
  id: string;
}

/** The `nextCursor` of a page that ended at `position`, in `order`. @internal */
export function encodeListCursor(order: 'asc' | 'desc', position: ListPosition): string {
  return Buffer.from(JSON.stringify([order === 'desc' ? 'd' : 'a', position.key, position.id]), 'utf8').toString(
    'base64url',
  );
}

/**
 * The position a `cursor` (a `nextCursor` of this package) stands for.
 * @throws InvalidManagementOptionsError when it is not one, or was made for the other order.
 */
export function decodeListCursor(cursor: unknown, order: 'asc' | 'desc'): ListPosition {
  let parsed: unknown;
  try {
    parsed = typeof cursor === 'string' ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[1] !== 'string' || typeof parsed[2] !== 'string') {
    throw new InvalidManagementOptionsError(
      'listSessions cursor is not one this package produced: pass the nextCursor of the previous page unchanged.',
    );
  }
  if (parsed[0] !== (order === 'desc' ? 'd' : 'a')) {
    throw new InvalidManagementOptionsError(
      `listSessions cursor was made for order '${parsed[0] === 'd' ? 'desc' : 'asc'}': keep the same order for every page.`,
    );
  }
  return { key: parsed[1], id: parsed[2] };
}
