import { distributeBySessionId } from '../citus/citus.ddl';
import { quoteMysql } from '../mysql/mysql.connection';
import { quotePostgres } from '../postgres/postgres.connection';
import type { ResolvedTables } from '../session-store';
import { quoteSqlite } from '../sqlite/sqlite.connection';
import { QuoteIdentifier, tableNames } from '../table-names';

/**
 * The DDL of the usage table `<sessions>_usage` for one dialect: `create` (idempotent) makes it and its
 * `(owner, created_at)` index, `drop` removes it (before the sessions table, which it references),
 * `distribute` (Citus only, after `create`) distributes it by `session_id`, colocated with the sessions
 * table. For `createTables` and the migrations.
 * @internal
 */
export interface UsageDdl {
  create: string[];
  drop: string[];
  distribute?: string[];
}

/** The usage table's unquoted name and its owner index's. @internal */
export function usageNames(tables: ResolvedTables): { table: string; ownerIndex: string } {
  return { table: `${tables.sessions}_usage`, ownerIndex: `idx_${tables.sessions}_usage` };
}

/** The usage table, quoted and qualified like the other tables. @internal */
export function usageTable(tables: ResolvedTables, quote: QuoteIdentifier): string {
  return tableNames(tables, quote).qualify(usageNames(tables).table);
}

/**
 * The columns: one row per run (`run_key`) of a conversation, holding the run's cumulative usage as
 * last saved (an upsert: a save repeated with the same totals changes nothing), the branch and turn
 * it wrote, and the conversation's owner when it was recorded (so that per-owner totals read the
 * `(owner, created_at)` index, not the items).
 */
function columns(sessionId: string, text: string, timestamp: string, details: string): string {
  return (
    `session_id ${sessionId}, ` +
    `branch_id ${text} NOT NULL DEFAULT 'main', ` +
    `run_key VARCHAR(64) NOT NULL, ` +
    `turn INTEGER NOT NULL, ` +
    `requests INTEGER NOT NULL DEFAULT 0, ` +
    `input_tokens BIGINT NOT NULL DEFAULT 0, ` +
    `output_tokens BIGINT NOT NULL DEFAULT 0, ` +
    `total_tokens BIGINT NOT NULL DEFAULT 0, ` +
    `details ${details}, ` +
    `owner ${text} NULL, ` +
    `created_at ${timestamp}, ` +
    `updated_at ${timestamp}, ` +
    `PRIMARY KEY (session_id, run_key)`
  );
}

/** PostgreSQL, Citus and SQLite: the portable form. */
function portableUsageDdl(tables: ResolvedTables, quote: QuoteIdentifier): UsageDdl {
  const { sessions, qualify } = tableNames(tables, quote);
  const names = usageNames(tables);
  const table = qualify(names.table);
  const cascade = `REFERENCES ${sessions} (session_id) ON DELETE CASCADE`;
  return {
    create: [
      `CREATE TABLE IF NOT EXISTS ${table} (` +
        columns(`VARCHAR NOT NULL ${cascade}`, 'VARCHAR(255)', 'TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP', 'TEXT') +
        `)`,
      `CREATE INDEX IF NOT EXISTS ${quote(names.ownerIndex)} ON ${table} (owner, created_at)`,
    ],
    drop: [`DROP TABLE IF EXISTS ${table}`],
  };
}

/** PostgreSQL's usage table. @internal */
export function postgresUsageDdl(tables: ResolvedTables): UsageDdl {
  return portableUsageDdl(tables, quotePostgres);
}

/** SQLite's usage table. @internal */
export function sqliteUsageDdl(tables: ResolvedTables): UsageDdl {
  return portableUsageDdl(tables, quoteSqlite);
}

/**
 * Citus: PostgreSQL's table (its key holds `session_id`, as Citus asks), distributed by `session_id`
 * and colocated with the sessions table: one conversation's usage rows live in its shard.
 * @internal
 */
export function citusUsageDdl(tables: ResolvedTables): UsageDdl {
  const ddl = portableUsageDdl(tables, quotePostgres);
  const { sessions } = tableNames(tables, quotePostgres);
  return { ...ddl, distribute: [distributeBySessionId(usageTable(tables, quotePostgres), sessions)] };
}

/**
 * MySQL / MariaDB: `session_id` and `owner` exact (utf8mb4, the binary collation `idCollation`, as the
 * other tables), `DATETIME(6)` times, InnoDB with the foreign key cascading from the sessions table.
 * MySQL has no `CREATE INDEX IF NOT EXISTS`: the index is part of the `CREATE TABLE`.
 * @internal
 */
export function mysqlUsageDdl(tables: ResolvedTables, idCollation: string): UsageDdl {
  const { sessions, qualify } = tableNames(tables, quoteMysql);
  const names = usageNames(tables);
  const table = qualify(names.table);
  const text = `VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${idCollation}`;
  return {
    create: [
      `CREATE TABLE IF NOT EXISTS ${table} (` +
        columns(
          `${text} NOT NULL`,
          text,
          'DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)',
          'LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
        ) +
        `, KEY ${quoteMysql(names.ownerIndex)} (owner, created_at), ` +
        `CONSTRAINT ${quoteMysql(`fk_${names.table}`)} FOREIGN KEY (session_id) REFERENCES ${sessions} (session_id) ` +
        `ON DELETE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
    drop: [`DROP TABLE IF EXISTS ${table}`],
  };
}
