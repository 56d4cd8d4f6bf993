/**
 * Throughput of ordinary conversations beside one stuck conversation (its session row locked by
 * another transaction that does not finish), on PostgreSQL and MariaDB.
 *
 *   npm run bench:stuck                               # postgres, mariadb; 5 s per phase
 *   npm run bench:stuck -- --dialects=postgres --duration=3000
 *   npm run bench:stuck -- --stuck-callers=1000            # a crowd on the stuck conversation (default 30)
 *   npm run bench:stuck -- --rounds=5                      # alone/beside pairs, alternating (default 3; the median is reported)
 *
 * Phase "alone": 16 workers run addItems(1 item) + getItems(20) on their own conversations. Phase
 * "beside a stuck one": the same, while another transaction holds the session row of conversation
 * `stuck` and 30 callers (`--stuck-callers`) keep writing to it: they queue in order for a turn (at most
 * 2 of them hold connections) and fail once `lockMs` passes without any of its operations completing. Reported: ops/s of the 16 workers, their failures, and
 * what the stuck conversation's callers got. Module options: defaults, except `timeouts.lockMs` 1000.
 */
import { performance } from 'perf_hooks';
import { SessionMemoryService } from '../lib';
import { TEST_URLS } from '../test/support/databases';
import { holdSessionRow } from '../test/support/hold-row';
import { user } from '../test/support/items';
import { uniqueTables } from '../test/support/tables';
import { startApp, stopApp } from './app';
import { arg, runMain } from './cli';

type Dialect = 'postgres' | 'mariadb';

const item = (i: number) => user(`message ${i}`);

async function phase(
  memory: SessionMemoryService,
  durationMs: number,
  stuckCallers: number,
): Promise<{ opsPerSec: number; failures: number; stuck: Record<string, number> }> {
  let ops = 0;
  let failures = 0;
  const stuck: Record<string, number> = {};
  const end = performance.now() + durationMs;
  const worker = async (w: number) => {
    const s = memory.session(`bench-other-${w}-${process.pid}`);
    for (let i = 0; performance.now() < end; i++) {
      try {
        await s.addItems([item(i)]);
        await s.getItems(20);
        ops += 2;
      } catch {
        failures++;
      }
    }
  };
  const stuckCaller = async () => {
    const s = memory.session(`stuck-${process.pid}`);
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await s.addItems([item(0)]);
        stuck.ok = (stuck.ok ?? 0) + 1;
      } catch (err) {
        const name = (err as Error).constructor.name;
        const key = `${name} after ${performance.now() - t0 < 100 ? '<100 ms' : '>=100 ms'}`;
        stuck[key] = (stuck[key] ?? 0) + 1;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all([
    ...Array.from({ length: 16 }, (_, w) => worker(w)),
    ...Array.from({ length: stuckCallers }, () => stuckCaller()),
  ]);
  return { opsPerSec: (ops * 1000) / (performance.now() - t0), failures, stuck };
}

async function main(): Promise<void> {
  const dialects = arg('dialects', 'postgres,mariadb').split(',') as Dialect[];
  const duration = Number(arg('duration', '5000'));
  const stuckCallers = Number(arg('stuck-callers', '30'));
  const rounds = Number(arg('rounds', '3'));
  console.log(
    '| dialect | round | others alone, ops/s | others beside a stuck one, ops/s | beside / alone | their failures (alone / beside) | stuck conversation callers got |',
  );
  console.log('|---|---|---:|---:|---:|---:|---|');
  for (const dialect of dialects) {
    const tables = uniqueTables('stuck');
    const { app, memory } = await startApp({
      url: TEST_URLS[dialect],
      createTables: true,
      tables,
      timeouts: { lockMs: 1000 },
    });
    try {
      await memory.session(`stuck-${process.pid}`).addItems([item(0)]);
      await phase(memory, Math.min(duration, 1000), 0); // warm-up (JIT, caches), not counted
      // Alone and beside alternate, `rounds` times: the machine's drift hits both sides alike.
      const ratios: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const alone = await phase(memory, duration, 0);
        const release = await holdSessionRow(dialect, TEST_URLS[dialect], tables.sessions, `stuck-${process.pid}`);
        const beside = await phase(memory, duration, stuckCallers);
        await release();
        const got = Object.entries(beside.stuck)
          .map(([k, v]) => `${v} × ${k}`)
          .join(', ');
        ratios.push(beside.opsPerSec / alone.opsPerSec);
        console.log(
          `| ${dialect} | ${round} | ${alone.opsPerSec.toFixed(0)} | ${beside.opsPerSec.toFixed(0)} (${stuckCallers} stuck callers) | ` +
            `${ratios[ratios.length - 1].toFixed(2)} | ${alone.failures} / ${beside.failures} | ${got} |`,
        );
      }
      const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
      console.log(`| ${dialect} | median | | | **${median.toFixed(2)}** | | |`);
    } finally {
      await stopApp({ app, memory }, tables);
    }
  }
}

runMain(main);
