import { Test, TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { SessionMemoryModule, SessionMemoryModuleOptions, SessionMemoryService } from '../../lib';
import { TestDialect } from './databases';
import { SessionTables, dropSessionTables, ignoreDropError, tempSqliteFile, uniqueTables } from './tables';

/** A started module instance for one dialect, with its own uniquely named tables. */
export interface TestMemory {
  module: TestingModule;
  memory: SessionMemoryService;
  tables: SessionTables;
  /** The URL the module was started on (for SQLite, its file): a second instance on `url` and `tables` shares the rows. */
  url: string;
  /** Runs SQL on the module's own DataSource; write `?` placeholders (turned into $n on PostgreSQL). */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** For SQLite, a fresh file (so that a second client can open it); for servers, the URL itself. */
export function urlFor(dialect: TestDialect, url: string): string {
  return dialect === 'sqlite' ? `sqlite:${tempSqliteFile()}` : url;
}

/** Starts SessionMemoryModule.forRoot on `url` with fresh tables (dropped again by `close`). */
export async function startMemory(
  url: string,
  options: Partial<SessionMemoryModuleOptions> = {},
  tables?: SessionTables,
): Promise<TestMemory> {
  const names = tables ?? uniqueTables('t');
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
    url,
    sql,
    close: async () => {
      if (!tables && ds.isInitialized) await dropSessionTables(ds, names, ignoreDropError);
      await module.close();
    },
  };
}

/** `dataSource.query` with `?` placeholders on every dialect. */
export function rawQuery<T = any>(ds: DataSource, text: string, params: unknown[] = []): Promise<T[]> {
  let i = 0;
  const q = ds.options.type === 'postgres' ? text.replace(/\?/g, () => `$${++i}`) : text;
  return ds.query(q, params);
}

/** A handle whose members are those of the module `current()` returns once the hooks have started it. */
export function startedLater(current: () => TestMemory | undefined, by: string): TestMemory {
  const get = (): TestMemory => {
    const started = current();
    if (!started) throw new Error(`${by}: the module is not started yet (read it inside a test or a later hook)`);
    return started;
  };
  return {
    get module() {
      return get().module;
    },
    get memory() {
      return get().memory;
    },
    get tables() {
      return get().tables;
    },
    get url() {
      return get().url;
    },
    sql: (text, params) => get().sql(text, params),
    close: () => get().close(),
  };
}

/**
 * The `beforeAll(start) / afterAll(close)` pair of a dialect suite: registers both hooks where it is
 * called and returns the started module's handle (its members can be read once `beforeAll` ran, i.e. in
 * tests and later hooks). On SQLite each call gets a fresh file (see `urlFor`).
 */
export function useMemory(
  dialect: TestDialect,
  baseUrl: string,
  options: Partial<SessionMemoryModuleOptions> = {},
): TestMemory {
  let started: TestMemory | undefined;
  beforeAll(async () => {
    started = await startMemory(urlFor(dialect, baseUrl), options);
  });
  afterAll(async () => {
    await started?.close();
  });
  return startedLater(() => started, 'useMemory');
}

/**
 * Like `useMemory`, two module instances on the same tables (each with its own DataSource and pool, as
 * two processes would have): `second` holds the options of the second one only. The second is closed
 * first (the first drops the tables).
 */
export function useMemoryPair(
  dialect: TestDialect,
  baseUrl: string,
  first: Partial<SessionMemoryModuleOptions> = {},
  second: Partial<SessionMemoryModuleOptions> = {},
): [TestMemory, TestMemory] {
  let a: TestMemory | undefined;
  let b: TestMemory | undefined;
  beforeAll(async () => {
    const url = urlFor(dialect, baseUrl);
    a = await startMemory(url, first);
    b = await startMemory(url, second, a.tables);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  return [startedLater(() => a, 'useMemoryPair'), startedLater(() => b, 'useMemoryPair')];
}
