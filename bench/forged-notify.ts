/**
 * Forged change notifications (PostgreSQL LISTEN/NOTIFY, `changes: { notify: true }`): what one
 * forged NOTIFY, and a burst of them, costs an instance that has a `changes$()` subscriber.
 *
 *   npm run bench:forged-notify
 *   npm run bench:forged-notify -- --items=2000 --burst=1000 --url=postgres://postgres@127.0.0.1:5432/test
 *
 * Any role that can connect can NOTIFY the (predictable) channel. The forger here is a plain `pg`
 * client sending `SELECT pg_notify(channel, payload)`; the module instance has one subscriber of the
 * victim conversation (it serialises each event as an `@Sse()` handler does, and drops it: a client
 * that keeps up). Meanwhile an unrelated caller reads another conversation (`getItems(20)`) in a loop.
 * Reported per scenario: that caller's latency (p50 / p99 / max, ms) from the NOTIFY until the
 * instance is quiet again, the process's RSS before and at its peak (sampled every 10 ms, and after
 * each read), the events the subscriber got, and how long until the last one (ms after the NOTIFY).
 *
 * Options (`--name=value`, or BENCH_<NAME>): url, items (rows of the victim conversation, ~1 KiB
 * each, default 2000), burst (notifications in a burst, default 1000), quiet (ms without events that
 * ends a scenario, default 1500), cap (longest scenario, ms, default 120000), scenarios (which rows
 * of the table to run, 1-based, default all), subscriber (`drop`, the default: each event is
 * serialised and dropped; `keep`: the serialised events are kept until the scenario ends, as the
 * socket buffer of an SSE client that does not read keeps them).
 */
import 'reflect-metadata';
import { Client } from 'pg';
import { performance } from 'perf_hooks';
import { ConversationChange } from '../lib';
import { changeChannel } from '../lib/changes/postgres-change-relay';
import { TEST_URLS, uniqueSuffix } from '../test/support/databases';
import { uniqueTables } from '../test/support/tables';
import { startApp, stopApp } from './app';
import { arg, runMain } from './cli';

const url = arg('url', TEST_URLS.postgres);
const victimItems = Number(arg('items', '2000'));
const burst = Number(arg('burst', '1000'));
const quietMs = Number(arg('quiet', '1500'));
const capMs = Number(arg('cap', '120000'));
const only = arg('scenarios', '').split(',').filter(Boolean).map(Number);
const keep = arg('subscriber', 'drop') === 'keep';

