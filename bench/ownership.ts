/**
 * What the ownership check costs per request: a request opens a fresh session (as `@Conversation()`
 * does) and reads the newest 20 items, without an owner and with one (one indexed read of the owners
 * table before the first call of each session). The two sides alternate in slices, 16 callers each.
 *
 *   npm run bench:ownership                         # sqlite, postgres, mariadb; 3 s per side
 *   npm run bench:ownership -- --dialects=postgres --duration=5000
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { SessionMemoryModule, SessionMemoryService } from '../lib';
import { DEFAULT_URLS } from './targets';
import { arg, dropSessionTables } from './cli';

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
    const url =
      dialect === 'sqlite' ? `sqlite:${join(mkdtempSync(join(tmpdir(), 'nsm-own-')), 'b.db')}` : DEFAULT_URLS[dialect];
    const suffix = `${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
    const tables = { sessions: `own_sess_${suffix}`, messages: `own_msg_${suffix}` };
    @Module({ imports: [SessionMemoryModule.forRoot({ url, createTables: true, tables })] })
    class BenchModule {}
    const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
    const memory = app.get(SessionMemoryService);
    try {
      for (let w = 0; w < 16; w++) {
        const s = memory.session(`bench-owned-${w}`, { owner: `user-${w}` });
        await s.addItems(Array.from({ length: 40 }, (_, i) => ({ role: 'user' as const, content: `m${i}` })));
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
      await dropSessionTables(memory.dataSource, tables);
      await app.close();
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
