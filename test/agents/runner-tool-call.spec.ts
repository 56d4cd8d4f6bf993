import { Agent, run, tool } from '@openai/agents-core';
import type { AgentInputItem } from '@openai/agents-core';
import { z } from 'zod';
import { describeEachDialect } from '../support/databases';
import { LocalModel, describeItems } from '../support/local-model';
import { TestMemory, startMemory, urlFor } from '../support/memory';

/**
 * The real Agents SDK runner (`run(agent, input, { session })` of @openai/agents-core) with a local model
 * that calls a tool: the first model call returns a function_call, the runner executes the tool, the
 * second model call returns a message. The function_call and its function_call_result must be stored
 * together and in order, and the next run must send them back to the model.
 */
describeEachDialect('Agents SDK runner with a tool call', (dialect, baseUrl) => {
  let memory: TestMemory;
  let model: LocalModel;
  let agent: Agent;
  const toolCalls: string[] = [];

  beforeAll(async () => {
    memory = await startMemory(urlFor(dialect, baseUrl));
    model = new LocalModel();
    const shout = tool({
      name: 'shout',
      description: 'Repeats the text in capital letters.',
      parameters: z.object({ text: z.string() }),
      execute: async ({ text }) => {
        toolCalls.push(text);
        return text.toUpperCase();
      },
    });
    agent = new Agent({ name: 'Shouter', instructions: 'Use the shout tool.', model, tools: [shout] });
  });
  afterAll(async () => {
    await memory?.close();
  });

  /** The rows of one conversation as stored, in id order, parsed. */
  async function storedRows(conversationId: string): Promise<AgentInputItem[]> {
    const rows = await memory.sql<{ id: number | string; message_data: string }>(
      `SELECT id, message_data FROM ${memory.tables.messages} WHERE session_id = ? ORDER BY id`,
      [conversationId],
    );
    return rows.map((r) => JSON.parse(r.message_data));
  }

  it('stores the function_call and its function_call_result together, in order, with the same callId', async () => {
    const session = memory.memory.session('tool-run');
    model.reset();
    const result = await run(agent, 'hello there', { session });

    expect(result.finalOutput).toBe('Tool shout returned: HELLO THERE');
    expect(toolCalls).toEqual(['hello there']);
    // Within the run: the second model call received the call and its result.
    expect(model.calls.map((c) => describeItems(c.input))).toEqual([
      ['user: hello there'],
      ['user: hello there', 'function_call shout {"text":"hello there"}', 'function_call_result shout: HELLO THERE'],
    ]);

    const rows = await storedRows('tool-run');
    expect(describeItems(rows)).toEqual([
      'user: hello there',
      'function_call shout {"text":"hello there"}',
      'function_call_result shout: HELLO THERE',
      'assistant: Tool shout returned: HELLO THERE',
    ]);
    const call = rows[1] as Extract<AgentInputItem, { type: 'function_call' }>;
    const output = rows[2] as Extract<AgentInputItem, { type: 'function_call_result' }>;
    expect(call.callId).toMatch(/^call_local_/);
    expect(output.callId).toBe(call.callId);
    // getItems gives the same history the table holds.
    expect(await session.getItems()).toEqual(rows);
  });

  it('a second run sends the stored call and result back to the model, before the new message', async () => {
    const session = memory.memory.session('tool-run');
    const stored = await session.getItems();
    model.reset();
    const result = await run(agent, 'again', { session });

    expect(result.finalOutput).toBe('Tool shout returned: AGAIN');
    expect(model.calls).toHaveLength(2);
    const firstInput = model.calls[0].input;
    expect(describeItems(firstInput)).toEqual([
      'user: hello there',
      'function_call shout {"text":"hello there"}',
      'function_call_result shout: HELLO THERE',
      'assistant: Tool shout returned: HELLO THERE',
      'user: again',
    ]);
    const sentCall = firstInput[1] as Extract<AgentInputItem, { type: 'function_call' }>;
    const sentResult = firstInput[2] as Extract<AgentInputItem, { type: 'function_call_result' }>;
    expect(sentCall.callId).toBe((stored[1] as typeof sentCall).callId);
    expect(sentResult.callId).toBe(sentCall.callId);

    const rows = await storedRows('tool-run');
    expect(describeItems(rows)).toEqual([
      'user: hello there',
      'function_call shout {"text":"hello there"}',
      'function_call_result shout: HELLO THERE',
      'assistant: Tool shout returned: HELLO THERE',
      'user: again',
      'function_call shout {"text":"again"}',
      'function_call_result shout: AGAIN',
      'assistant: Tool shout returned: AGAIN',
    ]);
    const newCall = rows[5] as Extract<AgentInputItem, { type: 'function_call' }>;
    const newResult = rows[6] as Extract<AgentInputItem, { type: 'function_call_result' }>;
    expect(newResult.callId).toBe(newCall.callId);
    expect(newCall.callId).not.toBe(sentCall.callId);
  });

  it('a streamed run (getStreamedResponse) stores the same shape and sees the earlier runs', async () => {
    const session = memory.memory.session('tool-run');
    model.reset();
    const streamed = await run(agent, 'streamed', { session, stream: true });
    let text = '';
    for await (const event of streamed.toTextStream()) text += event;
    await streamed.completed;

    expect(text).toBe('Tool shout returned: STREAMED');
    expect(model.calls.every((c) => c.streamed)).toBe(true);
    expect(describeItems(model.calls[0].input)).toHaveLength(9);
    expect(describeItems(model.calls[0].input).slice(-2)).toEqual([
      'assistant: Tool shout returned: AGAIN',
      'user: streamed',
    ]);
    expect(describeItems(await storedRows('tool-run')).slice(8)).toEqual([
      'user: streamed',
      'function_call shout {"text":"streamed"}',
      'function_call_result shout: STREAMED',
      'assistant: Tool shout returned: STREAMED',
    ]);
  });

  it('another conversation run at the same time keeps its own tool calls', async () => {
    model.reset();
    const ids = ['tool-a', 'tool-b', 'tool-c', 'tool-d'];
    const results = await Promise.all(
      ids.map((id) => run(agent, `text ${id}`, { session: memory.memory.session(id) })),
    );
    expect(results.map((r) => r.finalOutput)).toEqual(ids.map((id) => `Tool shout returned: TEXT ${id.toUpperCase()}`));
    for (const id of ids) {
      const rows = await storedRows(id);
      expect(describeItems(rows)).toEqual([
        `user: text ${id}`,
        `function_call shout {"text":"text ${id}"}`,
        `function_call_result shout: TEXT ${id.toUpperCase()}`,
        `assistant: Tool shout returned: TEXT ${id.toUpperCase()}`,
      ]);
      expect((rows[2] as { callId: string }).callId).toBe((rows[1] as { callId: string }).callId);
      // The model saw only this conversation: its first call, then the call with the tool result.
      const seen = model.calls.map((c) => describeItems(c.input)).filter((lines) => lines[0] === `user: text ${id}`);
      expect(seen).toEqual([
        [`user: text ${id}`],
        [
          `user: text ${id}`,
          `function_call shout {"text":"text ${id}"}`,
          `function_call_result shout: TEXT ${id.toUpperCase()}`,
        ],
      ]);
    }
    expect(model.calls).toHaveLength(ids.length * 2);
  });
});
