import { InvalidManagementOptionsError, SessionMemoryConfigurationError } from '../exceptions';
import { withoutPrefix } from '../exceptions/message-prefix';
import type { SearchConversationsOptions, SearchHit, SearchPage } from '../interfaces/search.interface';
import type { SessionMemoryContext } from '../session-memory.context';
import type { SearchFilter } from '../storage/search/search-statements';
import { TurnCountRow, TurnQuestion, turnOf } from '../storage/search/turn-statements';
import { assertOwnerId } from '../validation';
import type { SearchIndex } from './search-index';
import { decodeSearchCursor, encodeSearchCursor, searchIdentity } from './search-cursor';
import { parseSearchQuery } from './search-query';
import { snippetOf } from './snippet';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const EARLIEST_MS = 0;
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A stored search hit row. */
interface HitRow {
  session_id: string;
  branch_id: string;
  item_id: number | string;
  role: string;
  body: string;
  created_ms: number | string;
  score: number | string;
}

/** The search index of a module started with the `search` option, or a typed error saying how to turn it on. @internal */
export function requireSearch(context: SessionMemoryContext, operation: string): SearchIndex {
  if (context.search) return context.search;
  throw new SessionMemoryConfigurationError(
    `${operation} needs the search option: start SessionMemoryModule with search: true (docs/search.md).`,
  );
}

/** `SessionMemoryService.searchConversations`: one page of hits, best first. @internal */
export async function searchConversations(
  context: SessionMemoryContext,
  options: SearchConversationsOptions,
): Promise<SearchPage> {
  const search = requireSearch(context, 'searchConversations');
  const filter = toFilter(options, context.cursorKey);
  if (filter.owner !== undefined) await context.optionalTables.require('owners');
  // This process's writes are searchable once their syncs have run.
  await search.settled();
  const { statements, query } = search.storage;
  const branches = context.optionalTables.current.branches;
  const statement = statements.search({ ...filter, limit: filter.limit + 1, branches });
  const rows = await context.gate.guard('searchConversations', () => query<HitRow>(statement.sql, statement.params));
  const page = rows.slice(0, filter.limit);
  const turns = await context.gate.guard('searchConversations', () => turnsOf(search, page));
  const hits = page.map((row, i): SearchHit => {
    const { snippet, highlights } = snippetOf(String(row.body), filter.query);
    const hit: SearchHit = {
      conversationId: row.session_id,
      itemId: String(row.item_id),
      branchId: row.branch_id,
      role: row.role,
      snippet,
      highlights,
      timestamp: new Date(Math.round(Number(row.created_ms))),
    };
    if (turns[i] !== undefined) hit.turn = turns[i];
    return hit;
  });
  const last = page[page.length - 1];
  return {
    hits,
    nextCursor:
      rows.length > filter.limit && last
        ? encodeSearchCursor(context.cursorKey, identityOf(options), {
            score: String(BigInt(Math.round(Number(last.score)))),
            itemId: String(last.item_id),
            conversationId: last.session_id,
            branchId: last.branch_id,
          })
        : undefined,
  };
}

/**
 * The turn of each hit, counted now from the live rows of its line (lib/storage/search/turn-statements.ts):
 * one statement for the page, or on Citus one per conversation of the page (each routed to its shard,
 * run together). Undefined where not every row up to the hit is indexed yet.
 */
async function turnsOf(search: SearchIndex, page: HitRow[]): Promise<(number | undefined)[]> {
  if (page.length === 0) return [];
  const { turns, statements, query } = search.storage;
  const questions: TurnQuestion[] = page.map((r) => ({
    sessionId: r.session_id,
    branchId: r.branch_id,
    itemId: String(r.item_id),
  }));
  const groups = new Map<string, number[]>();
  if (statements.pinned) {
    questions.forEach((q, k) => groups.set(q.sessionId, [...(groups.get(q.sessionId) ?? []), k]));
  } else
    groups.set(
      '',
      questions.map((_, k) => k),
    );
  const answers = new Map<number, TurnCountRow>();
  await Promise.all(
    [...groups.values()].map(async (ks) => {
      const statement = turns.counts(ks.map((k) => questions[k]));
      for (const row of await query<TurnCountRow>(statement.sql, statement.params)) answers.set(ks[Number(row.k)], row);
    }),
  );
  return questions.map((_, k) => turnOf(answers.get(k)));
}

function identityOf(options: SearchConversationsOptions): string {
  return searchIdentity([
    options.query,
    options.owner ?? null,
    options.since?.getTime() ?? null,
    options.until?.getTime() ?? null,
  ]);
}

function toFilter(options: SearchConversationsOptions, cursorKey: Buffer): SearchFilter {
  if (options === null || typeof options !== 'object')
    throw new InvalidManagementOptionsError('searchConversations expects an options object { query, ... }.');
  const query = parseSearchQuery(options.query);
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new InvalidManagementOptionsError(
      `searchConversations limit must be a whole number from 1 to ${MAX_LIMIT}, got ${String(limit)}.`,
    );
  }
  const filter: SearchFilter = { query, limit };
  if (options.owner !== undefined) {
    try {
      assertOwnerId(options.owner);
    } catch (err) {
      throw new InvalidManagementOptionsError(`searchConversations owner: ${withoutPrefix((err as Error).message)}`);
    }
    filter.owner = options.owner;
  }
  if (options.since !== undefined) filter.sinceMs = toEpoch(options.since, 'since');
  if (options.until !== undefined) filter.untilMs = toEpoch(options.until, 'until');
  if (options.cursor !== undefined) filter.after = decodeSearchCursor(cursorKey, options.cursor, identityOf(options));
  return filter;
}

function toEpoch(value: unknown, what: string): number {
  const ms = value instanceof Date ? value.getTime() : NaN;
  if (!Number.isFinite(ms) || ms < EARLIEST_MS || ms > LATEST_MS) {
    throw new InvalidManagementOptionsError(
      `searchConversations ${what} must be a valid Date from 1970-01-01 to 9999-12-31 (UTC); leave it out to not bound the search on that side.`,
    );
  }
  return ms;
}
