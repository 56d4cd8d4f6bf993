/**
 * What encryption costs: addItems(1 item), getItems(20) and getItems() of 200 items, with the
 * `encryption` option and without, on the same database; the two sides alternate in 500 ms slices,
 * 16 callers each, each caller on its own conversation.
 *
 *   npm run bench:encryption                          # sqlite, postgres; 3 s per side and workload
 *   npm run bench:encryption -- --dialects=postgres --duration=5000
 *   npm run bench:encryption -- --cacheBytes=0          # every read decrypts (encryption.cacheBytes)
 */
import { performance } from 'perf_hooks';
import { SessionItem, SessionMemoryService } from '../lib';
import { TEST_URLS } from '../test/support/databases';
import {
  SessionTables,
  dropSessionTables,
  ignoreDropError,
  tempSqliteFile,
  uniqueTables,
} from '../test/support/tables';
import { startApp } from './app';
import { makeItemPool } from './items';
import { arg, runMain } from './cli';

type Dialect = 'sqlite' | 'postgres' | 'mariadb';
type Workload = 'add1' | 'get20' | 'getall_200';

function start(url: string, tables: SessionTables, encrypted: boolean, cacheBytes?: number) {
  return startApp({
    url,
    createTables: true,
    tables,
    ...(encrypted ? { encryption: { keys: 'a passphrase for the benchmark', cacheBytes } } : {}),
  });
}

async function slice(memory: SessionMemoryService, tag: string, workload: Workload, items: SessionItem[], ms: number) {
  let ops = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      const session = memory.session(`${tag}-${workload}-${w}`);
      for (let i = 0; performance.now() < end; i++) {
        if (workload === 'add1') await session.addItems([items[(w * 31 + i) % items.length]]);
        else if (workload === 'get20') await session.getItems(20);
        else await session.getItems();
        ops++;
      }
    }),
  );
  return ops;
}

async function main(): Promise<void> {
  const dialects = arg('dialects', 'sqlite,postgres').split(',') as Dialect[];
  const duration = Number(arg('duration', '3000'));
  const cache = arg('cacheBytes', '');
  const cacheBytes = cache === '' ? undefined : Number(cache);
  const items = makeItemPool(500) as SessionItem[];
  console.log('| dialect | workload | plain ops/s | encrypted ops/s | encrypted / plain |');
  console.log('|---|---|---:|---:|---:|');
  for (const dialect of dialects) {
    const url = dialect === 'sqlite' ? `sqlite:${tempSqliteFile('b.db')}` : TEST_URLS[dialect];
    const tables = uniqueTables('enc');
    const plain = await start(url, tables, false);
    const sealed = await start(url, tables, true, cacheBytes);
    try {
      for (const [side, tag] of [
        [plain, 'plain'],
        [sealed, 'sealed'],
      ] as const) {
        for (let w = 0; w < 16; w++) {
          const s = side.memory.session(`${tag}-getall_200-${w}`);
          const g = side.memory.session(`${tag}-get20-${w}`);
          await s.addItems(items.slice(0, 200));
          await g.addItems(items.slice(0, 200));
        }
      }
      for (const workload of ['add1', 'get20', 'getall_200'] as Workload[]) {
        await slice(plain.memory, 'plain', workload, items, 300);
        await slice(sealed.memory, 'sealed', workload, items, 300);
        let a = 0;
        let b = 0;
        for (let done = 0, i = 0; done < duration; done += 500, i++) {
          for (const enc of i % 2 === 0 ? [false, true] : [true, false]) {
            const ops = await slice(enc ? sealed.memory : plain.memory, enc ? 'sealed' : 'plain', workload, items, 500);
            if (enc) b += ops;
            else a += ops;
          }
        }
        const s = duration / 1000;
        console.log(
          `| ${dialect} | ${workload} | ${(a / s).toFixed(0)} | ${(b / s).toFixed(0)} | ${(b / a).toFixed(2)} |`,
        );
      }
    } finally {
      await dropSessionTables(plain.memory.dataSource, tables, ignoreDropError);
      await sealed.app.close();
      await plain.app.close();
    }
  }
}

runMain(main);
