import { Client } from 'pg';
import { describeEachDialect } from '../support/databases';
import { workerUrls } from '../support/citus';
import { startMemory, TestMemory } from '../support/memory';

const CONVERSATIONS = 1000;

/** The shards of `table` on the worker at `port`: their ids, from the coordinator's metadata. */
async function shardsOn(coordinator: Client, table: string, port: number): Promise<string[]> {
  const { rows } = await coordinator.query(
    `SELECT s.shardid::text AS shard FROM pg_dist_shard s JOIN pg_dist_placement pl USING (shardid) ` +
      `JOIN pg_dist_node n ON n.groupid = pl.groupid WHERE s.logicalrelid = $1::regclass AND n.nodeport = $2`,
    [table, port],
  );
  return rows.map((r: { shard: string }) => r.shard);
}

/**
 * The data really is spread: 1,000 conversations written through the module, then read back from each
 * worker directly (its shard tables), not through the coordinator.
 */
describeEachDialect(
  'Citus: conversations are spread over the workers, each on exactly one',
  (_dialect, url) => {
    let m: TestMemory;
    let coordinator: Client;
    beforeAll(async () => {
      m = await startMemory(url);
      coordinator = new Client({ connectionString: url });
      await coordinator.connect();
    });
    afterAll(async () => {
      await coordinator?.end();
      await m?.close();
    });

    it('1,000 conversations: rows on both workers, each conversation (items, session row, metadata) on one', async () => {
      const ids = Array.from({ length: CONVERSATIONS }, (_, i) => `spread-${i}`);
      for (let i = 0; i < ids.length; i += 50) {
        await Promise.all(
          ids.slice(i, i + 50).map(async (id) => {
            await m.memory.session(id).addItems([
              { role: 'user', content: `hello ${id}` },
              { role: 'user', content: `bye ${id}` },
            ]);
            await m.memory.setMetadata(id, { n: id });
          }),
        );
      }

      const workers = await workerUrls(coordinator, url);
      expect(workers.length).toBeGreaterThanOrEqual(2);
      /** conversation id -> table -> the ports of the workers holding rows of it. */
      const seen = new Map<string, Map<string, Set<number>>>();
      const perWorker = new Map<number, number>();
      for (const worker of workers) {
        const client = new Client({ connectionString: worker.url });
        await client.connect();
        try {
          for (const table of [m.tables.messages, m.tables.sessions, `${m.tables.sessions}_metadata`]) {
            for (const shard of await shardsOn(coordinator, table, worker.port)) {
              const { rows } = await client.query(
                `SELECT session_id, count(*)::int AS n FROM ${table}_${shard} GROUP BY session_id`,
              );
              for (const { session_id, n } of rows as { session_id: string; n: number }[]) {
                if (!session_id.startsWith('spread-')) continue;
                const byTable = seen.get(session_id) ?? new Map<string, Set<number>>();
                seen.set(session_id, byTable);
                const ports = byTable.get(table) ?? new Set<number>();
                byTable.set(table, ports);
                ports.add(worker.port);
                if (table === m.tables.messages) {
                  expect(n).toBe(2); // both items of the conversation in this one shard
                  perWorker.set(worker.port, (perWorker.get(worker.port) ?? 0) + 1);
                }
              }
            }
          }
        } finally {
          await client.end();
        }
      }

      expect([...seen.keys()].sort()).toEqual([...ids].sort());
      for (const [id, byTable] of seen) {
        expect({ id, tables: byTable.size }).toEqual({ id, tables: 3 });
        const ports = new Set([...byTable.values()].flatMap((p) => [...p]));
        // One worker holds all of the conversation's rows, in every table (the tables are colocated).
        expect({ id, workers: ports.size }).toEqual({ id, workers: 1 });
      }
      // Both workers hold conversations; with 1,000 of them over 32 shards, neither holds nearly all.
      expect([...perWorker.keys()].sort()).toEqual(workers.map((w) => w.port).sort());
      for (const count of perWorker.values()) expect(count).toBeGreaterThan(CONVERSATIONS / 10);
      expect([...perWorker.values()].reduce((a, b) => a + b, 0)).toBe(CONVERSATIONS);

      // And the coordinator sees them all, as one table.
      const [{ n }] = await m.sql(`SELECT count(DISTINCT session_id)::int AS n FROM ${m.tables.messages}`);
      expect(n).toBe(CONVERSATIONS);
      expect(await m.memory.session('spread-7').getItems()).toEqual([
        { role: 'user', content: 'hello spread-7' },
        { role: 'user', content: 'bye spread-7' },
      ]);
    });
  },
  ['citus'],
);
