import { Agent, AgentInputItem, run } from '@openai/agents-core';
import { describeEachDialect } from '../support/databases';
import { LocalModel, textOf } from '../support/local-model';
import { useMemoryPair } from '../support/memory';

/** The user texts of a history, in order. */
const userTexts = (items: readonly AgentInputItem[]) =>
  items.filter((i) => (i as { role?: string }).role === 'user').map((i) => textOf(i));

describeEachDialect('Branches driven by the real Agents SDK runner', (dialect, baseUrl) => {
  const [a, b] = useMemoryPair(dialect, baseUrl);
  let n = 0;
  const id = () => `runner-branch-${++n}-${Date.now()}`;

  it('edit turn 2 and regenerate: the model sees the branch, main keeps its turns, another instance follows', async () => {
    const model = new LocalModel();
    const agent = new Agent({ name: 'Plain', instructions: 'Answer.', model });
    const conversation = id();
    for (const text of ['one', 'two', 'three']) await run(agent, text, { session: a.memory.session(conversation) });

    const branch = await a.memory.session(conversation).createBranchFromTurn(2, { name: 'edit of two' });
    // The next request (another process) runs on the current branch.
    const result = await run(agent, 'two, edited', { session: b.memory.session(conversation) });
    const seen = model.calls[model.calls.length - 1].input;
    expect(userTexts(seen)).toEqual(['one', 'two, edited']);
    expect(String(result.finalOutput)).toContain('I have seen 2 user messages');

    const onBranch = await b.memory.session(conversation).getItems();
    expect(userTexts(onBranch)).toEqual(['one', 'two, edited']);
    expect(onBranch).toHaveLength(4);
    const main = await a.memory.session(conversation).onBranch('main').getItems();
    expect(userTexts(main)).toEqual(['one', 'two', 'three']);
    expect((await a.memory.session(conversation).getConversationTurns()).map((t) => t.content)).toEqual([
      'one',
      'two, edited',
    ]);
    const listed = await b.memory.session(conversation).listBranches();
    expect(listed.map((x) => [x.branchId, x.userTurns, x.isCurrent])).toEqual([
      ['main', 3, false],
      [branch, 2, true],
    ]);

    // Back to main: the next run continues main, with main's history.
    await a.memory.session(conversation).switchToBranch('main');
    await run(agent, 'four', { session: b.memory.session(conversation) });
    expect(userTexts(model.calls[model.calls.length - 1].input)).toEqual(['one', 'two', 'three', 'four']);
    expect(userTexts(await a.memory.session(conversation).onBranch(branch).getItems())).toEqual(['one', 'two, edited']);
  });

  it('a run stays on the branch it read while another tab switches the conversation', async () => {
    const conversation = id();
    const model = new LocalModel();
    const agent = new Agent({ name: 'Plain', instructions: 'Answer.', model });
    for (const text of ['one', 'two']) await run(agent, text, { session: a.memory.session(conversation) });
    await a.memory.session(conversation).createBranchFromTurn(2);
    // The model answers only after another tab has switched back to main.
    const slow = new LocalModel();
    const switching = {
      ...slow,
      getResponse: async (request: Parameters<LocalModel['getResponse']>[0]) => {
        await b.memory.session(conversation).switchToBranch('main');
        return slow.getResponse(request);
      },
      getStreamedResponse: slow.getStreamedResponse.bind(slow),
    };
    const slowAgent = new Agent({ name: 'Slow', instructions: 'Answer.', model: switching });
    await run(slowAgent, 'two again', { session: a.memory.session(conversation) });
    expect(await a.memory.session(conversation).getCurrentBranch()).toBe('main');
    expect(userTexts(await a.memory.session(conversation).onBranch('branch-1').getItems())).toEqual([
      'one',
      'two again',
    ]);
    expect(await a.memory.session(conversation).onBranch('branch-1').getItems()).toHaveLength(4);
    expect(userTexts(await a.memory.session(conversation).getItems())).toEqual(['one', 'two']);
  });
});
