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
 *   (--calls=N: addItems calls per round, default 400; 50 conversations per round either way;
 *    --index-interval=MS: the "on" side's search.indexIntervalMs, default the module's)
 *   npm run bench:search -- --dialects=citus --conversations=10000 --parts=search
 *   npm run bench:search -- --parts=search --owner-counts=1000,100,10   # owners of 100, 1,000, 10,000 conversations
 *
 * On Citus the search part also times a per-conversation search (`findTurnsByContent`: one whole read
 * of the conversation) and EXPLAINs every statement one search of each kind sends (its task count:
 * 1 = routed to one shard, else a fan-out).
 */
import { Client } from 'pg';
import { performance } from 'perf_hooks';
import { DataSource } from 'typeorm';
import { SessionMemoryService } from '../lib';
import { dataSourceOptionsFromUrl } from '../lib/storage/data-source.factory';
import { SearchStorage, createSearchStorage } from '../lib/storage/search/search-storage';
import { parseSearchQuery } from '../lib/search/search-query';
import { TEST_URLS } from '../test/support/databases';
import { SentStatement, recordStatements } from '../test/support/citus';
import { user } from '../test/support/items';
import { tempSqliteFile, uniqueTables } from '../test/support/tables';
import { startApp, stopApp } from './app';
import { arg, runMain } from './cli';
import { BenchDialect, loadStatements } from './search-data';
import { serverCpuMs } from './server-cpu';
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

/** Gives conversation `bench-<g>` to owner `owner-<g % k>` (the load's naming). */
function reassignOwners(dialect: BenchDialect, owners: string, k: number): string {
  if (dialect === 'mariadb')
    return `UPDATE ${owners} SET owner = CONCAT('owner-', CAST(SUBSTRING(session_id, 7) AS UNSIGNED) % ${k})`;
  return `UPDATE ${owners} SET owner = 'owner-' || (CAST(substr(session_id, 7) AS INTEGER) % ${k})`;
}

async function addItemsRounds(dialect: BenchDialect, url: string, rounds: number, calls: number): Promise<string> {
  const interval = arg('index-interval', '');
  const on = interval === '' ? true : { indexIntervalMs: Number(interval) };
  const sides = await Promise.all(
    [false, true].map(async (search) => {
      const tables = uniqueTables(search ? 'bsa' : 'bsb');
      return { search, tables, ...(await startApp({ url, createTables: true, tables, search: search && on })) };
    }),
  );
  const perCall = { on: [] as number[], off: [] as number[] };
  const rate = { on: 0, off: 0 };
  // CPU per side: this process (the module, the callers, the index passes) and the local server's processes.
  const cpu = { on: { node: 0, server: 0 }, off: { node: 0, server: 0 } };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
        const t0 = performance.now();
        const node0 = process.cpuUsage();
        const server0 = serverCpuMs(dialect);
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
        const node = process.cpuUsage(node0);
        cpu[k].node += (node.user + node.system) / 1000;
        cpu[k].server += (serverCpuMs(dialect) ?? NaN) - (server0 ?? NaN);
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
  const onRate = rate.on / rounds;
  const off = rate.off / rounds;
  const passes = interval === '' ? 'default index interval' : `index interval ${interval} ms`;
  const perCallUs = (totalMs: number) =>
    Number.isNaN(totalMs) ? 'n/a' : ((totalMs * 1000) / (calls * rounds)).toFixed(0);
  return (
    `addItems (2 items, 8 callers, ${rounds} alternating rounds of ${calls}, ${passes}): search off ${off.toFixed(0)} calls/s, ` +
    `on ${onRate.toFixed(0)} calls/s including its index syncs (${((off / onRate - 1) * 100).toFixed(1)} % slower); ` +
    `median call ${fmt(median(perCall.off))} ms off / ${fmt(median(perCall.on))} ms on; ` +
    `CPU per call off / on: this process ${perCallUs(cpu.off.node)} / ${perCallUs(cpu.on.node)} µs, ` +
    `the server's processes ${perCallUs(cpu.off.server)} / ${perCallUs(cpu.on.server)} µs`
  );
}

