import type { INestApplicationContext } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { SessionMemoryService } from '../lib';
import { inlinePostgresParameters } from '../lib/storage/citus/postgres.literals';
import { StatementPipeline } from '../lib/storage/postgres/statement-pipeline';
import { TestDialect } from '../test/support/databases';
import { SessionTables, StatementRunner, dropSessionTables, uniqueTables } from '../test/support/tables';
import { startApp } from './app';
import { itemTemplates } from './items';

/** The three operations the workloads call, on either side of the comparison. */
export interface Impl {
  readonly tag: 'ours' | 'floor';
  add(conversationId: string, items: Record<string, unknown>[]): Promise<unknown>;
  /** Newest `limit` items oldest first, or all of them. */
  get(conversationId: string, limit?: number): Promise<unknown[]>;
  pop(conversationId: string): Promise<unknown>;
  /** The floor's pop with popItem's guarantee (the newest committed item, exactly once); ours: popItem. */
  popCorrect?(conversationId: string): Promise<unknown>;
  /** PostgreSQL, Citus: `popCorrect`'s two statements as a script of inlined values (the simple protocol, planned at every call). */
  popScript?(conversationId: string): Promise<unknown>;
}

/** One database: our module and the bare-driver floor on the same tables, plus bulk loading. */
export interface Target {
  readonly dialect: TestDialect;
  readonly ours: Impl;
  readonly floor: Impl;
  /**
   * Creates the conversations `${prefix}_0` .. `${prefix}_${convs-1}` (if missing) and inserts `perConv` items
   * (0: none) into each, in bulk SQL,
   * from five JSON templates (`#N#` stands for the row number; default: `itemTemplates()`, 200-500 bytes).
   */
  bulkLoad(prefix: string, convs: number, perConv: number, templates?: readonly string[]): Promise<void>;
  /** Refreshes planner statistics after a bulk load. */
  analyze(): Promise<void>;
  /** Server / library version. */
  version(): Promise<string>;
  /** Drops the bench tables and closes everything. */
  close(): Promise<void>;
}

const TEMPLATES = itemTemplates();

/**
 * The floor's SQL for "the rows of one conversation, newest (or oldest) first". The equality is written
 * as a range so that the planners walk the (session_id, id) index instead of a filtered primary-key
 * scan (see `sessionIdRange` in lib/storage/sql-session.store.ts); kept here so that the floor does
 * not depend on the library's internals.
 */
const oneSession = (lo: string, hi: string) => `session_id >= ${lo} AND session_id <= ${hi}`;
const NEWEST_FIRST = 'ORDER BY session_id DESC, id DESC';
const OLDEST_FIRST = 'ORDER BY session_id, id';

/** Drops the bench tables; says so on stderr if one could not be dropped (the servers are shared). */
function dropBenchTables(db: StatementRunner, tables: SessionTables): Promise<void> {
  return dropSessionTables(db, tables, (name, err) =>
    console.error(`bench: could not drop ${name}: ${(err as Error).message}`),
  );
}

/**
 * `limits.maxConcurrentPerConversation` of our module (the `perConversation` option of run.ts); undefined
 * keeps the module's default (4). The read workloads send all their callers to one conversation.
 */
let perConversation: number | undefined;

/** Sets `limits.maxConcurrentPerConversation` for the modules the targets start from now on. */
export function setPerConversationLimit(limit: number | undefined): void {
  perConversation = limit;
}

function startOurs(
  url: string,
  tables: SessionTables,
  poolSize: number,
): Promise<{ app: INestApplicationContext; memory: SessionMemoryService }> {
  const dataSourceOptions = url.startsWith('sqlite:') ? {} : { poolSize };
  const limits = perConversation === undefined ? undefined : { maxConcurrentPerConversation: perConversation };
  return startApp({ url, createTables: true, tables, dataSourceOptions, limits }, ['error', 'warn']);
}

function oursImpl(memory: SessionMemoryService): Impl {
  return {
    tag: 'ours',
    add: (c, items) => memory.session(c).addItems(items as any),
    get: (c, limit) => memory.session(c).getItems(limit),
    pop: (c) => memory.session(c).popItem(),
  };
}

function parseFirsts(rows: unknown[][], reverse: boolean): unknown[] {
  const out = new Array(rows.length);
  const n = rows.length;
  for (let i = 0; i < n; i++) out[reverse ? n - 1 - i : i] = JSON.parse(rows[i][0] as string);
  return out;
}

