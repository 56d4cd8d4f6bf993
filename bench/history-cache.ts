/**
 * The history cache (issue 25 item 5, docs/benchmarks.md "History cache"): what a turn's whole read
 * costs with the real Agents SDK runner (`run()` with the sample's `LocalModel`, which calls a tool
 * returning 4 KB at every user message) on a 2,000-item conversation against a 20-item one, with the
 * `historyCache` option off and on. Per turn: the database bytes of the rows the whole reads received
 * (every column value of every row the pg pool returned during `getItems()` with no limit: texts at
 * their UTF-8 size, numbers at 8 bytes), the time spent in those reads, and the turn's whole time.
 * Two module instances on the same tables (cache off, cache on), the four combinations alternating in
 * every round, medians of `--rounds`. Each round runs two turns per conversation and measures the
 * second (whose whole read finds the first turn's 4 items new), then deletes both turns' rows, so that
 * the conversations keep their sizes (20 + 4 and 2,000 + 4 items when measured).
 *
 *   npm run bench:history-cache                       # PostgreSQL, 40 rounds
 *   npm run bench:history-cache -- --rounds=80
 */
import { performance } from 'perf_hooks';
import { Agent, run, tool } from '@openai/agents-core';
import { z } from 'zod';
import { SessionItem, SessionMemoryService } from '../lib';
import { LocalModel } from '../sample/src/local-model';
import { TEST_URLS } from '../test/support/databases';
import { functionCall, user } from '../test/support/items';
import { uniqueTables } from '../test/support/tables';
import { startApp, stopApp } from './app';
import { arg, runMain } from './cli';

process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';

const OUTPUT = 'x'.repeat(4096);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Bytes of what the database returned: texts at their UTF-8 size, everything else at 8 bytes. */
function rowBytes(rows: unknown[]): number {
  let bytes = 0;
  for (const row of rows) {
    for (const value of Object.values(row as object)) {
      if (value === null || value === undefined) continue;
      bytes += typeof value === 'string' ? Buffer.byteLength(value) : 8;
    }
  }
  return bytes;
}

/** What the whole reads of one turn cost. */
interface Meter {
  counting: boolean;
  bytes: number;
  readMs: number;
  reads: number;
}

/** Counts the bytes of every result the pg pool of `memory` returns while `meter.counting`. */
function meterPool(memory: SessionMemoryService, meter: Meter): void {
  const pool = (memory.dataSource.driver as unknown as { master: { query: (...args: unknown[]) => unknown } }).master;
  const query = pool.query.bind(pool);
  pool.query = (...args: unknown[]) => {
    const result = query(...args) as Promise<{ rows: unknown[] }> | undefined;
    if (!meter.counting || !result || typeof result.then !== 'function') return result;
    return result.then((r) => {
      if (Array.isArray(r?.rows)) meter.bytes += rowBytes(r.rows);
      return r;
    });
  };
}

/** A session of `memory` whose whole reads (`getItems()` with no limit) are timed and metered. */
function meteredSession(memory: SessionMemoryService, id: string, meter: Meter) {
  const session = memory.session(id);
  const getItems = session.getItems.bind(session);
  session.getItems = async (limit, runContext) => {
    if (limit !== undefined) return getItems(limit, runContext);
    meter.counting = true;
    const start = performance.now();
    try {
      return await getItems(limit, runContext);
    } finally {
      meter.readMs += performance.now() - start;
      meter.reads++;
      meter.counting = false;
    }
  };
  return session;
}

/** A conversation of `items` items: turns of user message, tool call, 4 KB tool output, answer. */
async function fill(memory: SessionMemoryService, id: string, items: number): Promise<void> {
  const batch: SessionItem[] = [];
  for (let i = 0; batch.length < items; i++) {
    batch.push(user(`question ${i}`), functionCall(`call_fill_${i}`, JSON.stringify({ text: `question ${i}` })));
    batch.push({
      type: 'function_call_result',
      callId: `call_fill_${i}`,
      name: 'lookup',
      status: 'completed',
      output: { type: 'text', text: OUTPUT },
    } as SessionItem);
    batch.push({
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: `answer ${i}` }],
    } as SessionItem);
  }
  for (let i = 0; i < items; i += 500) await memory.session(id).addItems(batch.slice(i, Math.min(items, i + 500)));
}

/**
 * The same whole reads without the runner (whose model copies every input, leaving garbage for the
 * next read to collect): per round and case, 4 items appended (one a 4 KB tool output, as a turn writes)
 * and then one `getItems()` timed, the four cases alternating; the appended rows are deleted at the end.
 */
async function readsAlone(
  cases: { key: string; memory: SessionMemoryService; id: string; meter: Meter }[],
  rounds: number,
): Promise<void> {
  const times = new Map<string, number[]>();
  const turn = (i: number): SessionItem[] => [
    user(`alone ${i}`),
    functionCall(`call_alone_${i}`, '{}'),
    {
      type: 'function_call_result',
      callId: `call_alone_${i}`,
      name: 'lookup',
      status: 'completed',
      output: { type: 'text', text: OUTPUT },
    } as SessionItem,
    { role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `answer ${i}` }] } as SessionItem,
  ];
  for (let r = -3; r < rounds * 4; r++) {
    for (const c of r % 2 === 0 ? cases : [...cases].reverse()) {
      const session = c.memory.session(c.id);
      await session.addItems(turn(r));
      const start = performance.now();
      await session.getItems();
      if (r >= 0) times.set(c.key, [...(times.get(c.key) ?? []), performance.now() - start]);
      await session.popItem(); // keeps the sizes; the next read finds the pop (a miss) for the cache-on cases
      for (let k = 0; k < 3; k++) await session.popItem();
      await session.getItems(); // the read after the pops, not timed: the next timed read sees only the appended rows
    }
  }
  const m = (key: string) => median(times.get(key) ?? []);
  console.log(
    `without the runner (${rounds * 4} reads each, medians): ` +
      cases.map((c) => `${c.key} ${m(c.key).toFixed(3)} ms`).join(', '),
  );
  console.log(
    `  2,000 vs 20 items: cache off ${(m('off-2000') / m('off-20')).toFixed(2)}x, cache on ${(m('on-2000') / m('on-20')).toFixed(2)}x`,
  );
}

