/**
 * What the ownership check costs per request: a request opens a fresh session (as `@Conversation()`
 * does) and reads the newest 20 items, without an owner and with one (one indexed read of the owners
 * table before the first call of each session). The two sides alternate in slices, 16 callers each.
 *
 *   npm run bench:ownership                         # sqlite, postgres, mariadb; 3 s per side
 *   npm run bench:ownership -- --dialects=postgres --duration=5000
 */
import { performance } from 'perf_hooks';
import { SessionMemoryService } from '../lib';
import { TEST_URLS } from '../test/support/databases';
import { user } from '../test/support/items';
import { tempSqliteFile, uniqueTables } from '../test/support/tables';
import { startApp, stopApp } from './app';
import { arg, runMain } from './cli';

type Dialect = 'sqlite' | 'postgres' | 'mariadb';

async function slice(memory: SessionMemoryService, owned: boolean, ms: number): Promise<{ ops: number; us: number[] }> {
  let ops = 0;
  const us: number[] = [];
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      const id = `bench-owned-${w}`;
      while (performance.now() < end) {
        const t0 = performance.now();
        await (owned ? memory.session(id, { owner: `user-${w}` }) : memory.session(id)).getItems(20);
        us.push((performance.now() - t0) * 1000);
        ops++;
      }
    }),
  );
  return { ops, us };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const dialects = arg('dialects', 'sqlite,postgres,mariadb').split(',') as Dialect[];
  const duration = Number(arg('duration', '3000'));
  const sliceMs = 500;
  console.log('| dialect | without owner ops/s | with owner ops/s | ratio | median µs without / with |');
  console.log('|---|---:|---:|---:|---:|');
  for (const dialect of dialects) {
    const url = dialect === 'sqlite' ? `sqlite:${tempSqliteFile('b.db')}` : TEST_URLS[dialect];
    const tables = uniqueTables('own');
    const { app, memory } = await startApp({ url, createTables: true, tables });
    try {
      for (let w = 0; w < 16; w++) {
        const s = memory.session(`bench-owned-${w}`, { owner: `user-${w}` });
        await s.addItems(Array.from({ length: 40 }, (_, i) => user(`m${i}`)));
      }
      await slice(memory, false, 300); // warm-up, both sides
      await slice(memory, true, 300);
      const totals = { plain: { ops: 0, us: [] as number[] }, owned: { ops: 0, us: [] as number[] } };
      for (let done = 0, i = 0; done < duration; done += sliceMs, i++) {
        // plain, owned, owned, plain, ...: load from elsewhere hits both alike
        for (const owned of i % 2 === 0 ? [false, true] : [true, false]) {
          const r = await slice(memory, owned, sliceMs);
          const side = owned ? totals.owned : totals.plain;
          side.ops += r.ops;
          side.us.push(...r.us);
        }
      }
      const seconds = duration / 1000;
      const plain = totals.plain.ops / seconds;
      const owned = totals.owned.ops / seconds;
      console.log(
        `| ${dialect} | ${plain.toFixed(0)} | ${owned.toFixed(0)} | ${(owned / plain).toFixed(2)} | ` +
          `${median(totals.plain.us).toFixed(0)} / ${median(totals.owned.us).toFixed(0)} |`,
      );
    } finally {
      await stopApp({ app, memory }, tables);
    }
  }
}

runMain(main);
