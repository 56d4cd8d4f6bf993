import { Test, TestingModule } from '@nestjs/testing';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataSource } from 'typeorm';
import { SessionMemoryModule, SessionMemoryModuleOptions, SessionMemoryService } from '../../lib';
import { TestDialect, uniqueSuffix } from './databases';

/** A started module instance for one dialect, with its own uniquely named tables. */
export interface TestMemory {
  module: TestingModule;
  memory: SessionMemoryService;
  tables: { sessions: string; messages: string };
  /** Runs SQL on the module's own DataSource; write `?` placeholders (turned into $n on PostgreSQL). */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** For SQLite, a fresh file (so that a second client can open it); for servers, the URL itself. */
export function urlFor(dialect: TestDialect, url: string): string {
  if (dialect !== 'sqlite') return url;
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'nsm-')), 'memory.db')}`;
}

/** Starts SessionMemoryModule.forRoot on `url` with fresh tables (dropped again by `close`). */
export async function startMemory(
  url: string,
  options: Partial<SessionMemoryModuleOptions> = {},
  tables?: { sessions: string; messages: string },
): Promise<TestMemory> {
  const suffix = uniqueSuffix();
  const names = tables ?? { sessions: `t_sess_${suffix}`, messages: `t_msg_${suffix}` };
  const module = await Test.createTestingModule({
    imports: [
      SessionMemoryModule.forRoot({
        url,
        createTables: true,
        ...options,
        tables: { ...names, ...(options.tables ?? {}) },
      }),
    ],
  }).compile();
  await module.init();
  const memory = module.get(SessionMemoryService);
  const ds = memory.dataSource;
  const sql = <T>(text: string, params: unknown[] = []) => rawQuery<T>(ds, text, params);
  return {
    module,
    memory,
    tables: names,
    sql,
    close: async () => {
      if (!tables && ds.isInitialized) {
        // The optional tables (metadata, operation log) reference the sessions table: drop them first.
        await sql(`DROP TABLE IF EXISTS ${names.sessions}_owners`).catch(() => undefined);
        await sql(`DROP TABLE IF EXISTS ${names.sessions}_metadata`).catch(() => undefined);
        await sql(`DROP TABLE IF EXISTS ${names.messages}_operations`).catch(() => undefined);
        await sql(`DROP TABLE IF EXISTS ${names.messages}`).catch(() => undefined);
        await sql(`DROP TABLE IF EXISTS ${names.sessions}`).catch(() => undefined);
      }
      await module.close();
    },
  };
}

/** Drops a pair of tables and the optional tables beside them (owners, operations, metadata), children first. */
export async function dropSessionTables(ds: DataSource, t: { sessions: string; messages: string }): Promise<void> {
  for (const table of [
    `${t.sessions}_owners`,
    `${t.messages}_operations`,
    `${t.sessions}_metadata`,
    t.messages,
    t.sessions,
  ]) {
    await ds.query(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** `dataSource.query` with `?` placeholders on every dialect. */
export function rawQuery<T = any>(ds: DataSource, text: string, params: unknown[] = []): Promise<T[]> {
  let i = 0;
  const q = ds.options.type === 'postgres' ? text.replace(/\?/g, () => `$${++i}`) : text;
  return ds.query(q, params);
}
