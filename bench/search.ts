/**
 * Full-text search at scale (issue 22): a data set of `--conversations` conversations of `--messages`
 * messages (default 100,000 x 20 = 2,000,000), built server-side with SQL, owned by `--owners`
 * owners; then
 *   - owner-scoped searchConversations p50 / p99 (one or two words, limit 20), and the same search as
 *     a LIKE scan of the owner's messages; the same without an owner (every conversation) both ways;
 *   - the search table's size (table, full-text index);
 *   - addItems with search on vs off: two instances on fresh tables, 8 callers each, alternating
 *     rounds; "on" counts each round until its index syncs are done.
 *
 *   npm run bench:search                                       # sqlite, postgres, mariadb
 *   npm run bench:search -- --dialects=mariadb --conversations=20000
 *   npm run bench:search -- --dialects=postgres --parts=add --rounds=10     # addItems on vs off only
 */
import { performance } from 'perf_hooks';
import { DataSource } from 'typeorm';
import { SessionMemoryService } from '../lib';
import { dataSourceOptionsFromUrl } from '../lib/storage/data-source.factory';
import { createSearchStorage } from '../lib/storage/search/search-storage';
import { TEST_URLS } from '../test/support/databases';
import { user } from '../test/support/items';
import { tempSqliteFile, uniqueTables } from '../test/support/tables';
import { startApp, stopApp } from './app';
import { arg, runMain } from './cli';
import { BenchDialect, loadStatements } from './search-data';
import { LatencyRecorder } from './stats';

const ms = (t0: number) => performance.now() - t0;
const fmt = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

/** A query of one or two words of middling frequency (they match a few hundred to a few thousand rows per million). */
function randomQuery(i: number): string {
  const word = () => `w${200 + Math.floor(Math.random() * 1500)}`;
  return i % 2 === 0 ? word() : `${word()} ${word()}`;
}

async function timed(
  count: number,
  run: (i: number) => Promise<unknown>,
): Promise<{ p50: number; p99: number; mean: number }> {
  const rec = new LatencyRecorder(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await run(i);
    const t = ms(t0);
    sum += t;
    rec.record(t);
  }
  const [p50, p99] = rec.percentiles(50, 99);
  return { p50, p99, mean: sum / count };
}

/** The LIKE form of a query: every word as a substring of message_data, newest first, 20 rows. */
function likeSql(dialect: BenchDialect, messages: string, owners: string, owned: boolean, words: number): string {
  const p = (i: number) => (dialect === 'postgres' || dialect === 'citus' ? `$${i}` : '?');
  const conditions = Array.from({ length: words }, (_, i) => `m.message_data LIKE ${p(i + (owned ? 2 : 1))}`);
  const join = owned ? ` JOIN ${owners} o ON o.session_id = m.session_id AND o.owner = ${p(1)}` : '';
  return `SELECT m.id, m.session_id, m.message_data FROM ${messages} m${join} WHERE ${conditions.join(' AND ')} ORDER BY m.id DESC LIMIT 20`;
}