async function indexSize(dialect: BenchDialect, memory: SessionMemoryService, search: string, messages: string) {
  const q = (sql: string) => memory.dataSource.query(sql) as Promise<Record<string, unknown>[]>;
  const mb = (x: unknown) => `${(Number(x) / 1024 / 1024).toFixed(0)} MB`;
  if (dialect === 'citus') {
    const [r] = await q(
      `SELECT citus_total_relation_size('${search}') AS total, citus_total_relation_size('${messages}') AS messages`,
    );
    return `search table ${mb(r.total)} in all, over every shard (messages table ${mb(r.messages)})`;
  }
  if (dialect === 'postgres') {
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
  if (parts.includes('add'))
    out.push(await addItemsRounds(dialect, url, Number(arg('rounds', '6')), Number(arg('calls', '400'))));
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
    let owner = (i: number) => `owner-${(i * 7919) % owners}`;
    const count = Number(arg('queries', '300'));
    // --owner-counts=1000,100,10: the owner-scoped part again with the same conversations shared among
    // fewer owners (the owners table rewritten: conversation g to owner g % k), so each owner has more.
    for (const k of arg('owner-counts', String(owners)).split(',').map(Number)) {
      if (k !== owners) {
        await q(reassignOwners(dialect, names.owners, k));
        await q(dialect === 'mariadb' ? `ANALYZE TABLE ${names.owners}` : `ANALYZE ${names.owners}`);
        owner = (i: number) => `owner-${(i * 7919) % k}`;
      }
      for (let i = 0; i < 20; i++) await memory.searchConversations({ query: randomQuery(i), owner: owner(i) }); // warm-up
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
        `owner-scoped (${k} owners, ${conversations / k} conversations = ${(conversations / k) * messages} messages each): ` +
          `search p50 ${fmt(fts.p50)} ms, p99 ${fmt(fts.p99)} ms; LIKE p50 ${fmt(like.p50)} ms, p99 ${fmt(like.p99)} ms ` +
          `(p50 ratio ${(like.p50 / fts.p50).toFixed(1)}x, mean ratio ${(like.mean / fts.mean).toFixed(1)}x)`,
      );
    }
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
    if (dialect === 'citus') out.push(...(await citusPart(memory, storage, q, conversations, owner, count)));
  } finally {
    for (const t of [`${tables.messages}_search_fts`, `${tables.messages}_search`])
      await q(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    if (raw !== memory.dataSource) await raw.destroy();
    await stopApp(app, tables);
  }
  return out;
}

/**
 * Citus only: a per-conversation search (`findTurnsByContent`, one whole read of the conversation)
 * timed, and the EXPLAIN of every statement one search of each kind sends: how many tasks (shards).
 */