async function main(): Promise<void> {
  const rounds = Number(arg('rounds', '40'));
  const url = arg('url', TEST_URLS.postgres);
  const tables = uniqueTables('bench_hc');
  const off = await startApp({ url, tables, createTables: true });
  const on = await startApp({ url, tables, historyCache: true });
  const model = new LocalModel({ maxRecordedCalls: 1 });
  const lookup = tool({
    name: 'lookup',
    description: 'Looks something up.',
    parameters: z.object({ text: z.string() }),
    execute: async () => OUTPUT,
  });
  const agent = new Agent({ name: 'Bench', instructions: 'Answer.', model, tools: [lookup] });
  const stamp = Date.now();
  type Key = 'off-20' | 'off-2000' | 'on-20' | 'on-2000';
  const cases: { key: Key; memory: SessionMemoryService; id: string; meter: Meter }[] = [];
  for (const [mode, started] of [
    ['off', off],
    ['on', on],
  ] as const) {
    const meter: Meter = { counting: false, bytes: 0, readMs: 0, reads: 0 };
    meterPool(started.memory, meter);
    for (const size of [20, 2000]) {
      const id = `bench-hc-${mode}-${size}-${stamp}`;
      await fill(off.memory, id, size);
      cases.push({ key: `${mode}-${size}` as Key, memory: started.memory, id, meter });
    }
  }
  const results = new Map<Key, { bytes: number[]; readMs: number[]; reads: number[]; turnMs: number[] }>();
  const sql = (text: string, params: unknown[]) => off.memory.dataSource.query(text, params);
  for (let r = -1; r < rounds; r++) {
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      // A turn, then the measured turn (its whole read finds the previous turn's 4 items new, as in a
      // conversation that goes on), then both turns' rows deleted again (plain SQL, as another program
      // would: the next round's first turn then reads the whole history again).
      const [{ newest }] = await sql(`SELECT MAX(id) AS newest FROM ${tables.messages} WHERE session_id = $1`, [c.id]);
      await run(agent, `turn ${r}a`, { session: meteredSession(c.memory, c.id, c.meter) });
      Object.assign(c.meter, { bytes: 0, readMs: 0, reads: 0 });
      const start = performance.now();
      await run(agent, `turn ${r}b`, { session: meteredSession(c.memory, c.id, c.meter) });
      const turnMs = performance.now() - start;
      await sql(`DELETE FROM ${tables.messages} WHERE session_id = $1 AND id > $2`, [c.id, newest]);
      if (r < 0) continue; // warm-up
      const entry = results.get(c.key) ?? { bytes: [], readMs: [], reads: [], turnMs: [] };
      entry.bytes.push(c.meter.bytes);
      entry.readMs.push(c.meter.readMs);
      entry.reads.push(c.meter.reads);
      entry.turnMs.push(turnMs);
      results.set(c.key, entry);
    }
  }
  console.log(
    `history cache, PostgreSQL, real runner + LocalModel (4 KB tool output per turn), ${rounds} rounds, medians per turn`,
  );
  console.log('case      | whole reads | bytes received | whole-read ms | turn ms');
  const row = (key: Key) => {
    const e = results.get(key)!;
    return { bytes: median(e.bytes), readMs: median(e.readMs), reads: median(e.reads), turnMs: median(e.turnMs) };
  };
  for (const key of ['off-20', 'off-2000', 'on-20', 'on-2000'] as Key[]) {
    const m = row(key);
    console.log(
      `${key.padEnd(9)} | ${String(m.reads).padStart(11)} | ${String(m.bytes).padStart(14)} | ${m.readMs.toFixed(3).padStart(13)} | ${m.turnMs.toFixed(2).padStart(7)}`,
    );
  }
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(2));
  const [o20, o2k, n20, n2k] = (['off-20', 'off-2000', 'on-20', 'on-2000'] as Key[]).map(row);
  console.log(
    `2,000 vs 20 items, cache off: bytes ${ratio(o2k.bytes, o20.bytes)}x, whole-read time ${ratio(o2k.readMs, o20.readMs)}x`,
  );
  console.log(
    `2,000 vs 20 items, cache on:  bytes ${ratio(n2k.bytes, n20.bytes)}x, whole-read time ${ratio(n2k.readMs, n20.readMs)}x`,
  );
  console.log(
    `2,000 items cache on vs 20 items cache off: bytes ${ratio(n2k.bytes, o20.bytes)}x, whole-read time ${ratio(n2k.readMs, o20.readMs)}x`,
  );
  const cache = (on.memory as unknown as { context: { historyCache: { hits: number; misses: number; size: number } } })
    .context.historyCache;
  console.log(`cache: ${cache.hits} hits, ${cache.misses} misses, ${cache.size} bytes held`);
  await readsAlone(cases, rounds);
  await on.app.close();
  await stopApp(off, tables);
}

runMain(main);