function parseTexts(texts: string[], reverse: boolean): unknown[] {
  const out = new Array(texts.length);
  const n = texts.length;
  for (let i = 0; i < n; i++) out[reverse ? n - 1 - i : i] = JSON.parse(texts[i]);
  return out;
}

/** PostgreSQL: our module vs a `pg` Pool of the same size issuing one plain statement per operation. */
export async function postgresTarget(url: string, poolSize: number): Promise<Target> {
  const { Pool } = require('pg') as typeof import('pg');
  const tables = uniqueTables('bench');
  const { app, memory } = await startOurs(url, tables, poolSize);
  const pool = new Pool({ connectionString: url, max: poolSize });
  const S = `"${tables.sessions}"`;
  const M = `"${tables.messages}"`;
  const sql = {
    // The upsert's row lock is taken before any id is drawn (the INSERT reads `s`), so that concurrent
    // batches of one conversation never interleave; the ORDER BY keeps the batch's order.
    add:
      `WITH s AS (INSERT INTO ${S} (session_id) VALUES ($1) ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP RETURNING session_id) ` +
      `INSERT INTO ${M} (session_id, message_data) SELECT s.session_id, d FROM s CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS u(d, n) ORDER BY n`,
    newest: `SELECT message_data FROM ${M} WHERE ${oneSession('$1', '$1')} ${NEWEST_FIRST} LIMIT $2`,
    all: `SELECT message_data FROM ${M} WHERE ${oneSession('$1', '$1')} ${OLDEST_FIRST}`,
    pop:
      `DELETE FROM ${M} WHERE id = (SELECT id FROM ${M} WHERE ${oneSession('$1', '$1')} ${NEWEST_FIRST} LIMIT 1 FOR UPDATE SKIP LOCKED) ` +
      `RETURNING message_data`,
    // popItem's guarantee: the session row locked (every writer's lock order), then, in a statement of
    // its own (a snapshot taken once the lock is held), the newest row deleted.
    popCorrect: [
      `SELECT 1 FROM ${S} WHERE session_id = $1 FOR UPDATE`,
      `DELETE FROM ${M} WHERE id = (SELECT id FROM ${M} WHERE ${oneSession('$1', '$1')} ${NEWEST_FIRST} LIMIT 1) ` +
        `RETURNING message_data`,
    ],
  };
  // A named statement: parsed and planned once per connection.
  const add = (c: string, items: Record<string, unknown>[]) =>
    pool.query({ name: 'floor_add', text: sql.add, values: [c, items.map((i) => JSON.stringify(i))] });
  return {
    dialect: 'postgres',
    ours: oursImpl(memory),
    ...pgFloorParts(pool, S, M, sql, add),
    async version() {
      return (await pool.query('SHOW server_version')).rows[0].server_version;
    },
    async close() {
      await dropBenchTables(pool, tables);
      await pool.end();
      await app.close();
    },
  };
}

/**
 * What the PostgreSQL and Citus targets share: the floor's reads and pop (their statements differ,
 * given in `sql`), its append (`add`), and the bulk load and ANALYZE of the benchmark tables.
 */
function pgFloorParts(
  pool: import('pg').Pool,
  S: string,
  M: string,
  sql: { newest: string; all: string; pop: string; popCorrect?: string[] },
  add: (conversationId: string, items: Record<string, unknown>[]) => Promise<unknown>,
): Pick<Target, 'floor' | 'bulkLoad' | 'analyze'> {
  return {
    floor: {
      tag: 'floor',
      add,
      // Named statements (parsed and planned once per connection), one column, rows as arrays.
      get: async (c, limit) =>
        limit === undefined
          ? parseFirsts(
              (await pool.query({ name: 'floor_all', text: sql.all, values: [c], rowMode: 'array' })).rows,
              false,
            )
          : parseFirsts(
              (await pool.query({ name: 'floor_newest', text: sql.newest, values: [c, limit], rowMode: 'array' })).rows,
              true,
            ),
      pop: async (c) => {
        const { rows } = await pool.query(sql.pop, [c]);
        return rows.length ? JSON.parse(rows[0].message_data) : undefined;
      },
      // One round trip, one implicit transaction, the DELETE reading after the lock is held: the two
      // statements prepared once per connection and pipelined before one Sync (pg has no API for it: the
      // module's protocol-level `StatementPipeline`, nothing else of the module).
      popCorrect:
        sql.popCorrect &&
        (async (c) => {
          const steps = sql.popCorrect!.map((text, i) => ({ name: `floor_pop_${i}`, text, values: [c] }));
          const [row] = (await pool.query(new StatementPipeline(steps) as never)) as unknown as string[][];
          return row ? JSON.parse(row[0]) : undefined;
        }),
      // The same as a script (the simple protocol: parsed and planned at every call).
      popScript:
        sql.popCorrect &&
        (async (c) => {
          const script = sql.popCorrect!.map((text) => inlinePostgresParameters(text, [c])).join(';\n');
          const results = (await pool.query(script)) as unknown as { rows: { message_data: string }[] }[];
          const { rows } = results[results.length - 1];
          return rows.length ? JSON.parse(rows[0].message_data) : undefined;
        }),
    },
    async bulkLoad(prefix, convs, perConv, templates = TEMPLATES) {
      await pool.query(
        `INSERT INTO ${S} (session_id) SELECT $1 || '_' || g FROM generate_series(0, $2::int - 1) g ON CONFLICT DO NOTHING`,
        [prefix, convs],
      );
      if (convs * perConv === 0) return;
      await pool.query(
        `INSERT INTO ${M} (session_id, message_data) ` +
          `SELECT $1 || '_' || (g % $2::int), replace(($3::text[])[1 + g % 5], '#N#', g::text) FROM generate_series(0, $4::int - 1) g`,
        [prefix, convs, templates, convs * perConv],
      );
    },
    async analyze() {
      await pool.query(`ANALYZE ${S}`);
      await pool.query(`ANALYZE ${M}`);
    },
  };
}

