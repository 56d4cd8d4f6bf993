import { AgentInputItem, protocol } from '@openai/agents-core';
import { InvalidSessionInputError } from '../../lib';
import { selectWindow, windowHistory } from '../../lib/history/window-history';

// Item shapes as the Agents SDK runner stores them; each is checked against the SDK's own schema.
const item = (value: object): AgentInputItem => protocol.ModelItem.parse(value) as AgentInputItem;
const user = (text: string) => item({ role: 'user', content: text });
const assistant = (text: string) =>
  item({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] });
const call = (callId: string) =>
  item({ type: 'function_call', callId, name: 'lookup', arguments: '{}', status: 'completed' });
const result = (callId: string) =>
  item({
    type: 'function_call_result',
    callId,
    name: 'lookup',
    status: 'completed',
    output: { type: 'text', text: 'ok' },
  });
const reasoning = () => item({ type: 'reasoning', content: [] });
const compaction = () => item({ type: 'compaction', encrypted_content: 'summary-of-everything-before' });

/** A short label per item, to compare windows readably. */
const label = (items: AgentInputItem[]) =>
  items.map((i) => {
    const x = i as { type?: string; role?: string; callId?: string; content?: unknown };
    if (x.type === 'function_call') return `call:${x.callId}`;
    if (x.type === 'function_call_result') return `result:${x.callId}`;
    if (x.type === 'reasoning' || x.type === 'compaction') return x.type;
    const c = x.content;
    return `${x.role}:${typeof c === 'string' ? c : (c as { text: string }[])[0].text}`;
  });

describe('windowHistory / selectWindow', () => {
  const history = [
    user('u1'),
    assistant('a1'),
    user('u2'),
    reasoning(),
    call('c1'),
    result('c1'),
    assistant('a2'),
    user('u3'),
    call('c2'),
    result('c2'),
    assistant('a3'),
  ];

  it('keeps the newest maxItems items when that cuts at a safe place', () => {
    expect(label(selectWindow(history, { maxItems: 4 }))).toEqual(['user:u3', 'call:c2', 'result:c2', 'assistant:a3']);
  });

  it('never starts with a tool result whose call it leaves out', () => {
    // The newest 2 would start at result:c2; its call is outside, so the window starts after it.
    expect(label(selectWindow(history, { maxItems: 2 }))).toEqual(['assistant:a3']);
    expect(label(selectWindow(history, { maxItems: 3 }))).toEqual(['call:c2', 'result:c2', 'assistant:a3']);
  });

  it('never starts just after a reasoning item (nor with the call it belongs to)', () => {
    // The newest 7 would start at call:c1, right after its reasoning item.
    expect(label(selectWindow(history, { maxItems: 7 }))).toEqual([
      'assistant:a2',
      'user:u3',
      'call:c2',
      'result:c2',
      'assistant:a3',
    ]);
  });

  it('keeps whole turns with maxTurns', () => {
    expect(label(selectWindow(history, { maxTurns: 2 }))).toEqual(label(history.slice(2)));
    expect(label(selectWindow(history, { maxTurns: 1 }))).toEqual(label(history.slice(7)));
    expect(label(selectWindow(history, { maxTurns: 5 }))).toEqual(label(history));
  });

  it('applies the stricter of maxItems and maxTurns', () => {
    expect(selectWindow(history, { maxItems: 3, maxTurns: 3 })).toHaveLength(3);
    expect(selectWindow(history, { maxItems: 100, maxTurns: 1 })).toHaveLength(4);
  });

  it('always keeps the latest compaction item first, counting only what follows it', () => {
    const compacted = [user('old'), compaction(), user('u4'), assistant('a4'), user('u5'), assistant('a5')];
    expect(label(selectWindow(compacted, { maxItems: 2 }))).toEqual(['compaction', 'user:u5', 'assistant:a5']);
    expect(label(selectWindow(compacted, { maxItems: 50 }))).toEqual(label(compacted.slice(1)));
    expect(label(selectWindow(compacted, { maxTurns: 1 }))).toEqual(['compaction', 'user:u5', 'assistant:a5']);
  });

  it('drops a leading result whose call was never stored', () => {
    const orphan = [result('gone'), user('u'), assistant('a')];
    expect(label(selectWindow(orphan, { maxItems: 3 }))).toEqual(['user:u', 'assistant:a']);
  });

  it('leaves the input untouched and appends the new items whole', async () => {
    const copy = structuredClone(history);
    const cb = windowHistory({ maxItems: 4 });
    const out = await cb(history, [user('new')]);
    expect(label(out)).toEqual(['user:u3', 'call:c2', 'result:c2', 'assistant:a3', 'user:new']);
    expect(history).toEqual(copy);
  });

  it.each([{}, { maxItems: 0 }, { maxTurns: 1.5 }, { maxItems: -1 }])('refuses %p', (options) => {
    expect(() => windowHistory(options)).toThrow(InvalidSessionInputError);
  });
});
