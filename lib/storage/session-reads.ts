import type { DialectSyntax } from './dialect-syntax';
import type { StoredColumns } from './session-store';
import type { TableNames } from './table-names';

/**
 * Selects the rows of one conversation as `WHERE ${sessionIdRange(a, b)} ${NEWEST_FIRST} LIMIT n`
 * (or `${OLDEST_FIRST}` for the whole history), the conversation id bound to both placeholders.
 * Written as a range, session_id stays in the ORDER BY, which only the (session_id, id) index
 * delivers, so a read of n items touches n index entries; the plain `session_id = ?` form may walk
 * the primary key instead on a large table (figures: docs/storage.md, "Reading one conversation").
 * Not on Citus (`DialectSyntax.pinSessionId`), which routes by the plain equality.
 * @internal
 */
export function sessionIdRange(low: string, high: string): string {
  return `session_id >= ${low} AND session_id <= ${high}`;
}

/** Newest first, in the order of the (session_id, id) index (see `sessionIdRange`). @internal */
export const NEWEST_FIRST = 'ORDER BY session_id DESC, id DESC';

/** Oldest first, in the order of the (session_id, id) index (see `sessionIdRange`). @internal */
export const OLDEST_FIRST = 'ORDER BY session_id, id';

/** The six reads of one conversation's rows, as SQL. @internal */
export interface ReadSql {
  /** Every row, oldest first. */
  all: string;
  /** The newest rows; its last placeholder is the limit. */
  newest: string;
  /** The newest rows below an id; its last two placeholders are the id and the limit. */
  newestBefore: string;
  /** `all`, `message_data` only. */
  allData: string;
  /** `all`, `id` only (with `allData` in one read transaction: the columns of `all` without a row object each; SQLite). */
  allIds: string;
  /** `newest`, `message_data` only. */
  newestData: string;
}

/**
 * The reads of one conversation (its rows, newest or oldest first) for one dialect, and how to bind
 * them: the `WHERE` of the conversation comes first and takes `params` placeholders.
 * @internal
 */
export class SessionReads {
  /** `WHERE` of the rows of one conversation: the range, or `session_id = ?` where pinned (Citus). */
  readonly where: string;
  /** How many placeholders `where` takes (each bound to the conversation id). */
  readonly params: number;
  readonly sql: ReadSql;

  constructor(
    private readonly names: TableNames,
    private readonly syntax: DialectSyntax,
    /**
     * A condition every read also carries, given the placeholder of the conversation id it binds (it
     * takes a placeholder of its own where placeholders are positional): e.g. "main is current".
     */
    condition?: (sessionPlaceholder: string) => string,
  ) {
    const session = syntax.sessionPlaceholder;
    const rows = syntax.pinSessionId ? `session_id = ${session(1)}` : sessionIdRange(session(1), session(2));
    const taken = syntax.pinSessionId ? 1 : 2;
    // Numbered placeholders ($1) reuse the id's; positional ones (?) bind it once more.
    const positional = syntax.placeholder(1) === syntax.placeholder(2);
    this.where = condition ? `${rows} AND ${condition(positional ? session(taken + 1) : session(1))}` : rows;
    this.params = condition && positional ? taken + 1 : taken;
    this.sql = this.readsWhere(this.where, this.params);
  }

  /** The six reads with `where` (taking the first `taken` placeholders), limits numbered after them. */
  readsWhere(where: string, taken: number): ReadSql {
    const param = this.syntax.placeholder;
    const { messages } = this.names;
    return {
      all: `SELECT id, message_data FROM ${messages} WHERE ${where} ${OLDEST_FIRST}`,
      newest: `SELECT id, message_data FROM ${messages} WHERE ${where} ${NEWEST_FIRST} LIMIT ${param(taken + 1)}`,
      newestBefore: `SELECT id, message_data FROM ${messages} WHERE ${where} AND id < ${param(taken + 1)} ${NEWEST_FIRST} LIMIT ${param(taken + 2)}`,
      allData: `SELECT message_data FROM ${messages} WHERE ${where} ${OLDEST_FIRST}`,
      allIds: `SELECT id FROM ${messages} WHERE ${where} ${OLDEST_FIRST}`,
      newestData: `SELECT message_data FROM ${messages} WHERE ${where} ${NEWEST_FIRST} LIMIT ${param(taken + 1)}`,
    };
  }

  /** The values of the conversation's placeholders, then `rest`. */
  args(sessionId: string, ...rest: unknown[]): unknown[] {
    if (this.params === 1) return [sessionId, ...rest];
    if (this.params === 2) return [sessionId, sessionId, ...rest];
    return [...new Array<string>(this.params).fill(sessionId), ...rest];
  }
}

/** Rows `{ id, message_data }` as columns. @internal */
export function rowsToColumns(rows: readonly { id: number | string; message_data: string }[]): StoredColumns {
  const n = rows.length;
  const ids = new Array<number | string>(n);
  const texts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    ids[i] = rows[i].id;
    texts[i] = rows[i].message_data;
  }
  return { ids, texts };
}

/** Rows as arrays `[id, message_data]` (pg `rowMode: 'array'`, mysql2 `rowsAsArray`) as columns. @internal */
export function arraysToColumns(rows: readonly (readonly unknown[])[]): StoredColumns {
  const n = rows.length;
  const ids = new Array<number | string>(n);
  const texts = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    ids[i] = row[0] as number | string;
    texts[i] = row[1] as string;
  }
  return { ids, texts };
}
