import { createHash, createHmac, timingSafeEqual } from 'crypto';
import { InvalidManagementOptionsError } from '../exceptions';
import { isRowIdText } from '../validation/row-id';
import { MAX_CONVERSATION_ID_LENGTH } from '../validation';

/**
 * Where a search page ended: the last hit's score (an integer as text), row id, conversation and
 * branch. The next page holds the hits strictly after it in (score desc, row id desc, conversation
 * desc, branch desc) order. @internal
 */
export interface SearchPosition {
  score: string;
  itemId: string;
  conversationId: string;
  branchId: string;
}

const TAG_BYTES = 32;
const MAX_CURSOR_LENGTH = 4096;
const DOMAIN = 'nestjs-session-memory/search-cursor/v1\n';
const NOT_OURS =
  'searchConversations cursor is not the nextCursor of a previous page of this same search (query, owner, since, until) made by an instance with this cursorSecret: pass it unchanged, or start again without a cursor.';

/** What a cursor is bound to: the search it pages through (so it cannot be replayed on another). @internal */
export function searchIdentity(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

function tag(key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(DOMAIN).update(payload).digest();
}

/** The signed `nextCursor` of a page ending at `position` of the search `identity`. @internal */
export function encodeSearchCursor(key: Buffer, identity: string, position: SearchPosition): string {
  const { score, itemId, conversationId, branchId } = position;
  const payload = Buffer.from(JSON.stringify([identity, score, itemId, conversationId, branchId]), 'utf8');
  return Buffer.concat([tag(key, payload), payload]).toString('base64url');
}

/**
 * The position of a cursor made by `encodeSearchCursor` for the search `identity`, verified before
 * anything in it is read.
 * @throws InvalidManagementOptionsError for anything else.
 * @internal
 */
export function decodeSearchCursor(key: Buffer, cursor: unknown, identity: string): SearchPosition {
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw new InvalidManagementOptionsError(NOT_OURS);
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length <= TAG_BYTES || bytes.toString('base64url') !== cursor)
    throw new InvalidManagementOptionsError(NOT_OURS);
  const payload = bytes.subarray(TAG_BYTES);
  if (!timingSafeEqual(bytes.subarray(0, TAG_BYTES), tag(key, payload)))
    throw new InvalidManagementOptionsError(NOT_OURS);
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const p = parsed as unknown[];
  if (
    !Array.isArray(p) ||
    p.length !== 5 ||
    p[0] !== identity ||
    typeof p[1] !== 'string' ||
    !/^-?\d{1,18}$/.test(p[1]) ||
    !isRowIdText(p[2]) ||
    typeof p[3] !== 'string' ||
    p[3].length === 0 ||
    p[3].length > MAX_CONVERSATION_ID_LENGTH ||
    typeof p[4] !== 'string' ||
    !/^[A-Za-z0-9_-]{1,64}$/.test(p[4])
  ) {
    throw new InvalidManagementOptionsError(NOT_OURS);
  }
  return { score: p[1], itemId: p[2], conversationId: p[3], branchId: p[4] };
}