async function citusPart(
  memory: SessionMemoryService,
  storage: SearchStorage,
  q: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
  conversations: number,
  owner: (i: number) => string,
  count: number,
): Promise<string[]> {
  const conversation = (i: number) => `bench-${(i * 104729) % conversations}`;
  const word = (i: number) => randomQuery(2 * i); // one word
  for (let i = 0; i < 20; i++) await memory.session(conversation(i)).findTurnsByContent(word(i));
  const one = await timed(count, (i) => memory.session(conversation(i)).findTurnsByContent(word(i)));
  const out = [`per conversation (findTurnsByContent, 20 messages): p50 ${fmt(one.p50)} ms, p99 ${fmt(one.p99)} ms`];
  const tasksOf = async (work: () => Promise<unknown>): Promise<string> => {
    const recorder = recordStatements(memory.dataSource);
    let sent: SentStatement[];
    try {
      await work();
      sent = recorder.take();
    } finally {
      recorder.stop();
    }
    const counts: string[] = [];
    for (const s of sent) {
      if (/^\s*(BEGIN|COMMIT|ROLLBACK|SELECT 1)\s*$/i.test(s.text)) continue;
      const plan = (await q(`EXPLAIN (COSTS OFF) ${s.text}`, s.values)).map((r) => String(r['QUERY PLAN'])).join('\n');
      const tasks = [...plan.matchAll(/Task Count: (\d+)/g)].map((m) => m[1]);
      counts.push(`${tasks.join('+') || 'coordinator'}${/Distributed Subplan/.test(plan) ? ' (subplan)' : ''}`);
    }
    return `${counts.length} statement(s), tasks ${counts.join(', ')}`;
  };
  // The owner-scoped search's cost, by part, on one connection of its own: the search statement alone
  // (one fan-out), with Citus's defaults and with more connections to each worker kept open
  // (citus.max_cached_conns_per_worker: by default 1, so most tasks of a fan-out wait for a new
  // connection); and the turns of its page counted as the module does (one statement per conversation
  // of the page, routed, run together) or in one statement for the whole page.
  type Hit = { session_id: string; branch_id: string; item_id: string };
  const client = new Client({ connectionString: TEST_URLS.citus });
  await client.connect();
  const pages: Hit[][] = [];
  const searchAlone = () =>
    timed(count, async (i) => {
      const st = storage.statements.search({ query: parseSearchQuery(randomQuery(i)), owner: owner(i), limit: 21 });
      pages.push((await client.query(st.sql, st.params)).rows as Hit[]);
    });
  let alone: Awaited<ReturnType<typeof timed>>;
  let cached: Awaited<ReturnType<typeof timed>>;
  try {
    alone = await searchAlone();
    await client.query('SET citus.max_cached_conns_per_worker = 16');
    await searchAlone(); // warm-up: the cache fills
    cached = await searchAlone();
  } finally {
    await client.end();
  }
  const questions = (page: Hit[]) =>
    page.slice(0, 20).map((h) => ({ sessionId: h.session_id, branchId: h.branch_id, itemId: String(h.item_id) }));
  const full = pages.filter((p) => p.length > 0).slice(0, count);
  const perConversation = await timed(full.length, async (i) => {
    const byConversation = new Map<string, ReturnType<typeof questions>>();
    for (const question of questions(full[i]))
      byConversation.set(question.sessionId, [...(byConversation.get(question.sessionId) ?? []), question]);
    await Promise.all(
      [...byConversation.values()].map((qs) => {
        const st = storage.turns.counts(qs);
        return q(st.sql, st.params);
      }),
    );
  });
  const onePage = await timed(full.length, async (i) => {
    const st = storage.turns.counts(questions(full[i]));
    await q(st.sql, st.params);
  });
  const hitsPerPage = full.reduce((n, p) => n + Math.min(20, p.length), 0) / Math.max(1, full.length);
  out.push(
    `owner-scoped, by part: search statement alone p50 ${fmt(alone.p50)} ms, p99 ${fmt(alone.p99)} ms ` +
      `(with citus.max_cached_conns_per_worker = 16: p50 ${fmt(cached.p50)} ms, p99 ${fmt(cached.p99)} ms); ` +
      `turns of the page (${hitsPerPage.toFixed(1)} hits on average), one statement per conversation in parallel ` +
      `p50 ${fmt(perConversation.p50)} ms, p99 ${fmt(perConversation.p99)} ms; one statement for the page ` +
      `p50 ${fmt(onePage.p50)} ms, p99 ${fmt(onePage.p99)} ms`,
  );
  // A query that finds hits in many conversations, so the page is full.
  const common = 'w20';
  out.push(
    `EXPLAIN, per conversation: ${await tasksOf(() => memory.session(conversation(1)).findTurnsByContent(common))}`,
  );
  out.push(
    `EXPLAIN, owner-scoped searchConversations (search, then the turns of the page's hits): ` +
      (await tasksOf(() => memory.searchConversations({ query: common, owner: owner(1), limit: 20 }))),
  );
  out.push(
    `EXPLAIN, searchConversations without owner: ` +
      (await tasksOf(() => memory.searchConversations({ query: common, limit: 20 }))),
  );
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
