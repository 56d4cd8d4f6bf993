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
      // With the branch tables: the check that main is current (it fails the script while another branch
      // is), the session upsert (locking the row) and three INSERTs of at most 1,000 rows, in one script.
      expect(big.map((t) => t.slice(0, 11))).toEqual([
        'SELECT 1 / ',
        'INSERT INTO',
        'INSERT INTO',
        'INSERT INTO',
        'INSERT INTO',
      ]);
      expect(big[1]).toMatch(/ON CONFLICT \(session_id\) DO UPDATE SET updated_at = EXCLUDED.updated_at$/);
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

    // ---- Issue 21: conversations with branches (every branch statement routed to the conversation's shard)

    describe('branches', () => {
      /** `n` user turns `q1<tag>`, `q2<tag>`, ... (every user message begins a turn). */
      const turns = (n: number, tag: string) => Array.from({ length: n }, (_, i) => user(`q${i + 1}${tag}`));
      const textsOf = (items: readonly unknown[]) => items.map((i) => (i as { content: string }).content);
      /** main q1..q5; branch-1 from turn 4 (+b); branch-2 from its turn 5 (+c); branch-3 from its turn 6 (+d), current. */
      const deep = async (id: string) => {
        const s = m.memory.session(id);
        await s.addItems(turns(5, ''));
        await s.createBranchFromTurn(4);
        await s.addItems(turns(2, 'b'));
        await s.createBranchFromTurn(5);
        await s.addItems(turns(2, 'c'));
        await s.createBranchFromTurn(6);
        await s.addItems(turns(2, 'd'));
      };
      const deepLine = ['q1', 'q2', 'q3', 'q1b', 'q1c', 'q1d', 'q2d'];
      const branched = async (id: string) => {
        await m.memory.session(id).addItems(turns(4, ''));
        await m.memory.session(id).createBranchFromTurn(3); // branch-1 inherits q1 q2 of main
        await m.memory.session(id).addItems([user('own1'), user('own2')]);
      };

      it('createBranchFromTurn from main and from a branch (segments into several lines)', async () => {
        await expectRouted(
          'br-create-main',
          (id) => m.memory.session(id).createBranchFromTurn(2, { name: 'retry' }),
          (id) => m.memory.session(id).addItems(turns(3, '')),
        );
        await expectRouted(
          'br-create-branch',
          (id) => m.memory.session(id).createBranchFromTurn(6),
          async (id) => {
            await deep(id);
            await m.memory.session(id).switchToBranch('branch-2');
          },
        );
        await expectRouted(
          'br-create-content',
          (id) => m.memory.session(id).createBranchFromContent('q2b'),
          async (id) => {
            await branched(id);
            await m.memory.session(id).addItems(turns(2, 'b'));
          },
        );
      });

      it('getItems, getItems(n) and getItemsPage on a branch three levels deep (followed and bound)', async () => {
        await expectRouted(
          'br-read-deep',
          async (id) => {
            const s = m.memory.session(id);
            expect(textsOf(await s.getItems())).toEqual(deepLine);
            expect(textsOf(await s.getItems(3))).toEqual(deepLine.slice(-3));
            // Pages whose cursor is in the branch's own rows (q1d q2d): see the next test for one in inherited rows.
            const first = await s.getItemsPage({ limit: 1 });
            const second = await s.getItemsPage({ limit: 3, before: first.before });
            expect(textsOf([...second.items, ...first.items])).toEqual(deepLine.slice(-4));
            expect(textsOf(await s.onBranch('branch-3').getItems(4))).toEqual(deepLine.slice(-4));
            expect(textsOf(await s.onBranch('branch-2').getItems())).toEqual(['q1', 'q2', 'q3', 'q1b', 'q1c', 'q2c']);
            expect(await s.getCurrentBranch()).toBe('branch-3');
            expect((await s.getConversationTurns()).map((t) => t.content)).toEqual(deepLine);
          },
          deep,
        );
      });

      // A page cursor in the inherited rows reads the whole view at once (the own rows alone cannot hold it).
      it('getItemsPage on a branch three levels deep, a cursor in its inherited rows', async () => {
        await expectRouted(
          'br-page-inherited',
          async (id) => {
            const s = m.memory.session(id);
            const first = await s.getItemsPage({ limit: 3 }); // q1c (branch-2's) q1d q2d
            const second = await s.getItemsPage({ limit: 3, before: first.before });
            expect(textsOf([...second.items, ...first.items])).toEqual(deepLine.slice(-6));
          },
          deep,
        );
      });

      it('addItems on a branch, and on main while a branch is current', async () => {
        await expectRouted('br-add-current', (id) => m.memory.session(id).addItems([user('x'), user('y')]), branched);
        await expectRouted(
          'br-add-bound',
          (id) =>
            m.memory
              .session(id)
              .onBranch('branch-1')
              .addItems([user('x')]),
          branched,
        );
        await expectRouted(
          'br-add-after-read',
          async (id) => {
            const s = m.memory.session(id);
            await s.getItems(1);
            await s.addItems([user('x')]);
          },
          branched,
        );
        await expectRouted(
          'br-add-main',
          async (id) => {
            await m.memory
              .session(id)
              .onBranch('main')
              .addItems([user('on main')]);
            expect(textsOf(await m.memory.session(id).onBranch('main').getItems(1))).toEqual(['on main']);
            expect(textsOf(await m.memory.session(id).getItems(1))).toEqual(['own2']);
          },
          branched,
        );
      });

      it('popItem on a branch (its own row, then an inherited one), clearSession and compaction on a branch', async () => {
        await expectRouted(
          'br-pop',
          async (id) => {
            const s = m.memory.session(id);
            expect(textsOf([await s.popItem(), await s.popItem(), await s.popItem()])).toEqual(['own2', 'own1', 'q2']);
          },
          branched,
        );
        await expectRouted(
          'br-pop-inherited-branch-row',
          async (id) => {
            // branch-3's newest rows are its own, then branch-2's, then branch-1's, then main's
            const b3 = m.memory.session(id).onBranch('branch-3');
            for (let i = 0; i < 5; i++) await b3.popItem();
            expect(textsOf(await b3.getItems())).toEqual(deepLine.slice(0, 2));
          },
          deep,
        );
        await expectRouted('br-clear', (id) => m.memory.session(id).clearSession(), branched);
        await expectRouted(
          'br-compaction',
          (id) => m.memory.session(id).replaceHistoryWithCompaction([compaction('s'), user('kept')]),
          deep,
        );
        await expectRouted(
          'br-history-tx',
          (id) =>
            m.memory.session(id).applyHistoryTransaction({
              operationId: 'op-br',
              transaction: { type: 'replace_suffix', expectedSuffix: [user('own2')], replacement: [user('final')] },
            }),
          branched,
        );
      });

      /**
       * The workloads that freeze branches (a line some branch inherits from loses rows): each first copies what
       * those branches inherit into a private line, server-side, with `INSERT ... SELECT` (BranchStatements.copyRows).
       */
      const freezing: [string, (id: string) => Promise<unknown>, (id: string) => Promise<unknown>][] = [
        [
          // branch-2 and branch-3 inherit branch-1's q1b: popping it on branch-1 freezes them first
          'br-pop-shared-own-row',
          async (id) => {
            await m.memory.session(id).onBranch('branch-1').popItem();
            await m.memory.session(id).onBranch('branch-1').popItem();
            expect(textsOf(await m.memory.session(id).getItems())).toEqual(deepLine);
          },
          deep,
        ],
        [
          'br-main-pop',
          async (id) => {
            const main = m.memory.session(id).onBranch('main');
            for (let i = 0; i < 3; i++) await main.popItem();
            expect(textsOf(await m.memory.session(id).getItems())).toEqual(['q1', 'q2', 'own1', 'own2']);
          },
          branched,
        ],
        ['br-main-clear', (id) => m.memory.session(id).onBranch('main').clearSession(), deep],
        [
          'br-main-compaction',
          (id) =>
            m.memory
              .session(id)
              .onBranch('main')
              .replaceHistoryWithCompaction([compaction('m')]),
          deep,
        ],
        ['br-delete-inherited', (id) => m.memory.session(id).deleteBranch('branch-1'), deep],
      ];

      // The copies that freeze branches go through the client on Citus (a routed read, then routed
      // inserts): an INSERT ... SELECT would take ids from the coordinator's sequence and not be routed.
      it('main popped, cleared, compacted and a branch deleted after branching: every statement, the copies too, is routed', async () => {
        for (const [name, work, setup] of freezing) await expectRouted(name, work, setup);
      });

      it('switchToBranch, deleteBranch, listBranches', async () => {
        await expectRouted(
          'br-switch',
          async (id) => {
            await m.memory.session(id).switchToBranch('main');
            await m.memory.session(id).switchToBranch('branch-1');
          },
          branched,
        );
        await expectRouted(
          'br-delete-leaf',
          (id) => m.memory.session(id).deleteBranch('branch-3', { force: true }),
          deep,
        );
        await expectRouted(
          'br-list',
          async (id) => {
            const listed = await m.memory.session(id).listBranches();
            expect(listed.map((b) => [b.branchId, b.messageCount, b.isCurrent])).toEqual([
              ['main', 5, false],
              ['branch-1', 5, false],
              ['branch-2', 6, false],
              ['branch-3', 7, true],
            ]);
          },
          deep,
        );
      });
    });
  },
  ['citus'],
);
