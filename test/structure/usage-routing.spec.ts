import { Agent, run } from '@openai/agents-core';
import { Client } from 'pg';
import { describeEachDialect } from '../support/databases';
import { placementOf, recordStatements, SentStatement } from '../support/citus';
import { LocalModel } from '../support/local-model';
import { startMemory, TestMemory } from '../support/memory';
import { createUsageTable, dropUsageTable } from './usage-table';

/**
 * Every statement of the usage table about one conversation is routed by Citus to that conversation's
 * shard (test/citus/routing.spec.ts's method, for the usage statements): the EXPLAIN of each statement
 * the module really sent reports one task, on the worker holding the conversation, and no distributed
 * subplan. `getUsage` (across conversations) is one fan-out over the shards, by design.
 */
describeEachDialect(
  'Citus: the usage statements of one conversation are routed to its shard',
  (dialect, url) => {
    let m: TestMemory;
    let admin: Client;
    const agent = new Agent({ name: 'Plain', instructions: 'Answer.', model: new LocalModel() });
    beforeAll(async () => {
      m = await startMemory(url);
      await createUsageTable(m, dialect);
      admin = new Client({ connectionString: url });
      await admin.connect();
    });
    afterAll(async () => {
      await admin?.end();
      if (m) await dropUsageTable(m, dialect).catch(() => undefined);
      await m?.close();
    });

    it('records and reads usage on the conversation shard only', async () => {
      const id = `usage-route-${Math.random().toString(36).slice(2, 8)}`;
      const recorder = recordStatements(m.memory.dataSource);
      let sent: SentStatement[];
      try {
        const session = m.memory.session(id);
        const result = await run(agent, 'hello', { session });
        await m.memory.session(id).storeRunUsage(result);
        await run(agent, 'again', { session: m.memory.session(id, { owner: 'routing-owner' }) });
        await session.getSessionUsage();
        await session.getSessionUsage({ branchId: 'main' });
        await session.getTurnUsage();
        await session.getTurnUsage(1);
      } finally {
        sent = recorder.take();
        recorder.stop();
      }
      const usage = sent.filter((s) => s.text.includes(`${m.tables.sessions}_usage`) && !/ WHERE 1 = 0$/.test(s.text));
      const kinds = new Set(usage.map((s) => s.text.slice(0, 12)));
      expect([...kinds].sort()).toEqual(['INSERT INTO ', 'SELECT COALE', 'SELECT turn,']);
      const { port } = await placementOf(admin, m.tables.sessions, id);
      for (const s of usage) {
        const { rows } = await admin.query(`EXPLAIN (COSTS OFF) ${s.text}`, s.values);
        const plan = rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
        const context = `${s.text}\n${plan}`;
        const taskCounts = [...plan.matchAll(/Task Count: (\d+)/g)].map((x) => Number(x[1]));
        const ports = [...plan.matchAll(/Node: host=\S+ port=(\d+)/g)].map((x) => Number(x[1]));
        expect({ context, taskCounts }).toEqual({ context, taskCounts: [1] });
        expect({ context, subplan: plan.includes('Distributed Subplan') }).toEqual({ context, subplan: false });
        expect({ context, ports }).toEqual({ context, ports: [port] });
      }
    });
  },
  ['citus'],
);
