import { AgentInputItem, protocol } from '@openai/agents-core';
import {
  conversationTurns,
  countUserMessages,
  findTurnsByContent,
  isUserMessage,
  itemsByTurns,
  toolNameOf,
  toolUsage,
  turnStartIndex,
  turnsOf,
  userText,
} from '../../lib/structure/turns';

// Item shapes as the Agents SDK stores them; each is checked against the SDK's own schema.
const item = (value: object): AgentInputItem => protocol.ModelItem.parse(value) as AgentInputItem;
const user = (text: string) => item({ role: 'user', content: text });
const typedUser = (text: string) => item({ type: 'message', role: 'user', content: text });
const system = (text: string) => item({ role: 'system', content: text });
const assistant = (text: string) =>
  item({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] });
const call = (name: string, namespace?: string) =>
  item({ type: 'function_call', callId: `c-${name}`, name, arguments: '{}', status: 'completed', namespace });
const result = (name: string) =>
  item({ type: 'function_call_result', callId: `c-${name}`, name, status: 'completed', output: 'ok' });
const hosted = (name: string) => item({ type: 'hosted_tool_call', name, status: 'completed' });
const reasoning = () => item({ type: 'reasoning', content: [] });
// As Python writes them into the same table (Responses API shapes, not in the JS protocol).
const raw = (value: object) => value as unknown as AgentInputItem;

