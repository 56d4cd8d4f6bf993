import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource } from 'typeorm';
import { uniqueSuffix } from './databases';

/** The two table names one module instance is configured with. */
export interface SessionTables {
  sessions: string;
  messages: string;
}

/** Anything that runs one SQL statement: a TypeORM DataSource, a `pg` Pool or Client, a wrapped mysql2 pool. */
export interface StatementRunner {
  query(sql: string): Promise<unknown>;
}

/**
 * Table names unique to this process and call (`<prefix>_sess_<suffix>`, `<prefix>_msg_<suffix>`), so
 * concurrent test files and benchmarks on a shared server never see each other's rows.
 */
export function uniqueTables(prefix = 'mod'): SessionTables {
  const suffix = uniqueSuffix();
  return { sessions: `${prefix}_sess_${suffix}`, messages: `${prefix}_msg_${suffix}` };
}

/**
 * Every table `createTables` makes for these names, dependants first: the optional owners, operation
 * log and metadata tables reference the sessions table, the messages table references it too.
 */
export function sessionTablesDependantsFirst(t: SessionTables): string[] {
  return [
    `${t.sessions}_usage`,
    `${t.messages}_branch_items`,
    `${t.sessions}_segments`,
    `${t.sessions}_branches`,
    `${t.sessions}_owners`,
    `${t.messages}_operations`,
    `${t.sessions}_metadata`,
    t.messages,
    t.sessions,
  ];
}

/**
 * Drops a pair of tables and the optional tables beside them (owners, operations, metadata), dependants
 * first. Without `onError` the first failure is thrown; with it, each failure is reported there and the
 * remaining tables are still dropped (for clean-ups on shared servers).
 */
export async function dropSessionTables(
  db: StatementRunner,
  t: SessionTables,
  onError?: (table: string, error: unknown) => void,
): Promise<void> {
  for (const table of sessionTablesDependantsFirst(t)) {
    try {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
    } catch (error) {
      if (!onError) throw error;
      onError(table, error);
    }
  }
}

/** Ignores a failed DROP during a clean-up (the `onError` of `dropSessionTables`). */
export const ignoreDropError = (): void => undefined;

/** A fresh SQLite file path (not yet created) in its own temporary directory. */
export function tempSqliteFile(name = 'memory.db'): string {
  return join(mkdtempSync(join(tmpdir(), 'nsm-')), name);
}

/** Drops the session tables through a short-lived PostgreSQL DataSource of its own (for when the module's one is closed). */
export async function dropSessionTablesAt(url: string, t: SessionTables): Promise<void> {
  const ds = new DataSource({ type: 'postgres', url });
  await ds.initialize();
  try {
    await dropSessionTables(ds, t, ignoreDropError);
  } finally {
    await ds.destroy();
  }
}
