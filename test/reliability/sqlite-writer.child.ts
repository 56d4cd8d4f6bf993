/**
 * Child process of load.spec.ts: a second writer on the same SQLite file. Reads its configuration as
 * one JSON line on stdin, starts its own SessionMemoryModule, prints READY, waits for GO, runs hot
 * clients on the shared conversations and strict clients on its own, then prints what it acknowledged
 * as one JSON line and exits 0.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createInterface } from 'readline';
import { SessionItem, SessionMemoryModule, SessionMemoryService } from '../../lib';
import { Budget, HarnessLocks, HotLedger, hotClient, LoadStats, Rng, strictClient } from './load-model';

interface ChildConfig {
  /** `load` (default): the two-process load run. `crash`: big batches in a loop until killed. */
  mode?: 'load' | 'crash';
  url: string;
  tables: { sessions: string; messages: string };
  shared: string[];
  own: string[];
  seed: number;
  operations: number;
  wallMs: number;
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const iterator = lines[Symbol.asyncIterator]();
  const config = JSON.parse((await iterator.next()).value as string) as ChildConfig;
  const app = await NestFactory.createApplicationContext(
    SessionMemoryModule.forRoot({ url: config.url, tables: config.tables, createTables: true }),
    { logger: false },
  );
  const memory = app.get(SessionMemoryService);
  process.stdout.write('READY\n');
  if ((await iterator.next()).value !== 'GO') throw new Error('expected GO');
  if (config.mode === 'crash') {
    // Batches of 5,000 items, one after the other, until the parent kills this process (SIGKILL).
    const items = Array.from({ length: 5000 }, (_, i): SessionItem => ({ role: 'user', content: `item ${i}` }));
    for (let i = 0; ; i++) {
      await memory.session(`${config.shared[0]}-${i}`).addItems(items);
      process.stdout.write(`COMMITTED ${i}\n`);
    }
  }

  const ledger: HotLedger = { added: {}, popped: {} };
  const model = new Map<string, SessionItem[]>();
  const stats = new LoadStats();
  const budget = new Budget(config.operations, config.wallMs);
  const locks = new HarnessLocks();
  const sources = [memory];
  await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      i < 8
        ? hotClient({
            clientId: `c${i}`,
            sources,
            conversations: config.shared,
            ledger,
            rng: new Rng(config.seed * 7 + i),
            budget,
            stats,
            retries: 5,
          })
        : strictClient({
            clientId: `c${i}`,
            sources,
            conversations: config.own,
            model,
            locks,
            rng: new Rng(config.seed * 7 + i),
            budget,
            stats,
            retries: 5,
          }),
    ),
  );
  const modelOut: Record<string, string[]> = {};
  for (const [conv, items] of model) modelOut[conv] = items.map((i) => (i as { content: string }).content);
  process.stdout.write(
    JSON.stringify({
      ledger,
      model: modelOut,
      stats: { operations: stats.operations, retries: stats.retries, violations: stats.violations },
    }) + '\n',
  );
  lines.close();
  await app.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`sqlite-writer.child failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
