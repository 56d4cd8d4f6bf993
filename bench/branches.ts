/**
 * What branches cost (issue #21, docs/benchmarks.md "Branches"), on a 10,000-item conversation
 * (5,000 user turns, each with an assistant reply):
 * - creating a branch at turn 500 against creating one at turn 1 (each reads the source history to
 *   find the turn, and copies no item: its segments point into main), alternating, median of `--rounds`;
 * - `getItems(20)` on a branch three levels deep (main -> branch -> branch -> branch, each with its own
 *   rows) against `getItems(20)` on main, 16 callers, alternating slices, each request a fresh session
 *   following the current branch (main current on one side, the deep branch on the other).
 *
 *   npm run bench:branches                                  # sqlite, postgres, mariadb
 *   npm run bench:branches -- --dialects=postgres --rounds=40 --duration=4000
 */
import { performance } from 'perf_hooks';
import { ConversationSession, SessionItem, SessionMemoryService } from '../lib';
import { TEST_URLS } from '../test/support/databases';
import { user } from '../test/support/items';
import { tempSqliteFile, uniqueTables } from '../test/support/tables';
import { startApp, stopApp } from './app';
import { arg, runMain } from './cli';

type Dialect = 'sqlite' | 'postgres' | 'mariadb';

const assistant = (text: string): SessionItem =>
  ({ role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] }) as SessionItem;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** A conversation of `turns` user/assistant pairs, written in batches. */
async function fill(session: ConversationSession, turns: number, tag: string): Promise<void> {
  for (let t = 0; t < turns; t += 500) {
    const batch: SessionItem[] = [];
    for (let i = t; i < Math.min(turns, t + 500); i++)
      batch.push(user(`${tag} q${i + 1}`), assistant(`${tag} a${i + 1}`));
    await session.addItems(batch);
  }
}

async function readSlice(read: () => Promise<unknown>, ms: number): Promise<number> {
  let ops = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < end) {
        await read();
        ops++;
      }
    }),
  );
  return ops;
}

async function bench(dialect: Dialect, memory: SessionMemoryService, rounds: number, duration: number) {
  const id = `bench-branches-${Date.now()}`;
  const root = memory.session(id);
  await fill(root, 5000, 'main');

  // Creation at turn 1 and at turn 500, alternating; each branch is deleted again (main stays current).
  const create: Record<'t1' | 't500', number[]> = { t1: [], t500: [] };
  for (let r = 0; r < rounds + 2; r++) {
    for (const at of r % 2 === 0 ? (['t1', 't500'] as const) : (['t500', 't1'] as const)) {
      const s = memory.session(id).onBranch('main');
      const t0 = performance.now();
      const branch = await s.createBranchFromTurn(at === 't1' ? 1 : 500);
      const ms = performance.now() - t0;
      if (r >= 2) create[at].push(ms); // two warm-up rounds
      await memory.session(id).deleteBranch(branch, { force: true });
    }
  }

  // Three levels: from main at turn 4,000, then from each branch's own rows.
  const s = memory.session(id);
  await s.createBranchFromTurn(4000);
  await fill(s, 20, 'l1');
  await s.createBranchFromTurn(4010);
  await fill(s, 20, 'l2');
  await s.createBranchFromTurn(4015);
  await fill(s, 20, 'l3');
  const deep = await s.getCurrentBranch();
  const newest = (await memory.session(id).getItems(1))[0] as { content: { text: string }[] };
  if (newest.content[0].text !== 'l3 a20') throw new Error(`the deep branch reads ${JSON.stringify(newest)}`);

  // Each request is a fresh session following the current branch: main current on one side, the deep
  // branch current on the other (switched before each slice).
  const sliceMs = 500;
  const read = () => memory.session(id).getItems(20);
  const sideSlice = async (side: 'main' | 'deep', ms: number) => {
    await memory.session(id).switchToBranch(side === 'main' ? 'main' : deep);
    return readSlice(read, ms);
  };
  await sideSlice('main', 300);
  await sideSlice('deep', 300);
  const ops = { main: 0, deep: 0 };
  for (let done = 0, i = 0; done < duration; done += sliceMs, i++) {
    for (const side of i % 2 === 0 ? (['main', 'deep'] as const) : (['deep', 'main'] as const)) {
      ops[side] += await sideSlice(side, sliceMs);
    }
  }
  const seconds = duration / 1000;
  console.log(
    `| ${dialect} | ${median(create.t1).toFixed(1)} | ${median(create.t500).toFixed(1)} | ` +
      `${(median(create.t500) / median(create.t1)).toFixed(2)} | ${Math.round(ops.main / seconds)} | ` +
      `${Math.round(ops.deep / seconds)} (${deep}) | ${(ops.main / ops.deep).toFixed(2)} |`,
  );
}

async function main(): Promise<void> {
  const dialects = arg('dialects', 'sqlite,postgres,mariadb').split(',') as Dialect[];
  const rounds = Number(arg('rounds', '20'));
  const duration = Number(arg('duration', '3000'));
  console.log(
    '| dialect | create at turn 1, ms | create at turn 500, ms | ratio | getItems(20) main ops/s | ' +
      'getItems(20) 3 levels deep ops/s | cost ratio |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const dialect of dialects) {
    const url = dialect === 'sqlite' ? `sqlite:${tempSqliteFile('b.db')}` : TEST_URLS[dialect];
    const tables = uniqueTables('brb');
    const started = await startApp({ url, createTables: true, tables });
    try {
      await bench(dialect, started.memory, rounds, duration);
    } finally {
      await stopApp(started, tables);
    }
  }
}

runMain(main);
