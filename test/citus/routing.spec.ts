import { Client } from 'pg';
import { describeEachDialect } from '../support/databases';
import { placementOf, recordStatements, SentStatement, splitScript } from '../support/citus';
import { startMemory, TestMemory } from '../support/memory';
import { user, compaction, functionCall } from '../support/items';
import { insertRawRows } from '../support/raw-rows';

/** The statements of a recorded operation, scripts split, transaction control left out. */
function statementsOf(sent: SentStatement[]): SentStatement[] {
  const out: SentStatement[] = [];
  for (const s of sent) {
    const texts = s.values.length === 0 ? splitScript(s.text) : [s.text];
    for (const text of texts) {
      if (/^\s*(BEGIN|COMMIT|ROLLBACK|SELECT 1)\s*$/i.test(text)) continue;
      out.push({ text, values: s.values });
    }
  }
  return out;
}

/** What Citus's EXPLAIN says of one statement: its task counts, the nodes of its tasks, the whole text. */
async function explain(
  client: Client,
  s: SentStatement,
): Promise<{ taskCounts: number[]; ports: number[]; plan: string }> {
  const { rows } = await client.query(`EXPLAIN (COSTS OFF) ${s.text}`, s.values);
  const plan = rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
  const taskCounts = [...plan.matchAll(/Task Count: (\d+)/g)].map((m) => Number(m[1]));
  const ports = [...plan.matchAll(/Node: host=\S+ port=(\d+)/g)].map((m) => Number(m[1]));
  return { taskCounts, ports, plan };
}

/**
 * Every statement of one conversation is routed by Citus to that conversation's shard: shown by the
 * EXPLAIN of each statement the module really sent (recorded on its pool) for every operation, which
 * reports one task, on the worker that holds the shard, and no distributed subplan.
 */
