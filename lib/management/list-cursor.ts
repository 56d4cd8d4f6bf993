import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'crypto';
import { InvalidManagementOptionsError } from '../exceptions';
import { MAX_CONVERSATION_ID_LENGTH } from '../validation';

/** A keyset position of `listSessions`: the `updated_at` text and the id of the last row of a page. @internal */
export interface ListPosition {
  key: string;
  id: string;
}

/** Bytes of the HMAC-SHA256 tag in front of a cursor's payload. */
const TAG_BYTES = 32;
/** Longest cursor text decoded at all (a genuine one is far shorter: a timestamp and a 255-unit id). */
const MAX_CURSOR_LENGTH = 4096;
/** The `updated_at` text the dialects produce: `YYYY-MM-DD HH:MM:SS[.ffffff]` (SQLite: as stored). */
const TIME_KEY = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}(:?\d{2})?)?$/;
/** What the tag is computed over besides the payload: a cursor of another purpose or version never verifies. */
const DOMAIN = 'nestjs-session-memory/list-cursor/v1\n';

let processKey: Buffer | undefined;

/**
 * The key that signs `listSessions` cursors: derived (HKDF-SHA256) from `cursorSecret` when given, so
 * that every instance given the same secret accepts the others' cursors; otherwise one random key per
 * process, made the first time a module starts (cursors then verify only in the process that made them,
 * until it restarts). @internal
 */
export function listCursorKey(secret?: string): Buffer {
  if (secret !== undefined) {
    return Buffer.from(hkdfSync('sha256', secret, 'nestjs-session-memory', 'list-cursor/v1', 32));
  }
  processKey ??= randomBytes(32);
  return processKey;
}

function tag(key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(DOMAIN).update(payload).digest();
}

/** The `nextCursor` of a page that ended at `position`, in `order`, signed with `key`. @internal */
export function encodeListCursor(key: Buffer, order: 'asc' | 'desc', position: ListPosition): string {
  const payload = Buffer.from(JSON.stringify([order === 'desc' ? 'd' : 'a', position.key, position.id]), 'utf8');
  return Buffer.concat([tag(key, payload), payload]).toString('base64url');
}

const NOT_OURS =
  'listSessions cursor is not one this package produced (or was made by an instance with another cursorSecret, or before a restart without one): pass the nextCursor of the previous page unchanged, or start again without a cursor.';

/**
 * The position a `cursor` (a `nextCursor` of this package, signed with `key`) stands for. The cursor
 * is verified before anything in it is read, and the messages never quote it.
 * @throws InvalidManagementOptionsError when it is not one, was tampered with, or was made for the other order.
 * @internal
 */
export function decodeListCursor(key: Buffer, cursor: unknown, order: 'asc' | 'desc'): ListPosition {
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new InvalidManagementOptionsError(NOT_OURS);
  }
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length <= TAG_BYTES || bytes.toString('base64url') !== cursor) {
    throw new InvalidManagementOptionsError(NOT_OURS);
  }
  const payload = bytes.subarray(TAG_BYTES);
  if (!timingSafeEqual(bytes.subarray(0, TAG_BYTES), tag(key, payload))) {
    throw new InvalidManagementOptionsError(NOT_OURS);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  // Signed by us, so well-formed; checked anyway, so that a leaked key cannot carry anything odd to the SQL.
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    (parsed[0] !== 'a' && parsed[0] !== 'd') ||
    typeof parsed[1] !== 'string' ||
    !TIME_KEY.test(parsed[1]) ||
    !isConversationIdText(parsed[2])
  ) {
    throw new InvalidManagementOptionsError(NOT_OURS);
  }
  if (parsed[0] !== (order === 'desc' ? 'd' : 'a')) {
    throw new InvalidManagementOptionsError(
      `listSessions cursor was made for order '${parsed[0] === 'd' ? 'desc' : 'asc'}': keep the same order for every page.`,
    );
  }
  return { key: parsed[1], id: parsed[2] };
}

function isConversationIdText(id: unknown): id is string {
  return (
    typeof id === 'string' &&
    id.length > 0 &&
    id.length <= MAX_CONVERSATION_ID_LENGTH &&
    !id.includes('\u0000') &&
    id.isWellFormed()
  );
}
