import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource } from 'typeorm';
import { SessionMemoryService } from '../../lib';
import { uniqueSuffix } from '../support/databases';
import { rawQuery } from '../support/memory';

/** A fresh SQLite file path (not yet created) in its own temp directory. */
export function tempSqliteFile(name = 'memory.db'): string {
  return join(mkdtempSync(join(tmpdir(), 'nsm-module-')), name);
}

/** Unique table names for one test, so concurrent suites and helpers never share rows. */
export function uniqueTables(prefix = 'mod'): { sessions: string; messages: string } {
  const suffix = uniqueSuffix();
  return { sessions: `${prefix}_s_${suffix}`, messages: `${prefix}_m_${suffix}` };
}

/** Drops the two tables through an open DataSource (used to clean up PostgreSQL after a test). */
export async function dropTables(ds: DataSource, tables: { sessions: string; messages: string }): Promise<void> {
  if (!ds.isInitialized) return;
  await rawQuery(ds, `DROP TABLE IF EXISTS ${tables.messages}`).catch(() => undefined);
  await rawQuery(ds, `DROP TABLE IF EXISTS ${tables.sessions}`).catch(() => undefined);
}

/** Drops the tables with a short-lived DataSource of its own (for when the module's one is closed). */
export async function dropTablesAt(url: string, tables: { sessions: string; messages: string }): Promise<void> {
  const ds = new DataSource({ type: 'postgres', url });
  await ds.initialize();
  try {
    await dropTables(ds, tables);
  } finally {
    await ds.destroy();
  }
}

/** Counts the stored messages of one conversation by reading the module's own tables directly. */
export async function countMessages(
  memory: SessionMemoryService,
  table: string,
  conversationId: string,
): Promise<number> {
  const rows = await rawQuery<{ n: number | string }>(
    memory.dataSource,
    `SELECT COUNT(*) AS n FROM ${table} WHERE session_id = ?`,
    [conversationId],
  );
  return Number(rows[0].n);
}