describe('turns of a history', () => {
  const history: AgentInputItem[] = [
    system('be brief'),
    user('Hello there'),
    assistant('hi'),
    typedUser('What is the weather in Paris?'),
    call('weather'),
    result('weather'),
    call('weather'),
    result('weather'),
    call('clock', 'time'),
    assistant('sunny'),
    item({
      role: 'user',
      content: [
        { type: 'input_text', text: 'Look at' },
        { type: 'input_image', image: 'https://example.invalid/a.png' },
        { type: 'input_text', text: 'this PARIS photo' },
      ],
    }),
    reasoning(),
    hosted('web_search_call'),
    assistant('a photo'),
  ];

  it('counts a user message with or without type "message", never another role', () => {
    expect(history.map(isUserMessage)).toEqual([
      false,
      true,
      false,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
    ]);
    expect(countUserMessages(history)).toBe(3);
    expect(isUserMessage(raw({ type: 'function_call', role: 'user' }))).toBe(false);
    expect(isUserMessage(null)).toBe(false);
  });

  it('gives each item its turn; items before the first user message are turn 0', () => {
    expect(turnsOf(history)).toEqual([0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3]);
  });

  it('reads the text of string content and of text parts', () => {
    expect(userText(history[1])).toBe('Hello there');
    expect(userText(history[10])).toBe('Look at\nthis PARIS photo');
    expect(userText(item({ role: 'user', content: [{ type: 'input_image', image: 'x' }] }))).toBe('');
  });

  it('lists the user turns with the first 100 characters as content', () => {
    const long = `${'é'.repeat(99)}😀tail`;
    const turns = conversationTurns([...history, user(long)]);
    expect(turns.map((t) => [t.turn, t.content, t.canBranch])).toEqual([
      [1, 'Hello there', true],
      [2, 'What is the weather in Paris?', true],
      [3, 'Look at\nthis PARIS photo', true],
      [4, `${'é'.repeat(99)}😀`, true],
    ]);
    expect(turns[3].fullContent).toBe(long);
    expect(turns[0].timestamp).toBeUndefined();
  });

  it('takes each turn timestamp from its user message', () => {
    const times = history.map((_, i) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    const turns = conversationTurns(history, times);
    expect(turns.map((t) => t.timestamp?.toISOString())).toEqual([
      '2026-01-01T00:00:01.000Z',
      '2026-01-01T00:00:03.000Z',
      '2026-01-01T00:00:10.000Z',
    ]);
  });

  it('finds turns by a case-insensitive literal substring of the user text only', () => {
    const found = findTurnsByContent(history, 'paris');
    expect(found.map((t) => [t.turn, t.content])).toEqual([
      [2, 'What is the weather in Paris?'],
      [3, 'Look at\nthis PARIS photo'],
    ]);
    expect(findTurnsByContent(history, 'sunny')).toEqual([]); // an assistant's text
    expect(findTurnsByContent(history, 'brief')).toEqual([]); // a system message
    expect(findTurnsByContent(history, '%')).toEqual([]); // no wildcards
    expect(findTurnsByContent([user('100% sure')], '%')).toHaveLength(1);
    expect(findTurnsByContent([user('ÉCOLE')], 'école').map((t) => t.turn)).toEqual([1]);
  });

  it('groups items by turn with type and tool name', () => {
    expect(itemsByTurns(history)).toEqual([
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
          { index: 6, type: 'function_call', toolName: 'weather' },
          { index: 7, type: 'function_call_result', toolName: 'weather' },
          { index: 8, type: 'function_call', toolName: 'time.clock' },
          { index: 9, type: 'assistant', toolName: null },
        ],
      },
      {
        turn: 3,
        items: [
          { index: 10, type: 'user', toolName: null },
          { index: 11, type: 'reasoning', toolName: null },
          { index: 12, type: 'hosted_tool_call', toolName: 'web_search_call' },
          { index: 13, type: 'assistant', toolName: null },
        ],
      },
    ]);
    expect(itemsByTurns([])).toEqual([]);
  });

  it('counts tool calls per tool and turn, not their outputs', () => {
    expect(toolUsage(history)).toEqual([
      { toolName: 'weather', count: 2, turn: 2 },
      { toolName: 'time.clock', count: 1, turn: 2 },
      { toolName: 'web_search_call', count: 1, turn: 3 },
    ]);
  });

  it('names tools as Python does, for items Python wrote too', () => {
    expect(toolNameOf(raw({ type: 'mcp_call', server_label: 'git', name: 'log' }))).toBe('git.log');
    expect(toolNameOf(raw({ type: 'mcp_approval_request', server_label: 'git' }))).toBe('git');
    expect(toolNameOf(raw({ type: 'web_search_call', id: 'ws' }))).toBe('web_search_call');
    expect(toolNameOf(raw({ type: 'tool_search_output', tools: [] }))).toBe('tool_search');
    expect(toolNameOf(raw({ type: 'function_call', name: 'f', namespace: 'f' }))).toBe('f'); // synthetic namespace
    expect(toolNameOf(raw({ type: 'function_call_output', call_id: 'x', output: 'o' }))).toBeNull();
    expect(toolNameOf(user('hi'))).toBeNull();
  });

  it('counts a tool search output only in a turn without a tool search call', () => {
    const items = [
      user('a'),
      raw({ type: 'tool_search_call', arguments: {} }),
      raw({ type: 'tool_search_output', tools: [] }),
      user('b'),
      raw({ type: 'tool_search_output', tools: [] }),
      raw({ type: 'mcp_call', server_label: 'git', name: 'log' }),
      raw({ type: 'mcp_call', server_label: 'git', name: 'log' }),
    ];
    expect(toolUsage(items)).toEqual([
      { toolName: 'tool_search', count: 1, turn: 1 },
      { toolName: 'tool_search', count: 1, turn: 2 },
      { toolName: 'git.log', count: 2, turn: 2 },
    ]);
  });

  it('finds the index of the user message starting a turn', () => {
    expect(turnStartIndex(history, 1)).toBe(1);
    expect(turnStartIndex(history, 2)).toBe(3);
    expect(turnStartIndex(history, 3)).toBe(10);
    expect(turnStartIndex(history, 4)).toBeUndefined();
    expect(turnStartIndex(history, 0)).toBeUndefined();
    expect(turnStartIndex(history, 1.5)).toBeUndefined();
  });
});