const mb = (bytes: number) => (bytes / 1048576).toFixed(0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Scenario {
  name: string;
  /** SQL sending the forged notification(s): $1 the channel, $2 the victim id, $3 how many. */
  sql: string;
  count: number;
}

/** Distinct payloads (`i` varies): PostgreSQL folds identical notifications of one transaction into one. */
const forged = (kind: string, n: string) =>
  `SELECT pg_notify($1, format('{"i":"f%s","c":%s,"k":"${kind}","n":${n}}', g, to_json($2::text))) ` +
  `FROM generate_series(1, $3::int) g`;

const scenarios = (b: number): Scenario[] => [
  { name: '1 × popped, n = 2,000,000', sql: forged('p', '2000000'), count: 1 },
  { name: '1 × added, n = 1e9', sql: forged('a', '1000000000'), count: 1 },
  { name: '1 × cleared (the conversation is not empty)', sql: forged('c', '0'), count: 1 },
  { name: `${b} × added, n = 1e9`, sql: forged('a', '1000000000'), count: b },
  { name: `${b} × added, n = 10 (valid-looking)`, sql: forged('a', '10'), count: b },
  { name: `${b} × popped, n = 1 (valid-looking)`, sql: forged('p', '1'), count: b },
];

async function main(): Promise<void> {
  const suffix = uniqueSuffix();
  const tables = uniqueTables('forged');
  const { app, memory } = await startApp({ url, createTables: true, tables, changes: { notify: true } });
  const forger = new Client({ connectionString: url });
  await forger.connect();
  const channel = changeChannel(tables);
  const victim = `victim-${suffix}`;
  const other = `other-${suffix}`;
  try {
    const filler = 'x'.repeat(1000);
    for (let i = 0; i < victimItems; i += 500) {
      const batch = Array.from({ length: Math.min(500, victimItems - i) }, (_, j) => ({
        role: 'user' as const,
        content: `${i + j} ${filler}`,
      }));
      await memory.session(victim).addItems(batch);
    }
    await memory.session(other).addItems(Array.from({ length: 20 }, (_, i) => ({ role: 'user', content: `o${i}` })));

    let lastEventAt = 0;
    let kept: string[] = [];
    const kinds: Record<string, number> = {};
    const sub = memory.changes$(victim).subscribe((change: ConversationChange) => {
      const text = JSON.stringify({ type: change.type, data: change }); // what an @Sse() handler sends
      if (keep) kept.push(text);
      kinds[change.type] = (kinds[change.type] ?? 0) + 1;
      lastEventAt = performance.now();
    });
    // The instance LISTENs once its listener connection is up.
    for (let i = 0; i < 500; i++) {
      const { rows } = await forger.query(`SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE query = $1`, [
        `LISTEN "${channel}"`,
      ]);
      if (rows[0].n > 0) break;
      await sleep(10);
    }
    await sleep(200);

    console.log(
      `PostgreSQL ${(await forger.query('SHOW server_version')).rows[0].server_version}, node ${process.version}`,
    );
    console.log(
      `victim conversation: ${victimItems} items of ~1 KiB; unrelated caller: getItems(20) of another one; subscriber: ${keep ? 'keep' : 'drop'}`,
    );
    console.log('');
    console.log(
      '| forged notification(s) | getItems p50 / p99 / max (ms) | calls | RSS before → peak (MB) | events delivered | last event (ms) |',
    );
    console.log('|---|---:|---:|---:|---|---:|');
    for (const [index, scenario] of scenarios(burst).entries()) {
      if (only.length > 0 && !only.includes(index + 1)) continue;
      kept = [];
      (global as { gc?: () => void }).gc?.();
      await sleep(300);
      lastEventAt = 0;
      for (const k of Object.keys(kinds)) delete kinds[k];
      const rssBefore = process.memoryUsage.rss();
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
      const latencies: number[] = [];
      let running = true;
      const caller = (async () => {
        while (running) {
          const t0 = performance.now();
          await memory
            .session(other)
            .getItems(20)
            .catch((err: Error) => console.error(`getItems failed: ${err.message}`));
          latencies.push(performance.now() - t0);
          peak = Math.max(peak, process.memoryUsage.rss());
        }
      })();
      await sleep(100);
      const sentAt = performance.now();
      await forger.query(scenario.sql, [channel, victim, scenario.count]);
      // Quiet: no event for `quietMs` (and at least that long since the NOTIFY), or the cap.
      for (;;) {
        await sleep(50);
        const now = performance.now();
        if (now - Math.max(sentAt, lastEventAt) >= quietMs || now - sentAt > capMs) break;
      }
      running = false;
      await caller;
      clearInterval(sampler);
      const sorted = latencies.sort((x, y) => x - y);
      const got = Object.entries(kinds)
        .map(([k, v]) => `${v.toLocaleString('en')} ${k}`)
        .join(', ');
      console.log(
        `| ${scenario.name} | ${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 99).toFixed(1)} / ${sorted[sorted.length - 1].toFixed(0)} | ${sorted.length} | ${mb(rssBefore)} → ${mb(peak)} | ${got || 'none'} | ${lastEventAt ? (lastEventAt - sentAt).toFixed(0) : '–'} |`,
      );
    }
    sub.unsubscribe();
  } finally {
    await forger.end().catch(() => undefined);
    await stopApp({ app, memory }, tables);
  }
}

runMain(main);