async function addItemsRounds(dialect: BenchDialect, url: string, rounds: number): Promise<string> {
  const sides = await Promise.all(
    [false, true].map(async (search) => {
      const tables = uniqueTables(search ? 'bsa' : 'bsb');
      return { search, tables, ...(await startApp({ url, createTables: true, tables, search })) };
    }),
  );
  const perCall = { on: [] as number[], off: [] as number[] };
  const rate = { on: 0, off: 0 };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
        const calls = 400;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: 8 }, async (_, w) => {
            for (let i = w; i < calls; i += 8) {
              const t = performance.now();
              await side.memory
                .session(`add-${r}-${i % 50}`)
                .addItems([user(`round ${r} call ${i} w${i % 2000} hello there`), user('another message')]);
              (side.search ? perCall.on : perCall.off).push(ms(t));
            }
          }),
        );
        if (side.search) await side.memory.searchConversations({ query: 'settle' }); // its index syncs done
        const k = side.search ? 'on' : 'off';
        rate[k] += calls / (ms(t0) / 1000);
      }
    }
  } finally {
    for (const side of sides) {
      if (side.search)
        for (const t of [`${side.tables.messages}_search_fts`, `${side.tables.messages}_search`])
          await side.memory.dataSource.query(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
      await stopApp(side, side.tables);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const on = rate.on / rounds;
  const off = rate.off / rounds;
  return (
    `addItems (2 items, 8 callers, ${rounds} alternating rounds of 400): search off ${off.toFixed(0)} calls/s, ` +
    `on ${on.toFixed(0)} calls/s including its index syncs (${((off / on - 1) * 100).toFixed(1)} % slower); ` +
    `median call ${fmt(median(perCall.off))} ms off / ${fmt(median(perCall.on))} ms on`
  );
}

async function indexSize(dialect: BenchDialect, memory: SessionMemoryService, search: string, messages: string) {
  const q = (sql: string) => memory.dataSource.query(sql) as Promise<Record<string, unknown>[]>;
  const mb = (x: unknown) => `${(Number(x) / 1024 / 1024).toFixed(0)} MB`;
  if (dialect === 'postgres' || dialect === 'citus') {
    const [r] = await q(
      `SELECT pg_total_relation_size('${search}') AS total, pg_relation_size('idx_${search}_text') AS gin, pg_total_relation_size('${messages}') AS messages`,
    );
    return `search table ${mb(r.total)} in all, of which GIN index ${mb(r.gin)} (messages table ${mb(r.messages)})`;
  }
  if (dialect === 'mariadb') {
    const [r] = await q(
      `SELECT SUM(CASE WHEN TABLE_NAME = '${search}' THEN DATA_LENGTH + INDEX_LENGTH END) AS s, SUM(CASE WHEN TABLE_NAME = '${messages}' THEN DATA_LENGTH + INDEX_LENGTH END) AS m FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`,
    );
    const [fts] = await q(
      `SELECT SUM(t.ALLOCATED_SIZE) AS f FROM information_schema.INNODB_SYS_TABLES s JOIN information_schema.INNODB_SYS_TABLESPACES t ON t.SPACE = s.SPACE ` +
        `WHERE s.NAME LIKE CONCAT(DATABASE(), '/FTS_%') AND s.TABLE_ID > 0`,
    ).catch(() => [{ f: NaN }]);
    return `search table ${mb(r.s)} (rows + keys; FULLTEXT auxiliary tables of the database ${Number.isNaN(Number(fts.f)) ? 'n/a' : mb(fts.f)}) (messages table ${mb(r.m)})`;
  }
  const rows = await q(
    `SELECT name, SUM(pgsize) AS bytes FROM dbstat WHERE name LIKE '%${search}%' OR name LIKE '%${messages}' GROUP BY name`,
  ).catch(() => []);
  return rows.map((r) => `${String(r.name)} ${mb(r.bytes)}`).join(', ') || 'dbstat unavailable';
}

async function benchDialect(dialect: BenchDialect, conversations: number, messages: number, owners: number) {
  const url = dialect === 'sqlite' ? `sqlite:${tempSqliteFile('search.db')}` : TEST_URLS[dialect];
  const parts = arg('parts', 'search,add').split(',');
  const out = parts.includes('search') ? await searchPart(dialect, url, conversations, messages, owners) : [];
  if (parts.includes('add')) out.push(await addItemsRounds(dialect, url, Number(arg('rounds', '6'))));
  return out;
}

async function searchPart(dialect: BenchDialect, url: string, conversations: number, messages: number, owners: number) {
  const tables = uniqueTables('bsrch');
  const app = await startApp({ url, createTables: true, tables, search: true });
  const { memory } = app;
  const names = {
    sessions: tables.sessions,
    messages: tables.messages,
    owners: `${tables.sessions}_owners`,
    search: `${tables.messages}_search`,
    fts: dialect === 'sqlite' ? `${tables.messages}_search_fts` : `idx_${tables.messages}_search_text`,
  };
  // The load and the LIKE scans run without the module's statement time limit: on a DataSource of
  // their own for the servers; on SQLite the module's (a second SQLite copy must not open its file).
  const raw =
    dialect === 'sqlite'
      ? memory.dataSource
      : await new DataSource(
          dataSourceOptionsFromUrl(url, {}, { statementMs: 0, lockMs: 0, connectMs: 10_000 }),
        ).initialize();
  const q = (sql: string, params: unknown[] = []) => raw.query(sql, params);
  const out: string[] = [];
  try {
    const plan = loadStatements(dialect, names, conversations, messages, owners);
    const t0 = performance.now();
    for (const sql of [...plan.before, ...plan.load, ...plan.after]) await q(sql);
    const storage = await createSearchStorage(
      dialect === 'mariadb' ? 'mysql' : dialect,
      (sql, params = []) => q(sql, params),
      tables,
      'simple',
    );
    await storage.createTables(); // puts back what the load dropped (SQLite's trigger); idempotent
    out.push(
      `data set: ${conversations} conversations x ${messages} messages, ${owners} owners, built and indexed in ${(ms(t0) / 1000).toFixed(0)} s`,
    );
    out.push(`size: ${await indexSize(dialect, memory, names.search, names.messages)}`);
    const owner = (i: number) => `owner-${(i * 7919) % owners}`;
    for (let i = 0; i < 20; i++) await memory.searchConversations({ query: randomQuery(i), owner: owner(i) }); // warm-up
    const count = Number(arg('queries', '300'));
    const fts = await timed(count, (i) =>
      memory.searchConversations({ query: randomQuery(i), owner: owner(i), limit: 20 }),
    );
    const like = await timed(count, (i) => {
      const words = randomQuery(i).split(' ');
      return q(likeSql(dialect, names.messages, names.owners, true, words.length), [
        owner(i),
        ...words.map((w) => `%${w}%`),
      ]);
    });
    out.push(
      `owner-scoped (${conversations / owners} conversations each): search p50 ${fmt(fts.p50)} ms, p99 ${fmt(fts.p99)} ms; ` +
        `LIKE p50 ${fmt(like.p50)} ms, p99 ${fmt(like.p99)} ms (mean ratio ${(like.mean / fts.mean).toFixed(1)}x)`,
    );
    const wideCount = Math.max(10, Math.floor(count / 10));
    const wide = await timed(wideCount, (i) => memory.searchConversations({ query: randomQuery(i), limit: 20 }));
    const wideLike = await timed(Math.max(3, Math.floor(wideCount / 5)), (i) => {
      const words = randomQuery(i).split(' ');
      return q(
        likeSql(dialect, names.messages, names.owners, false, words.length),
        words.map((w) => `%${w}%`),
      );
    });
    out.push(
      `every conversation (no owner): search p50 ${fmt(wide.p50)} ms, p99 ${fmt(wide.p99)} ms; ` +
        `LIKE p50 ${fmt(wideLike.p50)} ms, p99 ${fmt(wideLike.p99)} ms (mean ratio ${(wideLike.mean / wide.mean).toFixed(1)}x)`,
    );
  } finally {
    for (const t of [`${tables.messages}_search_fts`, `${tables.messages}_search`])
      await q(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    if (raw !== memory.dataSource) await raw.destroy();
    await stopApp(app, tables);
  }
  return out;
}

async function main(): Promise<void> {
  const dialects = arg('dialects', 'sqlite,postgres,mariadb').split(',') as BenchDialect[];
  const conversations = Number(arg('conversations', '100000'));
  const messages = Number(arg('messages', '20'));
  const owners = Number(arg('owners', String(Math.max(1, Math.floor(conversations / 100)))));
  for (const dialect of dialects) {
    console.log(`\n## ${dialect}`);
    for (const line of await benchDialect(dialect, conversations, messages, owners)) console.log(`- ${line}`);
  }
}

runMain(main);
