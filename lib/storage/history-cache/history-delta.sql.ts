import type { DialectSyntax } from '../dialect-syntax';
import type { TableNames } from '../table-names';

/**
 * The name of the SQLite function that tags a row by its text (registered on the module's
 * better-sqlite3 connection: `history-delta.reader.ts`). @internal
 */
export const SQLITE_ROW_TAG_FUNCTION = 'nsm_history_row_tag';

/**
 * How a dialect tags a row, as an SQL expression over the messages table's columns: a number that
 * changes whenever the row is written again.
 * - PostgreSQL / Citus: a 64-bit hash of the row id and its `xmin` (the id of the transaction that wrote
 *   this version of the row: every UPDATE, whoever runs it, makes a new version with a new `xmin`).
 *   Nothing of `message_data` is read: a validation touches the heap tuples only, never the TOASTed texts.
 *   The raw 32-bit `xmin` is computed as `age('3') + 3 - age(xmin)` modulo 2^32 (`XID_OF_ROW`), not as
 *   `xmin::text::bigint`: the same number, without printing and parsing a text per row.
 * - MySQL / MariaDB: CRC-32 of `message_data` (InnoDB has no row version the server shows).
 * - SQLite: CRC-32 of `message_data`, by a function of this module.
 * @internal
 */
export type RowTagDialect = 'postgres' | 'mysql' | 'sqlite';

/**
 * The raw 32-bit `xmin` of a row (the number `xmin::text::bigint` gives) without the text round trip.
 * `age(x)` is `(int32)(now - x)` for a normal transaction id `x`, where `now` is fixed for the whole
 * transaction (`GetStableLatestTransactionId`); `age('3')` (3 is the first normal id) is `now - 3`. Both
 * are taken in the same row expression, so in the same process even under a parallel plan: their
 * difference, plus 3, modulo 2^32, is `x` whatever `now` is. For the special ids 0-2 (tuples frozen
 * before PostgreSQL 9.4) `age` is INT_MAX and the value moves with `now`: such a row makes every
 * validation a miss, never a stale read.
 * @internal
 */
export const XID_OF_ROW = "((age('3'::xid)::int8 + 3 - age(xmin)) & 4294967295)";

/** The row-tag expression of `dialect` (see `RowTagDialect`). @internal */
export function rowTagSql(dialect: RowTagDialect): string {
  switch (dialect) {
    case 'postgres':
      return `hashint8extended(id, ${XID_OF_ROW})`;
    case 'mysql':
      return 'CRC32(message_data)';
    case 'sqlite':
      return `${SQLITE_ROW_TAG_FUNCTION}(message_data)`;
  }
}

/**
 * The one statement a cached whole read sends, and how to bind it. It returns, in one snapshot (one
 * statement), the fingerprint of the rows the cache holds (`id <= afterId`: how many, the sum of their
 * ids, the sum of their tags) as one row, and the rows added since (`id > afterId`, with their tags). With `afterId` -1 it is
 * the whole read (every row, with its tag).
 * @internal
 */
export interface HistoryDeltaSql {
  readonly sql: string;
  args(sessionId: string, afterId: number | string): unknown[];
}

/** Builds `HistoryDeltaSql` for one dialect's syntax and tables. @internal */
export function historyDeltaSql(names: TableNames, syntax: DialectSyntax, dialect: RowTagDialect): HistoryDeltaSql {
  const tag = rowTagSql(dialect);
  // The plain equality (not `SessionReads`' range): both parts are then ranges of the (session_id, id)
  // index, `id <= afterId` and `id > afterId`, whatever the size of the table. `$n` placeholders may
  // repeat (PostgreSQL): both parts use the same two; `?` placeholders are positional: each part binds its own.
  const numbered = syntax.placeholder(1) !== syntax.placeholder(2);
  const where = `session_id = ${syntax.sessionPlaceholder(1)} AND id`;
  const after = syntax.placeholder(2);
  const { messages } = names;
  // UNION ALL rather than a join: a plan PostgreSQL makes in a fraction of the time, and keeps as a
  // generic plan. The fingerprint row is the one whose id is NULL; the rows come in index order, and
  // the reader sorts them by id if they did not (`history-delta.reader.ts`).
  const sql =
    `SELECT COUNT(*) AS n, SUM(id) AS s, SUM(${tag}) AS t, NULL AS id, NULL AS message_data, NULL AS dt ` +
    `FROM ${messages} WHERE ${where} <= ${after} UNION ALL ` +
    `SELECT NULL, NULL, NULL, id, message_data, ${tag} FROM ${messages} WHERE ${where} > ${after}`;
  return {
    sql,
    args: (sessionId, afterId) => (numbered ? [sessionId, afterId] : [sessionId, afterId, sessionId, afterId]),
  };
}
