import type { SqlStep } from './program/statement-program';
import type { QuoteIdentifier } from './table-names';

/**
 * Everything the shared SQL (reads, listing, ownership, statement programs) needs to know about one
 * dialect, as one object passed in (`<dialect>/<dialect>.syntax.ts`): nothing is left to overridable
 * hooks. The dialect's own statements (appends, purges, metadata writes, DDL) stay in its store.
 * @internal
 */
export interface DialectSyntax {
  quote: QuoteIdentifier;
  /** The n-th (1-based) placeholder: `$n` or `?`. */
  placeholder(n: number): string;
  /** The placeholder of a conversation id in reads and pops (usually `placeholder`; see sqlite.syntax.ts). */
  sessionPlaceholder(n: number): string;
  /**
   * Every per-conversation statement pins `session_id` by equality (`session_id = $1`), never the
   * `sessionIdRange` form, including the statements that name rows by id: Citus routes by it.
   */
  pinSessionId: boolean;
  /** `CURRENT_TIMESTAMP` in the precision of the timestamp columns. */
  now: string;
  /** ` FOR UPDATE` where the dialect locks the rows a transaction reads, else empty. */
  lockRowsSuffix: string;
  /** Full-precision text of a timestamp column (the listing's cursor key). */
  timeKey(column: string): string;
  /** A placeholder holding a time key, comparable to the timestamp columns. */
  timeKeyParam(placeholder: string): string;
  /** Epoch milliseconds of a timestamp column. */
  epochMs(column: string): string;
  /** A placeholder holding epoch milliseconds (as bound by `epochMsValue`), comparable to the timestamp columns. */
  epochMsParam(placeholder: string): string;
  /** The value bound to an `epochMsParam` placeholder. */
  epochMsValue(ms: number): unknown;
  /** `md.metadata`'s top-level key bound to `keyPlaceholder` equals the JSON value bound to `jsonPlaceholder`. */
  metadataEquals(keyPlaceholder: string, jsonPlaceholder: string): string;
  /** The value bound to a `metadataEquals` key placeholder. */
  metadataKeyValue(key: string): unknown;
  /**
   * An owner comparison, byte for byte: `column` equals the caller bound by `bindOwner` (called once
   * per placeholder it needs).
   */
  ownerMatches(column: string, bindOwner: () => string): string;
  /**
   * Statements appending `data` to a conversation whose session row exists, into `messages`.
   * May refuse the data (a typed error) before any I/O.
   */
  insertMessages(messages: string, sessionId: string, data: string[]): SqlStep[];
  /** The statement deleting message rows of the conversation by id. */
  deleteMessageIds(messages: string, sessionId: string, ids: (number | string)[]): SqlStep;
}

/** `ownerMatches` where the column's collation is deterministic (PostgreSQL, SQLite's BINARY): plain `=`. @internal */
export function plainOwnerMatch(column: string, bindOwner: () => string): string {
  return `${column} = ${bindOwner()}`;
}

/** `metadataKeyValue` as a JSON path (`$."key"`), for SQLite and MySQL. @internal */
export function jsonPathKey(key: string): unknown {
  return `$."${key}"`;
}
