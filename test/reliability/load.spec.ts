import { spawn } from 'child_process';
import { createInterface } from 'readline';
import { join } from 'path';
import type { SessionItem } from '../../lib';
import { describeEachDialect, TEST_URLS, isAvailable } from '../support/databases';
import { startMemory, TestMemory, urlFor, useMemoryPair } from '../support/memory';
import {
  Budget,
  checkHotConversation,
  HarnessLocks,
  HotLedger,
  hotClient,
  LoadStats,
  Rng,
  strictClient,
} from './load-model';

/**
 * Load: 64 concurrent clients on 200 conversations, through two module instances (two DataSources,
 * two pools) on the same tables, doing mixed add / get / pop for a bounded number of operations or
 * wall time, whichever comes first. Afterwards every conversation holds exactly what was acknowledged,
 * in order. Throughput is printed for the record, never asserted.
 */
const CLIENTS = 64;
const HOT_CLIENTS = 8; // of the 64: no harness lock, on a few shared conversations
const CONVERSATIONS = 200;
const HOT_CONVERSATIONS = 4;
const OPERATIONS = 6000;
const WALL_MS = 3000;
// SQLite: both processes run for the same wall time, so that their writes overlap throughout.
const SQLITE_OPERATIONS = 20000;
const SQLITE_WALL_MS = 1500;
const SEED = Number(process.env.SESSION_MEMORY_LOAD_SEED ?? Date.now() % 100000);

/** Starts sqlite-writer.child.ts in a process of its own (stdin and stdout piped to the test, stderr inherited). */
function spawnSqliteWriter() {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'sqlite-writer.child.ts')], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', '..', 'tsconfig.json') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function report(label: string, stats: LoadStats, ms: number): void {
  console.log(
    `[load ${label}] seed=${SEED} ops=${stats.operations} (add ${stats.adds}, get ${stats.gets}, pop ${stats.pops}) ` +
      `in ${ms} ms = ${Math.round((stats.operations * 1000) / Math.max(ms, 1))} ops/s; ` +
      `latency p50 ${stats.percentile(50)} ms, p99 ${stats.percentile(99)} ms, max ${stats.percentile(100)} ms; retries ${stats.retries}`,
  );
}