/**
 * Citus: our module (which finds the citus extension and distributes its tables by session_id) vs a
 * `pg` Pool of the same size on the same coordinator and tables, one plain statement per operation in
 * the forms Citus routes to one shard: `session_id = $1` (the range of the PostgreSQL floor is not
 * routed), the upsert time from EXCLUDED (Citus refuses CURRENT_TIMESTAMP there), and a multi-row
 * INSERT ... VALUES in the same statement as the upsert (an INSERT ... SELECT from an array goes
 * through the coordinator, at half the speed). Unlike the PostgreSQL floor it is not safe for
 * concurrent writers of one conversation (Citus numbers the rows when it plans the statement, before
 * the upsert has locked the session row, so two batches can interleave); the workloads write random
 * conversations.
 */
export async function citusTarget(url: string, poolSize: number): Promise<Target> {
  const { Pool } = require('pg') as typeof import('pg');
  const tables = uniqueTables('bench');
  const { app, memory } = await startOurs(url, tables, poolSize);
  const pool = new Pool({ connectionString: url, max: poolSize });
  const S = `"${tables.sessions}"`;
  const M = `"${tables.messages}"`;
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM pg_dist_partition WHERE logicalrelid = $1::regclass`,
    [S],
  );
  if (rows[0].n !== 1) throw new Error(`bench: ${url} did not distribute ${S}: is it a Citus coordinator?`);
  const upsert = `INSERT INTO ${S} (session_id) VALUES ($1) ON CONFLICT (session_id) DO UPDATE SET updated_at = EXCLUDED.updated_at`;
  const addSql = (n: number) =>
    `WITH s AS (${upsert}) INSERT INTO ${M} (session_id, message_data) VALUES ` +
    Array.from({ length: n }, (_, i) => `($1, $${i + 2})`).join(', ');
  const sql = {
    newest: `SELECT message_data FROM ${M} WHERE session_id = $1 ${NEWEST_FIRST} LIMIT $2`,
    all: `SELECT message_data FROM ${M} WHERE session_id = $1 ${OLDEST_FIRST}`,
    pop:
      `DELETE FROM ${M} WHERE session_id = $1 AND id = ` +
      `(SELECT id FROM ${M} WHERE session_id = $1 ${NEWEST_FIRST} LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING message_data`,
    popCorrect: [
      `SELECT 1 FROM ${S} WHERE session_id = $1 FOR UPDATE`,
      `DELETE FROM ${M} WHERE session_id = $1 AND id = ` +
        `(SELECT id FROM ${M} WHERE session_id = $1 ${NEWEST_FIRST} LIMIT 1) RETURNING message_data`,
    ],
  };
  const add = (c: string, items: Record<string, unknown>[]) =>
    pool.query(addSql(items.length), [c, ...items.map((i) => JSON.stringify(i))]);
  return {
    dialect: 'citus',
    ours: oursImpl(memory),
    ...pgFloorParts(pool, S, M, sql, add),
    async version() {
      const [{ v, c, workers }] = (
        await pool.query(
          `SELECT current_setting('server_version') AS v, citus_version() AS c, ` +
            `(SELECT count(*) FROM citus_get_active_worker_nodes()) AS workers`,
        )
      ).rows;
      return `${v}, ${String(c).split(' on ')[0]}, coordinator + ${workers} workers`;
    },
    async close() {
      await dropBenchTables(pool, tables);
      await pool.end();
      await app.close();
    },
  };
}

/** SQLite: our module vs prepared better-sqlite3 statements on the same database handle (`pluck` for the one-column reads). */
export async function sqliteTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-'));
  const url = `sqlite:${join(dir, 'bench.db')}`;
  const tables = uniqueTables('bench');
  const { app, memory } = await startOurs(url, tables, 1);
  const db = (memory.dataSource.driver as any).databaseConnection as import('better-sqlite3').Database;
  const S = `"${tables.sessions}"`;
  const M = `"${tables.messages}"`;
  const upsert = db.prepare(
    `INSERT INTO ${S} (session_id) VALUES (?) ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP`,
  );
  const insert = db.prepare(`INSERT INTO ${M} (session_id, message_data) VALUES (?, ?)`);
  const newest = db
    .prepare(`SELECT message_data FROM ${M} WHERE ${oneSession('@c', '@c')} ${NEWEST_FIRST} LIMIT @n`)
    .pluck(true);
  const all = db.prepare(`SELECT message_data FROM ${M} WHERE ${oneSession('@c', '@c')} ${OLDEST_FIRST}`).pluck(true);
  const pop = db.prepare(
    `DELETE FROM ${M} WHERE id = (SELECT id FROM ${M} WHERE ${oneSession('@c', '@c')} ${NEWEST_FIRST} LIMIT 1) RETURNING message_data`,
  );
  const append = db.transaction((c: string, data: string[]) => {
    upsert.run(c);
    for (const d of data) insert.run(c, d);
  });
  const floor: Impl = {
    tag: 'floor',
    add: async (c, items) =>
      append(
        c,
        items.map((i) => JSON.stringify(i)),
      ),
    get: async (c, limit) =>
      limit === undefined
        ? parseTexts(all.all({ c }) as string[], false)
        : parseTexts(newest.all({ c, n: limit }) as string[], true),
    pop: async (c) => {
      const row = pop.get({ c }) as { message_data: string } | undefined;
      return row ? JSON.parse(row.message_data) : undefined;
    },
  };
  return {
    dialect: 'sqlite',
    ours: oursImpl(memory),
    floor,
    async bulkLoad(prefix, convs, perConv, templates = TEMPLATES) {
      const params = {
        prefix,
        convs,
        total: convs * perConv,
        t0: templates[0],
        t1: templates[1],
        t2: templates[2],
        t3: templates[3],
        t4: templates[4],
      };
      db.prepare(
        `WITH RECURSIVE c(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM c WHERE g < @convs - 1) ` +
          `INSERT INTO ${S} (session_id) SELECT @prefix || '_' || g FROM c WHERE true ON CONFLICT DO NOTHING`,
      ).run({ prefix, convs });
      if (params.total === 0) return;
      db.prepare(
        `WITH RECURSIVE c(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM c WHERE g < @total - 1) ` +
          `INSERT INTO ${M} (session_id, message_data) SELECT @prefix || '_' || (g % CAST(@convs AS INTEGER)), ` +
          `replace(CASE g % 5 WHEN 0 THEN @t0 WHEN 1 THEN @t1 WHEN 2 THEN @t2 WHEN 3 THEN @t3 ELSE @t4 END, '#N#', g) FROM c`,
      ).run(params);
    },
    async analyze() {
      db.exec('ANALYZE');
    },
    async version() {
      return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    },
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** MariaDB / MySQL: our module vs a callback `mysql2` pool of the same size, autocommit statements. */
export async function mariadbTarget(url: string, poolSize: number): Promise<Target> {
  const mysql = require('mysql2') as typeof import('mysql2');
  const tables = uniqueTables('bench');
  const { app, memory } = await startOurs(url, tables, poolSize);
  const pool = mysql.createPool({
    uri: url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: poolSize,
    charset: 'utf8mb4_unicode_ci',
  });
  const q = <T = any>(text: string, values: unknown[] = []) =>
    new Promise<T>((resolve, reject) =>
      pool.query(text, values, (err, res) => (err ? reject(err) : resolve(res as T))),
    );
  // The reads' rows as arrays (no object per row). The text protocol: `pool.execute` (prepared, binary
  // protocol) measured no faster here for these reads (docs/benchmarks.md, "The whole read at the floor").
  const qArrays = (text: string, values: unknown[]) =>
    new Promise<unknown[][]>((resolve, reject) =>
      pool.query({ sql: text, values, rowsAsArray: true }, (err, res) =>
        err ? reject(err) : resolve(res as unknown[][]),
      ),
    );
  /** Runs `work` on one pooled connection (a transaction's statements), then gives it back. */
  const withConnection = <T>(
    work: (run: <R = any>(text: string, values?: unknown[]) => Promise<R>) => Promise<T>,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) =>
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        const run = <R = any>(text: string, values: unknown[] = []) =>
          new Promise<R>((ok, fail) => conn.query(text, values, (e, res) => (e ? fail(e) : ok(res as R))));
        work(run)
          .finally(() => conn.release())
          .then(resolve, reject);
      }),
    );
  const retry = async <T>(work: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if ((err as { errno?: number }).errno !== 1213 || attempt >= 10) throw err;
      }
    }
  };
  const S = `\`${tables.sessions}\``;
  const M = `\`${tables.messages}\``;
  const floor: Impl = {
    tag: 'floor',
    add: async (c, items) => {
      // Two autocommit statements: the multi-row INSERT is atomic by itself; an empty session row is harmless.
      await retry(() =>
        q(`INSERT INTO ${S} (session_id) VALUES (?) ON DUPLICATE KEY UPDATE updated_at = CURRENT_TIMESTAMP(6)`, [c]),
      );
      const values: unknown[] = [];
      for (const i of items) values.push(c, JSON.stringify(i));
      await retry(() =>
        q(`INSERT INTO ${M} (session_id, message_data) VALUES ${items.map(() => '(?, ?)').join(', ')}`, values),
      );
    },
    get: async (c, limit) =>
      limit === undefined
        ? parseFirsts(
            await qArrays(`SELECT message_data FROM ${M} WHERE ${oneSession('?', '?')} ${OLDEST_FIRST}`, [c, c]),
            false,
          )
        : parseFirsts(
            await qArrays(`SELECT message_data FROM ${M} WHERE ${oneSession('?', '?')} ${NEWEST_FIRST} LIMIT ?`, [
              c,
              c,
              limit,
            ]),
            true,
          ),
    pop: async (c) => {
      const rows = await retry(() =>
        q<{ message_data: string }[]>(
          `DELETE FROM ${M} WHERE ${oneSession('?', '?')} ${NEWEST_FIRST} LIMIT 1 RETURNING message_data`,
          [c, c],
        ),
      );
      return rows.length ? JSON.parse(rows[0].message_data) : undefined;
    },
    // popItem's guarantee: the session row locked first (every writer's lock order), then the newest
    // row deleted and returned, in one transaction (4 round trips; no multi-statement queries).
    popCorrect: (c) =>
      retry(() =>
        withConnection(async (run) => {
          await run('START TRANSACTION');
          try {
            await run(`SELECT session_id FROM ${S} WHERE session_id = ? FOR UPDATE`, [c]);
            const rows = await run<{ message_data: string }[]>(
              `DELETE FROM ${M} WHERE ${oneSession('?', '?')} ${NEWEST_FIRST} LIMIT 1 RETURNING message_data`,
              [c, c],
            );
            await run('COMMIT');
            return rows.length ? JSON.parse(rows[0].message_data) : undefined;
          } catch (err) {
            await run('ROLLBACK').catch(() => undefined);
            throw err;
          }
        }),
      ),
  };
  return {
    dialect: 'mariadb',
    ours: oursImpl(memory),
    floor,
    async bulkLoad(prefix, convs, perConv, templates = TEMPLATES) {
      await q(`INSERT IGNORE INTO ${S} (session_id) SELECT CONCAT(?, '_', seq) FROM seq_0_to_${convs - 1}`, [prefix]);
      if (convs * perConv === 0) return;
      await q(
        `INSERT INTO ${M} (session_id, message_data) ` +
          `SELECT CONCAT(?, '_', seq % ?), REPLACE(ELT(1 + seq % 5, ?, ?, ?, ?, ?), '#N#', seq) FROM seq_0_to_${convs * perConv - 1}`,
        [prefix, convs, ...templates],
      );
    },
    async analyze() {
      await q(`ANALYZE TABLE ${S}, ${M}`);
    },
    async version() {
      return (await q<{ v: string }[]>('SELECT VERSION() AS v'))[0].v;
    },
    async close() {
      await dropBenchTables({ query: (sql) => q(sql) }, tables);
      await new Promise<void>((r) => pool.end(() => r()));
      await app.close();
    },
  };
}
