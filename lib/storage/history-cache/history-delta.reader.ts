import { crc32 as zlibCrc32 } from 'zlib';
import type { DataSource } from 'typeorm';
import { citusSyntax } from '../citus/citus.syntax';
import type { DialectSyntax } from '../dialect-syntax';
import { MysqlConnection, MysqlPool } from '../mysql/mysql.connection';
import { mysqlSyntax } from '../mysql/mysql.syntax';
import { PgPool, PostgresConnection } from '../postgres/postgres.connection';
import { postgresSyntax } from '../postgres/postgres.syntax';
import type { ResolvedTables, SessionStoreDialect } from '../session-store';
import { SqliteConnection, SqliteDatabase } from '../sqlite/sqlite.connection';
import { sqliteSyntax } from '../sqlite/sqlite.syntax';
import { tableNames } from '../table-names';
import { HistoryDeltaSql, RowTagDialect, SQLITE_ROW_TAG_FUNCTION, historyDeltaSql } from './history-delta.sql';

/** One row of a delta: its id (as the driver gives it, as the uncached read does), stored text and tag. @internal */
export interface DeltaRow {
  readonly id: number | string;
  readonly stored: string;
  readonly tag: bigint;
}

/**
 * What one validation statement found (see `HistoryDeltaSql`): the fingerprint of the rows with ids up
 * to the cached newest one, and the rows after it, oldest first.
 * @internal
 */
export interface HistoryDelta {
  readonly count: bigint;
  readonly idSum: bigint;
  readonly tagSum: bigint;
  readonly rows: DeltaRow[];
}

/** Runs the validation statement of one conversation. @internal */
export type HistoryDeltaQuery = (sessionId: string, afterId: number | string) => Promise<HistoryDelta>;

/** A row of the statement as the drivers give it. */
interface RawRow {
  n: unknown;
  s: unknown;
  t: unknown;
  id: number | string | null;
  message_data: string | null;
  dt: unknown;
}

/** A driver's number, decimal string or bigint (or NULL: a sum over no rows) as a bigint. */
function big(value: unknown): bigint {
  if (value === null || value === undefined) return 0n;
  return BigInt(typeof value === 'number' ? Math.trunc(value) : String(value));
}

/** Compares two row ids as the drivers give them (numbers, or decimal strings for 64-bit ids). */
function compareIds(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const [x, y] = [String(a), String(b)];
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
}

/** The statement's rows as a `HistoryDelta`: the fingerprint row (id NULL), and the others by id. */
function toDelta(rows: RawRow[]): HistoryDelta {
  let fingerprint: RawRow | undefined;
  const delta: DeltaRow[] = [];
  let sorted = true;
  for (const row of rows) {
    if (row.id === null || row.id === undefined) {
      fingerprint = row;
      continue;
    }
    if (delta.length > 0 && compareIds(delta[delta.length - 1].id, row.id) > 0) sorted = false;
    delta.push({ id: row.id, stored: row.message_data as string, tag: big(row.dt) });
  }
  if (!sorted) delta.sort((a, b) => compareIds(a.id, b.id));
  return { count: big(fingerprint?.n), idSum: big(fingerprint?.s), tagSum: big(fingerprint?.t), rows: delta };
}

/** CRC-32 of a text's UTF-8 bytes, as MySQL's `CRC32()` computes it over a utf8mb4 column. @internal */
export function crc32Text(text: string): number {
  return zlibCrc32(text);
}

/** better-sqlite3 databases the row-tag function is registered on. */
const registered = new WeakSet<object>();

/** Registers the SQLite row-tag function on `db` (once). */
function registerRowTag(db: SqliteDatabase): void {
  if (registered.has(db)) return;
  const withFunctions = db as SqliteDatabase & {
    function(name: string, options: { deterministic: boolean }, fn: (text: unknown) => number | null): unknown;
  };
  withFunctions.function(SQLITE_ROW_TAG_FUNCTION, { deterministic: true }, (text) =>
    typeof text === 'string' ? crc32Text(text) : text === null ? null : crc32Text(String(text)),
  );
  registered.add(db);
}

/** The driver handles of a TypeORM DataSource (as `session-store.factory.ts` reads them). */
interface DriverHandles {
  master?: PgPool;
  pool?: MysqlPool;
  databaseConnection?: SqliteDatabase;
}

/**
 * The validation statement of the main line's whole history, for the store the module built on
 * `dataSource` (`dialect` as the store reports it; `citus` when it is the Citus store), run on the
 * same driver handles as the store's own reads.
 * @internal
 */
export function historyDeltaQuery(
  dataSource: DataSource,
  tables: ResolvedTables,
  dialect: SessionStoreDialect,
  citus: boolean,
): HistoryDeltaQuery {
  const driver = dataSource.driver as unknown as DriverHandles;
  const build = (syntax: DialectSyntax, tag: RowTagDialect): HistoryDeltaSql =>
    historyDeltaSql(tableNames(tables, syntax.quote), syntax, tag);
  switch (dialect) {
    case 'postgres': {
      const connection = new PostgresConnection(driver.master!);
      const { sql, args } = build(citus ? citusSyntax : postgresSyntax, 'postgres');
      return async (id, after) => toDelta(await connection.query<RawRow>(sql, args(id, after)));
    }
    case 'mysql': {
      const connection = new MysqlConnection(driver.pool!);
      // The packet size matters to inserts only; this statement inserts nothing.
      const { sql, args } = build(mysqlSyntax(Number.MAX_SAFE_INTEGER), 'mysql');
      return async (id, after) => toDelta(await connection.query<RawRow[]>(sql, args(id, after)));
    }
    case 'sqlite': {
      const db = driver.databaseConnection!;
      registerRowTag(db);
      const connection = new SqliteConnection(db);
      const { sql, args } = build(sqliteSyntax, 'sqlite');
      return async (id, after) => toDelta(connection.statement(sql).all(...args(id, after)) as RawRow[]);
    }
  }
}