describeEachDialect(
  'load: 64 clients, 200 conversations, two pools',
  (dialect, url) => {
    const [a, b] = useMemoryPair(dialect, url);

    it('nothing lost, nothing duplicated, every answer matches the model', async () => {
      const stamp = `${Date.now().toString(36)}`;
      const strictConvs = Array.from({ length: CONVERSATIONS - HOT_CONVERSATIONS }, (_, i) => `load-${stamp}-${i}`);
      const hotConvs = Array.from({ length: HOT_CONVERSATIONS }, (_, i) => `hot-${stamp}-${i}`);
      const model = new Map<string, SessionItem[]>();
      const ledger: HotLedger = { added: {}, popped: {} };
      const locks = new HarnessLocks();
      const stats = new LoadStats();
      const budget = new Budget(OPERATIONS, WALL_MS);
      const sources = [a.memory, b.memory];
      const started = Date.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) =>
          i < HOT_CLIENTS
            ? hotClient({
                clientId: `h${i}`,
                sources,
                conversations: hotConvs,
                ledger,
                rng: new Rng(SEED * 131 + i),
                budget,
                stats,
              })
            : strictClient({
                clientId: `s${i}`,
                sources,
                conversations: strictConvs,
                model,
                locks,
                rng: new Rng(SEED * 131 + i),
                budget,
                stats,
              }),
        ),
      );
      report(dialect, stats, Date.now() - started);
      expect(stats.violations).toEqual([]);
      expect(stats.pops).toBeGreaterThan(0);

      // Final state, read through the other pool and counted in SQL: exactly the model.
      for (const conv of strictConvs) {
        const want = (model.get(conv) ?? []).map((i) => (i as { content: string }).content);
        const got = (await b.memory.session(conv).getItems()).map((i) => (i as { content: string }).content);
        expect({ conv, got }).toEqual({ conv, got: want });
      }
      const [{ n }] = await a.sql<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM ${a.tables.messages} WHERE session_id LIKE ?`,
        [`load-${stamp}-%`],
      );
      expect(Number(n)).toBe([...model.values()].reduce((sum, items) => sum + items.length, 0));
      for (const conv of hotConvs) {
        const stored = (await a.memory.session(conv).getItems()).map((i) => (i as { content: string }).content);
        expect(checkHotConversation(conv, stored, [ledger])).toEqual([]);
      }
    });
  },
  ['postgres', 'mariadb'],
);

/**
 * SQLite: writers in two processes on one file (WAL, busy timeout). The child runs
 * sqlite-writer.child.ts through ts-node; both run hot clients on shared conversations and strict
 * clients on conversations of their own. Nothing acknowledged by either process may be lost.
 */
(isAvailable('sqlite') ? describe : describe.skip)('load [sqlite]: two processes writing one file', () => {
  let parent: TestMemory;
  afterAll(async () => {
    await parent?.close();
  });

  it('nothing lost, nothing duplicated, across processes', async () => {
    const url = urlFor('sqlite', TEST_URLS.sqlite);
    parent = await startMemory(url);
    const stamp = Date.now().toString(36);
    const shared = Array.from({ length: 6 }, (_, i) => `shared-${stamp}-${i}`);
    const own = Array.from({ length: 40 }, (_, i) => `parent-${stamp}-${i}`);
    const childOwn = Array.from({ length: 40 }, (_, i) => `child-${stamp}-${i}`);

    const child = spawnSqliteWriter();
    const lines = createInterface({ input: child.stdout! });
    const nextLine = () =>
      new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
      });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdin!.write(
      JSON.stringify({
        url,
        tables: parent.tables,
        shared,
        own: childOwn,
        seed: SEED,
        operations: SQLITE_OPERATIONS,
        wallMs: SQLITE_WALL_MS,
      }) + '\n',
    );
    expect(await nextLine()).toBe('READY');

    const ledger: HotLedger = { added: {}, popped: {} };
    const model = new Map<string, SessionItem[]>();
    const stats = new LoadStats();
    const locks = new HarnessLocks();
    const budget = new Budget(SQLITE_OPERATIONS, SQLITE_WALL_MS);
    const sources = [parent.memory];
    child.stdin!.write('GO\n');
    const started = Date.now();
    const resultLine = nextLine();
    await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        i < 8
          ? hotClient({
              clientId: `p${i}`,
              sources,
              conversations: shared,
              ledger,
              rng: new Rng(SEED + i),
              budget,
              stats,
              retries: 5,
            })
          : strictClient({
              clientId: `p${i}`,
              sources,
              conversations: own,
              model,
              locks,
              rng: new Rng(SEED + i),
              budget,
              stats,
              retries: 5,
            }),
      ),
    );
    const childResult = JSON.parse(await resultLine) as {
      ledger: HotLedger;
      model: Record<string, string[]>;
      stats: { operations: number; retries: number; violations: string[] };
    };
    expect(await exited).toBe(0);
    report('sqlite parent', stats, Date.now() - started);

    console.log(`[load sqlite child] ops=${childResult.stats.operations} retries ${childResult.stats.retries}`);

    expect(stats.violations).toEqual([]);
    expect(childResult.stats.violations).toEqual([]);
    expect(childResult.stats.operations).toBeGreaterThan(0);
    for (const conv of shared) {
      const stored = (await parent.memory.session(conv).getItems()).map((i) => (i as { content: string }).content);
      expect(checkHotConversation(conv, stored, [ledger, childResult.ledger])).toEqual([]);
    }
    for (const conv of own) {
      const got = (await parent.memory.session(conv).getItems()).map((i) => (i as { content: string }).content);
      expect(got).toEqual((model.get(conv) ?? []).map((i) => (i as { content: string }).content));
    }
    for (const conv of childOwn) {
      const got = (await parent.memory.session(conv).getItems()).map((i) => (i as { content: string }).content);
      expect(got).toEqual(childResult.model[conv] ?? []);
    }
  });
});

/**
 * SQLite crash consistency: a child process writing 5,000-item batches in a loop is killed with
 * SIGKILL (no shutdown, no rollback of its own); every batch is then entirely there or entirely absent,
 * and the file passes SQLite's integrity check.
 */
(isAvailable('sqlite') ? describe : describe.skip)(
  'faults [sqlite]: a writer process killed in the middle of a batch',
  () => {
    it('leaves every batch whole or absent', async () => {
      const url = urlFor('sqlite', TEST_URLS.sqlite);
      const m = await startMemory(url);
      try {
        const child = spawnSqliteWriter();
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          child.on('exit', (_code, signal) => resolve(signal)),
        );
        const lines = createInterface({ input: child.stdout! });
        let committed = -1;
        const killed = new Promise<void>((resolve) =>
          lines.on('line', (line) => {
            if (line === 'READY') child.stdin!.write('GO\n');
            const match = /^COMMITTED (\d+)$/.exec(line);
            if (match) committed = Number(match[1]);
            // After a few whole batches, kill it at a moment that is almost always inside the next one.
            if (committed === 2 && !child.killed)
              setTimeout(() => resolve(void child.kill('SIGKILL')), Math.random() * 15);
          }),
        );
        child.stdin!.write(
          JSON.stringify({
            mode: 'crash',
            url,
            tables: m.tables,
            shared: ['crash'],
            own: [],
            seed: SEED,
            operations: 0,
            wallMs: 0,
          }) + '\n',
        );
        await killed;
        expect(await exited).toBe('SIGKILL');

        const rows = await m.sql<{ session_id: string; n: number | string }>(
          `SELECT session_id, COUNT(*) AS n FROM ${m.tables.messages} GROUP BY session_id`,
        );
        const counts = new Map(rows.map((r) => [r.session_id, Number(r.n)]));
        for (let i = 0; i <= committed; i++) expect(counts.get(`crash-${i}`)).toBe(5000);
        for (const [id, n] of counts) expect({ id, n }).toEqual({ id, n: 5000 });
        const items = await m.memory.session('crash-0').getItems(2);
        expect(items).toEqual([
          { role: 'user', content: 'item 4998' },
          { role: 'user', content: 'item 4999' },
        ]);
        expect(await m.sql('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      } finally {
        await m.close();
      }
    });
  },
);
