import type { SessionMemoryDistribution, SessionMemoryTablesOptions } from './session-memory-options.interface';

/** What the search index holds besides user and assistant messages (see `SessionMemorySearchOptions.include`). */
export type SearchInclude = 'messages' | 'tool_calls' | 'tool_outputs';

/**
 * The `search` module option in its object form (`search: true` is `{}`): full-text search over the
 * stored conversations with each database's own full-text index (docs/search.md). Off by default:
 * without it no search table is created, read or written.
 */
export interface SessionMemorySearchOptions {
  /**
   * PostgreSQL's text search configuration (`regconfig`) for indexing and querying: `'simple'`
   * (default: no stemming, any language) or e.g. `'english'` (stemming, English stop words). Ignored
   * by the other databases. Changing it applies to rows indexed afterwards (run `reindex()`).
   */
  language?: string;
  /**
   * What is indexed: `'messages'` (user and assistant text; the default), `'tool_calls'` (function
   * call names and arguments), `'tool_outputs'` (function call results).
   */
  include?: SearchInclude[];
  /**
   * Least time, in milliseconds, between the starts of two passes of the background index sync while
   * writes keep coming (a whole number from 0 to 60,000; default 100). The writes of that time are
   * indexed together in one pass: much of the database's cost of indexing is per pass, so a longer
   * interval makes `addItems` with search on cheaper under sustained writes. The price: another
   * process (or instance) finds an item in its searches up to this much later (plus the pass's own
   * time). The writing process is not affected: its searches start the pending pass at once and find
   * every item it wrote; shutdown does not wait for the interval either. The first write after a
   * quiet period is indexed at once. `0`: a pass as soon as the previous one ends. docs/search.md,
   * "The pause between passes".
   */
  indexIntervalMs?: number;
}

/** The arguments of `SessionMemoryService.searchConversations`. */
export interface SearchConversationsOptions {
  /**
   * The query: words (all must match), `"an exact phrase"`, `-excluded` (a word or a phrase),
   * `prefix*`. Everything else is searched as text (no operator of the database is ever passed on).
   */
  query: string;
  /** Only conversations this caller owns (checked in the search statement itself). */
  owner?: string;
  /** Hits per page: 1 to 100, default 20. */
  limit?: number;
  /** The `nextCursor` of the previous page (same query and filters). */
  cursor?: string;
  /** Only items stored at or after this instant. */
  since?: Date;
  /** Only items stored before this instant. */
  until?: Date;
}

/** A highlighted range of a snippet: `snippet.slice(start, end)` is a matched word. */
export interface SearchHighlight {
  start: number;
  end: number;
}

/** One matching item. */
export interface SearchHit {
  conversationId: string;
  /** The item's row id (a decimal string), as `getItemsPage` cursors name rows. */
  itemId: string;
  /** The branch holding the item: `'main'` for the conversation's own rows. */
  branchId: string;
  /**
   * The item's user turn on the line of `branchId` (the first user message and the items after it: 1;
   * before the first user message: 0), counted when the search runs; undefined while a row of that
   * line up to the item is not indexed yet (docs/search.md, "Turns").
   */
  turn?: number;
  /** `'user'`, `'assistant'`, `'tool_call'` or `'tool_output'`. */
  role: string;
  /** A part of the item's text around the first match. */
  snippet: string;
  /** The matched words in `snippet`. */
  highlights: SearchHighlight[];
  /** When the item was stored (database clock). */
  timestamp: Date;
}

/** One page of search hits, best matches first. */
export interface SearchPage {
  hits: SearchHit[];
  /** Pass as `cursor` for the next page; undefined on the last page. */
  nextCursor?: string;
}

/** The arguments of `SessionMemoryService.reindex`. */
export interface ReindexOptions {
  /** Message rows examined per call: 1 to 10,000, default 1,000. */
  batchSize?: number;
  /** The `nextCursor` of the previous call; omit to start from the oldest row. */
  cursor?: string;
}

/** What one `reindex()` call did. */
export interface ReindexResult {
  /** Message rows examined. */
  scanned: number;
  /** Rows (re)indexed because they had no entry or a stale one. */
  indexed: number;
  /** Index entries removed because their message row is gone or changed. */
  removed: number;
  /** Pass to the next call; undefined once every row has been examined. */
  nextCursor?: string;
}

/**
 * Options of `createSessionMemorySearchMigration()`: the table names, schema and distribution of the
 * tables the search index sits beside (as for `createSessionMemoryMigration`), and the PostgreSQL
 * text search configuration (`language`, default `'simple'`; informational: the configuration is
 * applied when rows are written, by the module's `search.language`).
 */
export interface SessionMemorySearchMigrationOptions {
  tables?: SessionMemoryTablesOptions;
  /** PostgreSQL only: the schema of the tables (same as `tables.schema`). */
  schema?: string;
  /** 13-digit JavaScript timestamp ordering the migration. Default 1796083200000 (2026-12-01). */
  timestamp?: number;
  /** The migration's name; must end with a 13-digit timestamp. Default `SessionMemorySearch[_<messages>]<timestamp>`. */
  name?: string;
  /** PostgreSQL: on a Citus coordinator the search table is distributed by `session_id` (as the module option). */
  distribution?: SessionMemoryDistribution;
}