describeEachDialect(
  'Citus: every per-conversation statement is routed to one shard',
  (_dialect, url) => {
    let m: TestMemory;
    let admin: Client;
    beforeAll(async () => {
      m = await startMemory(url);
      admin = new Client({ connectionString: url });
      await admin.connect();
    });
    afterAll(async () => {
      await admin?.end();
      await m?.close();
    });

    /** Runs `work` on a fresh conversation, records what it sent, and checks the EXPLAIN of each statement. */
    async function expectRouted(
      name: string,
      work: (id: string) => Promise<unknown>,
      setup?: (id: string) => Promise<unknown>,
    ) {
      const id = `route-${name}-${Math.random().toString(36).slice(2, 8)}`;
      await setup?.(id);
      const recorder = recordStatements(m.memory.dataSource);
      let sent: SentStatement[];
      try {
        await work(id);
      } finally {
        sent = recorder.take();
        recorder.stop();
      }
      const statements = statementsOf(sent);
      expect(statements.length).toBeGreaterThan(0);
      const { port } = await placementOf(admin, m.tables.sessions, id);
      for (const s of statements) {
        const { taskCounts, ports, plan } = await explain(admin, s);
        const context = `${name}: ${s.text}\n${plan}`;
        expect({ context, taskCounts }).toEqual({ context, taskCounts: [1] });
        expect({ context, subplan: plan.includes('Distributed Subplan') }).toEqual({ context, subplan: false });
        expect({ context, ports }).toEqual({ context, ports: [port] });
      }
      return statements.map((st) => st.text);
    }

    it('addItems (one item, a batch, and a batch of more than one INSERT)', async () => {
      await expectRouted('add1', (id) => m.memory.session(id).addItems([user('a')]));
      await expectRouted('add10', (id) =>
        m.memory.session(id).addItems(Array.from({ length: 10 }, (_, i) => user(`x${i}`))),
      );
      const big = await expectRouted('add2500', (id) =>
        m.memory.session(id).addItems(Array.from({ length: 2500 }, (_, i) => user(`y${i}`))),
      );
      // The session upsert (locking the row) and three INSERTs of at most 1,000 rows, in one script.
      expect(big.map((t) => t.slice(0, 11))).toEqual(['INSERT INTO', 'INSERT INTO', 'INSERT INTO', 'INSERT INTO']);
      expect(big[0]).toMatch(/ON CONFLICT \(session_id\) DO UPDATE SET updated_at = EXCLUDED.updated_at$/);
    });

    it('getItems, all and the newest n, also past a corrupt row', async () => {
      const seed = (id: string) => m.memory.session(id).addItems([user('a'), user('b'), user('c')]);
      await expectRouted('getall', (id) => m.memory.session(id).getItems(), seed);
      await expectRouted('get2', (id) => m.memory.session(id).getItems(2), seed);
      const corrupt = async (id: string) => {
        await seed(id);
        await insertRawRows(m, id, ['not json']);
      };
      await expectRouted('get-corrupt', (id) => m.memory.session(id).getItems(2), corrupt);
      await expectRouted('getall-corrupt', (id) => m.memory.session(id).getItems(), corrupt);
    });

    it('popItem, on a conversation with items, one whose newest row is corrupt, and an empty one', async () => {
      const pop = await expectRouted(
        'pop',
        (id) => m.memory.session(id).popItem(),
        (id) => m.memory.session(id).addItems([user('a'), user('b')]),
      );
      // One script (one transaction): the session row locked first, then the newest row deleted.
      expect(pop.map((t) => /^(SELECT|DELETE)\b.*?(FOR UPDATE)?$/.exec(t)?.slice(1).join(' ').trim())).toEqual([
        'SELECT FOR UPDATE',
        'DELETE',
      ]);
      await expectRouted(
        'pop-corrupt',
        (id) => m.memory.session(id).popItem(),
        async (id) => {
          await m.memory.session(id).addItems([user('a')]);
          await insertRawRows(m, id, ['{bad']);
        },
      );
      await expectRouted('pop-missing', (id) => m.memory.session(id).popItem());
    });

    it('clearSession, deleteSession, getSession', async () => {
      const seed = (id: string) => m.memory.session(id).addItems([user('a')]);
      await expectRouted('clear', (id) => m.memory.session(id).clearSession(), seed);
      await expectRouted('delete', (id) => m.memory.deleteSession(id), seed);
      await expectRouted('get-session', (id) => m.memory.getSession(id), seed);
    });

    it('metadata: set, read, set with items, remove', async () => {
      await expectRouted('set-metadata', (id) => m.memory.setMetadata(id, { tier: 'gold' }));
      const seed = (id: string) => m.memory.setMetadata(id, { tier: 'gold' });
      await expectRouted('get-metadata', (id) => m.memory.getMetadata(id), seed);
      await expectRouted('remove-metadata', (id) => m.memory.setMetadata(id, null), seed);
    });

    it('history transactions (append, replace_suffix, replay), compaction and applyHistoryMutations', async () => {
      const seed = (id: string) => m.memory.session(id).addItems([user('keep'), user('draft')]);
      await expectRouted('append-tx', (id) =>
        m.memory
          .session(id)
          .applyHistoryTransaction({ operationId: 'op-1', transaction: { type: 'append_items', items: [user('n')] } }),
      );
      const replace = (id: string) =>
        m.memory.session(id).applyHistoryTransaction({
          operationId: 'op-2',
          transaction: { type: 'replace_suffix', expectedSuffix: [user('draft')], replacement: [user('final')] },
        });
      await expectRouted('replace-suffix', replace, seed);
      await expectRouted('replay', replace, async (id) => {
        await seed(id);
        await replace(id);
      });
      await expectRouted(
        'compaction',
        (id) => m.memory.session(id).replaceHistoryWithCompaction([compaction('s'), user('keep')]),
        seed,
      );
      const rewrite = await expectRouted(
        'mutations',
        (id) =>
          m.memory.session(id).applyHistoryMutations({
            mutations: [{ type: 'replace_function_call', callId: 'c1', replacement: functionCall('c1', '{"v":2}') }],
          }),
        (id) =>
          m.memory.session(id).addItems([user('q'), functionCall('c1', '{"v":1}'), functionCall('c1', '{"v":9}')]),
      );
      expect(
        rewrite.some((t) => /^UPDATE .* SET message_data = \$1 WHERE session_id = \$3 AND id = \$2$/.test(t)),
      ).toBe(true);
      expect(rewrite.some((t) => /^DELETE FROM .* WHERE session_id = \$1 AND id = ANY/.test(t))).toBe(true);
    });

    it('ownership: the first write records the owner, later calls check it', async () => {
      await expectRouted('claim', (id) => m.memory.session(id, { owner: 'alice' }).addItems([user('mine')]));
      await expectRouted(
        'owned-read',
        (id) => m.memory.session(id, { owner: 'alice' }).getItems(),
        (id) => m.memory.session(id, { owner: 'alice' }).addItems([user('mine')]),
      );
      // Every owner-checked read carries the owner condition in its own statement; an empty or
      // refused one reads the ownership once; writes read it on every call.
      const own = (id: string) =>
        m.memory.session(id, { owner: 'alice' }).addItems([user('mine')], { metadata: { a: 1 } });
      const as = (id: string, who: string) => m.memory.session(id, { owner: who });
      await expectRouted(
        'owned-reads',
        async (id) => {
          await as(id, 'alice').getItems(2);
          await as(id, 'alice').getItemsPage({ limit: 1 });
          await as(id, 'alice').getMetadata();
          await m.memory.getSession(id, { owner: 'alice' });
          await as(id, 'alice').popItem();
        },
        own,
      );
      await expectRouted(
        'refused-reads',
        async (id) => {
          await as(id, 'eve')
            .getItems()
            .catch(() => undefined);
          await as(id, 'eve')
            .getMetadata()
            .catch(() => undefined);
          await m.memory.getSession(id, { owner: 'eve' }).catch(() => undefined);
        },
        own,
      );
      await expectRouted('assign-owner', (id) => m.memory.assignOwner(id, 'bob'), own);
      await expectRouted('pop-unused', (id) => as(id, 'alice').popItem());
    });

    it('listing and purging work across shards, each shard reading a bounded number of rows', async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `list-${i}-${Math.random().toString(36).slice(2, 6)}`);
      for (const id of ids) await m.memory.session(id).addItems([user(id)]);
      const recorder = recordStatements(m.memory.dataSource);
      const page = await m.memory.listSessions({ limit: 5, includeItemCount: true });
      const [listing] = statementsOf(recorder.take());
      recorder.stop();
      expect(page.sessions).toHaveLength(5);
      const { taskCounts, plan } = await explain(admin, listing);
      const shards = Number(
        (
          await admin.query(`SELECT count(*) AS n FROM pg_dist_shard WHERE logicalrelid = $1::regclass`, [
            m.tables.sessions,
          ])
        ).rows[0].n,
      );
      expect(taskCounts).toEqual([shards]); // one task per shard...
      expect(plan).toMatch(/Task\n[\s\S]*Limit/); // ...each stopping at the page size

      let listed = 0;
      for (let cursor: string | undefined, first = true; first || cursor; first = false) {
        const next = await m.memory.listSessions({ limit: 5, cursor });
        listed += next.sessions.length;
        cursor = next.nextCursor;
      }
      expect(listed).toBeGreaterThanOrEqual(ids.length);

      await m.sql(`UPDATE ${m.tables.sessions} SET updated_at = updated_at - interval '2 days'`);
      expect(await m.memory.purgeExpired({ idleFor: '1d', batchSize: 5 })).toBeGreaterThanOrEqual(ids.length);
      expect((await m.memory.listSessions({ limit: 5 })).sessions).toEqual([]);
    });
  },
  ['citus'],
);
