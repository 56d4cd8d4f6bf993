import { InvalidManagementOptionsError } from '../exceptions';
import { withoutPrefix } from '../exceptions/message-prefix';
import type { SessionMemoryContext } from '../session-memory.context';
import type { OwnerCheck } from '../ownership/owner-check';
import type { ListedSessionRow, OwnerFilter, SessionListQuery } from '../storage/session-store';
import { decodeListCursor, encodeListCursor } from './list-cursor';
import type { ListSessionsOptions, SessionPage, SessionSummary } from '../interfaces';
import { decodeMetadata, metadataConditions } from './session-metadata';
import { assertOwnerId } from '../validation';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

/** One page of conversations (`SessionMemoryService.listSessions`). @internal */
export async function listSessions(
  context: SessionMemoryContext,
  options: ListSessionsOptions = {},
): Promise<SessionPage> {
  const query = toQuery(options, context.cursorKey);
  const { store, gate, optionalTables } = context;
  if (query.metadata.length > 0) await optionalTables.require('metadata');
  if (query.owner !== undefined) await optionalTables.require('owners');
  // One row more than the page: whether there is a next page.
  const rows = await gate.guard('listSessions', () =>
    store.listSessions({ ...query, limit: query.limit + 1 }, optionalTables.current),
  );
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    sessions: page.map((row) => toSummary(row, query.includeItemCount)),
    nextCursor:
      rows.length > query.limit && last
        ? encodeListCursor(context.cursorKey, query.order, { key: String(last.time_key), id: last.session_id })
        : undefined,
  };
}

/**
 * One conversation's summary with its item count, or `undefined` when it does not exist. With
 * `check`, the statement carries the caller's ownership (see `OwnerCheck.read`). @internal
 */
export async function getSessionSummary(
  context: SessionMemoryContext,
  conversationId: string,
  check?: OwnerCheck,
): Promise<SessionSummary | undefined> {
  const { store, gate, optionalTables } = context;
  const read = async (visibleTo?: OwnerFilter) => {
    const query: SessionListQuery = {
      limit: 1,
      order: 'desc',
      includeItemCount: true,
      metadata: [],
      sessionId: conversationId,
      visibleTo,
    };
    const [row] = await gate.guard('getSession', () => store.listSessions(query, optionalTables.current));
    return row;
  };
  const row = check ? await check.read(read, (found) => found === undefined) : await read();
  return row && toSummary(row, true);
}

function toQuery(options: ListSessionsOptions, cursorKey: Buffer): SessionListQuery {
  if (options === null || typeof options !== 'object')
    throw new InvalidManagementOptionsError('listSessions expects an options object.');
  const limit = options.limit ?? DEFAULT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new InvalidManagementOptionsError(
      `listSessions limit must be a whole number from 1 to ${MAX_PAGE}, got ${String(limit)}.`,
    );
  }
  const order = options.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw new InvalidManagementOptionsError(
      `listSessions order must be 'asc' or 'desc', got ${JSON.stringify(order)}.`,
    );
  }
  const query: SessionListQuery = {
    limit,
    order,
    includeItemCount: options.includeItemCount === true,
    metadata: metadataConditions(options.metadata),
  };
  if (options.owner !== undefined) {
    try {
      assertOwnerId(options.owner);
    } catch (err) {
      throw new InvalidManagementOptionsError(`listSessions owner: ${withoutPrefix((err as Error).message)}`);
    }
    query.owner = options.owner;
  }
  if (options.cursor !== undefined) query.after = decodeListCursor(cursorKey, options.cursor, order);
  if (options.updatedBefore !== undefined) query.updatedBeforeMs = toEpoch(options.updatedBefore, 'updatedBefore');
  if (options.updatedAfter !== undefined) query.updatedAfterMs = toEpoch(options.updatedAfter, 'updatedAfter');
  return query;
}

function toSummary(row: ListedSessionRow, withCount: boolean): SessionSummary {
  const summary: SessionSummary = {
    conversationId: row.session_id,
    createdAt: new Date(Math.round(Number(row.created_ms))),
    updatedAt: new Date(Math.round(Number(row.updated_ms))),
  };
  if (withCount) summary.itemCount = Number(row.item_count ?? 0);
  const metadata = decodeMetadata(row.metadata);
  if (metadata) summary.metadata = metadata;
  return summary;
}

/** The instants every dialect compares a timestamp column with: 1970-01-01 to the end of 9999 (UTC). */
const EARLIEST_MS = 0;
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function toEpoch(value: unknown, what: string): number {
  const ms = value instanceof Date ? value.getTime() : NaN;
  if (!Number.isFinite(ms) || ms < EARLIEST_MS || ms > LATEST_MS) {
    throw new InvalidManagementOptionsError(
      `listSessions ${what} must be a valid Date from 1970-01-01 to 9999-12-31 (UTC), the range every database compares; ` +
        `got ${Number.isFinite(ms) ? new Date(ms).toISOString() : value instanceof Date ? 'an invalid Date' : 'no Date'}. Leave it out to not bound the listing on that side.`,
    );
  }
  return ms;
}
