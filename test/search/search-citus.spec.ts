import { Client } from 'pg';
import { describeEachDialect } from '../support/databases';
import { user } from '../support/items';
import { createSearchStorage } from '../../lib/storage/search/search-storage';
import type { SearchSql } from '../../lib/storage/search/search-statements';
import { parseSearchQuery } from '../../lib/search/search-query';
import { useSearchPair } from './search-support';

/** Citus's task count of a statement (EXPLAIN), and whether the plan holds a distributed subplan. */
async function tasks(client: Client, s: SearchSql): Promise<{ counts: number[]; plan: string }> {
  const { rows } = await client.query(`EXPLAIN (COSTS OFF) ${s.sql}`, s.params);
  const plan = rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
  return { counts: [...plan.matchAll(/Task Count: (\d+)/g)].map((m) => Number(m[1])), plan };
}

describeEachDialect(
  'search on Citus: per-conversation index statements routed to one shard, owner-wide search one fan-out',
  (_dialect, url) => {
    const [a] = useSearchPair('citus', url);
    let admin: Client;
    beforeAll(async () => {
      admin = new Client({ connectionString: url });
      await admin.connect();
    });
    afterAll(async () => {
      await admin?.end();
    });

    it('routes the sync statements of one conversation to its shard, and distributes the search table colocated', async () => {
      await a.memory.session('citus-route-1', { owner: 'olga' }).addItems([user('citusword here')]);
      const storage = await createSearchStorage(
        'citus',
        (sql, params = []) => a.memory.dataSource.query(sql, params),
        a.tables,
        'simple',
      );
      const s = storage.statements;
      const perConversation: SearchSql[] = [
        s.missingRows('citus-route-1', 500),
        s.deleteStale('citus-route-1'),
        s.deleteItems('citus-route-1', ['1', '2']),
        ...s.upsert([
          { sessionId: 'citus-route-1', branchId: 'main', itemId: '999999', role: 'user', body: 'x', dataLength: 1 },
        ]),
        s.missingBranchRows(['citus-route-1'], 500),
        // What a pass reads of one conversation: after a watermark, and its branch rows, in one statement.
        s.missingRowsIn(
          { added: [], after: [['citus-route-1', '3']], changed: [], branches: ['citus-route-1'] },
          500,
        ) as SearchSql,
        s.deleteStaleBranchRows('citus-route-1'),
        // The turns of a page's hits in one conversation (main's and a branch's rows).
        storage.turns.counts([
          { sessionId: 'citus-route-1', branchId: 'main', itemId: '5' },
          { sessionId: 'citus-route-1', branchId: 'branch-1', itemId: '7' },
        ]),
      ];
      for (const statement of perConversation) {
        const { counts, plan } = await tasks(admin, statement);
        expect({ counts, subplan: /Distributed Subplan/.test(plan) }).toEqual({ counts: [1], subplan: false });
      }
      // One fan-out over every shard, no subplan pulled to the coordinator.
      const search = s.search({ query: parseSearchQuery('citusword'), owner: 'olga', limit: 21 });
      const wide = await tasks(admin, search);
      expect(wide.counts).toHaveLength(1);
      expect(wide.counts[0]).toBeGreaterThan(1);
      expect(wide.plan).not.toMatch(/Distributed Subplan/);
      const { rows } = await admin.query(
        `SELECT colocationid FROM pg_dist_partition WHERE logicalrelid IN ($1::regclass, $2::regclass)`,
        [a.tables.sessions, `${a.tables.messages}_search`],
      );
      expect(rows).toHaveLength(2);
      expect(rows[0].colocationid).toBe(rows[1].colocationid);
      const page = await a.memory.searchConversations({ query: 'citusword', owner: 'olga' });
      expect(page.hits).toHaveLength(1);
    });
  },
  ['citus'],
);
