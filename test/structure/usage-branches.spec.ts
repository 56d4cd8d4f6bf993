import { Agent, run } from '@openai/agents-core';
import { describeEachDialect } from '../support/databases';
import { LocalModel } from '../support/local-model';
import { TestMemory, startMemory, urlFor } from '../support/memory';
import { createUsageTable, dropUsageTable } from './usage-table';

describeEachDialect('Usage and turns on branches', (dialect, baseUrl) => {
  let a: TestMemory;
  const agent = new Agent({ name: 'Plain', instructions: 'Answer.', model: new LocalModel() });
  beforeAll(async () => {
    a = await startMemory(urlFor(dialect, baseUrl));
    await createUsageTable(a, dialect);
  });
  afterAll(async () => {
    if (a) await dropUsageTable(a, dialect).catch(() => undefined);
    await a?.close();
  });

  it('records a run on the branch it wrote, against that branch turn', async () => {
    const id = `usage-branch-${Date.now()}`;
    const session = a.memory.session(id);
    await run(agent, 'one', { session });
    await run(agent, 'two', { session });
    const branch = await session.createBranchFromTurn(2);
    const again = await run(agent, 'two, asked again', { session: a.memory.session(id) });
    expect((await session.getConversationTurns()).map((t) => [t.turn, t.content])).toEqual([
      [1, 'one'],
      [2, 'two, asked again'],
    ]);
    expect((await session.getConversationTurns({ branchId: 'main' })).map((t) => t.content)).toEqual(['one', 'two']);
    expect(await session.findTurnsByContent('TWO')).toMatchObject([{ turn: 2, content: 'two, asked again' }]);
    const onBranch = await session.getTurnUsage();
    expect(onBranch).toMatchObject([{ turn: 2, requests: 1, totalTokens: again.runContext.usage.totalTokens }]);
    expect((await session.getTurnUsage(undefined, { branchId: 'main' })).map((t) => t.turn)).toEqual([1, 2]);
    expect(await session.getSessionUsage({ branchId: branch })).toMatchObject({ totalTurns: 1, requests: 1 });
    expect(await session.getSessionUsage()).toMatchObject({ totalTurns: 3, requests: 3 });
  });
});
