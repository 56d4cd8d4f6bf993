import { Agent, AgentInputItem, run, tool } from '@openai/agents-core';
import { z } from 'zod';
import { InvalidSessionInputError } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { functionCall, user } from '../support/items';
import { LocalModel } from '../support/local-model';
import { useMemory, startMemory, urlFor } from '../support/memory';

const assistant = (text: string): AgentInputItem => ({
  type: 'message',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text }],
});
const result = (callId: string, name = 'lookup'): AgentInputItem => ({
  type: 'function_call_result',
  callId,
  name,
  status: 'completed',
  output: 'ok',
});

describeEachDialect('Turns of a stored conversation', (dialect, baseUrl) => {
  const m = useMemory(dialect, baseUrl);
  let n = 0;
  const id = (name: string) => `turns-${name}-${++n}-${Date.now()}`;

  const history: AgentInputItem[] = [
    { role: 'system', content: 'be brief' },
    user('Where is Paris?'),
    assistant('In France.'),
    user('And the weather in PARIS today? '.repeat(5)),
    functionCall('c1', '{"city":"Paris"}', 'weather'),
    result('c1', 'weather'),
    functionCall('c2', '{}', 'clock'),
    result('c2', 'clock'),
    functionCall('c3', '{"city":"Lyon"}', 'weather'),
    result('c3', 'weather'),
    assistant('Sunny.'),
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'thanks' }] },
  ];

  it('lists the user turns, groups items by turn and counts tools, as stored', async () => {
    const session = m.memory.session(id('stored'));
    await session.addItems(history.slice(0, 6));
    await session.addItems(history.slice(6));
    const long = 'And the weather in PARIS today? '.repeat(5);
    expect(await session.getConversationTurns()).toEqual([
      {
        turn: 1,
        content: 'Where is Paris?',
        fullContent: 'Where is Paris?',
        canBranch: true,
        timestamp: expect.any(Date),
      },
      { turn: 2, content: long.slice(0, 100), fullContent: long, canBranch: true, timestamp: expect.any(Date) },
      { turn: 3, content: 'thanks', fullContent: 'thanks', canBranch: true, timestamp: expect.any(Date) },
    ]);
    expect(await session.getConversationByTurns()).toEqual([
      { turn: 0, items: [{ index: 0, type: 'other', toolName: null }] },
      {
        turn: 1,
        items: [
          { index: 1, type: 'user', toolName: null },
          { index: 2, type: 'assistant', toolName: null },
        ],
      },
      {
        turn: 2,
        items: [
          { index: 3, type: 'user', toolName: null },
          { index: 4, type: 'function_call', toolName: 'weather' },
          { index: 5, type: 'function_call_result', toolName: 'weather' },
          { index: 6, type: 'function_call', toolName: 'clock' },
          { index: 7, type: 'function_call_result', toolName: 'clock' },
          { index: 8, type: 'function_call', toolName: 'weather' },
          { index: 9, type: 'function_call_result', toolName: 'weather' },
          { index: 10, type: 'assistant', toolName: null },
        ],
      },
      { turn: 3, items: [{ index: 11, type: 'user', toolName: null }] },
    ]);
    expect(await session.getToolUsage()).toEqual([
      { toolName: 'weather', count: 2, turn: 2 },
      { toolName: 'clock', count: 1, turn: 2 },
    ]);
    // A second read path: another session object of the same conversation.
    expect(await m.memory.session(session.conversationId).getToolUsage({ branchId: 'main' })).toEqual([
      { toolName: 'weather', count: 2, turn: 2 },
      { toolName: 'clock', count: 1, turn: 2 },
    ]);
  });

  it('finds turns by content, ignoring case, in user messages only', async () => {
    const session = m.memory.session(id('find'));
    await session.addItems(history);
    const found = await session.findTurnsByContent('paris');
    expect(found.map((t) => [t.turn, t.content.length, t.fullContent.slice(0, 15)])).toEqual([
      [1, 15, 'Where is Paris?'],
      [2, 160, 'And the weather'],
    ]);
    expect(await session.findTurnsByContent('sunny')).toEqual([]);
    expect(await session.findTurnsByContent('THANKS')).toEqual([
      { turn: 3, content: 'thanks', fullContent: 'thanks', canBranch: true, timestamp: expect.any(Date) },
    ]);
    expect(await session.findTurnsByContent("%' OR 1=1 --")).toEqual([]);
    expect(await m.memory.session(id('empty')).findTurnsByContent('paris')).toEqual([]);
  });

  it('follows what the real runner stored, tool calls included', async () => {
    const model = new LocalModel();
    const echo = tool({
      name: 'echo',
      description: 'Echoes the text.',
      parameters: z.object({ text: z.string() }),
      execute: async ({ text }) => `echo: ${text}`,
    });
    const agent = new Agent({ name: 'Tools', instructions: 'Use the tool.', model, tools: [echo] });
    const session = m.memory.session(id('runner'));
    await run(agent, 'first question', { session });
    await run(agent, 'second question', { session });
    expect((await session.getConversationTurns()).map((t) => [t.turn, t.content])).toEqual([
      [1, 'first question'],
      [2, 'second question'],
    ]);
    expect(await session.getToolUsage()).toEqual([
      { toolName: 'echo', count: 1, turn: 1 },
      { toolName: 'echo', count: 1, turn: 2 },
    ]);
    expect((await session.getConversationByTurns()).map((t) => [t.turn, t.items.map((i) => i.type)])).toEqual([
      [1, ['user', 'function_call', 'function_call_result', 'assistant']],
      [2, ['user', 'function_call', 'function_call_result', 'assistant']],
    ]);
  });

  it('refuses a bad search term or options with a typed error before any I/O', async () => {
    const closed = await startMemory(urlFor(dialect, baseUrl));
    const session = closed.memory.session(id('bad'));
    await closed.close(); // any I/O now fails with another error
    for (const term of ['', 7, null, undefined, ['x'], 'x'.repeat(1001)])
      await expect(session.findTurnsByContent(term as never)).rejects.toBeInstanceOf(InvalidSessionInputError);
    for (const options of [null, 'main', { branchId: '' }, { branchId: 1 }]) {
      await expect(session.findTurnsByContent('x', options as never)).rejects.toBeInstanceOf(InvalidSessionInputError);
      await expect(session.getConversationByTurns(options as never)).rejects.toBeInstanceOf(InvalidSessionInputError);
      await expect(session.getToolUsage(options as never)).rejects.toBeInstanceOf(InvalidSessionInputError);
    }
  });
});
