import {
  Agent,
  AgentInputItem,
  MemorySession,
  OutputGuardrailTripwireTriggered,
  RunState,
  Session,
  run,
  tool,
} from '@openai/agents-core';
import { OpenAIResponsesCompactionSession } from '@openai/agents-openai';
import { z } from 'zod';
import { windowHistory } from '../../lib';
import { describeEachDialect } from '../support/databases';
import { describeItems } from '../support/local-model';
import { startMemory, useMemoryPair } from '../support/memory';
import { ScriptedModel } from '../support/scripted-model';

/** Records which Session methods the runner called, forwarding every call to the real session. */
function recording<T extends Session>(session: T): { session: T; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(session, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return value.apply(target, args);
      };
    },
  });
  return { session: proxy, calls };
}

/** The stored history without what differs between two runs of one scenario (nothing, today). */
const shape = (items: AgentInputItem[]) => describeItems(items);

describeEachDialect('The real Agents SDK runner on a ConversationSession', (dialect, baseUrl) => {
  let n = 0;
  const id = (name: string) => `${name}-${++n}-${Date.now()}`;

  const [a, b] = useMemoryPair(dialect, baseUrl);

  describe.each([false, true])('inline compaction (stream: %p)', (stream) => {
    it('goes through replaceHistoryWithCompaction, keeps metadata, and loses nothing written meanwhile', async () => {
      const model = new ScriptedModel();
      const agent = new Agent({ name: 'Plain', instructions: 'Answer.', model });
      const conversation = id('compact');
      const session = a.memory.session(conversation);
      await session.setMetadata({ tenant: 't1' });
      for (const text of ['one', 'two', 'three']) {
        const r = await run(agent, text, { session, stream: stream as false });
        if (stream) await (r as unknown as { completed: Promise<void> }).completed;
      }
      const before = await a.memory.getSession(conversation);

      // During the compacting turn another instance adds an item (after the runner read the history
      // it sends the model), and a reader in that instance keeps reading.
      const seen: number[] = [];
      let reading = true;
      const reader = (async () => {
        while (reading) seen.push((await b.memory.session(conversation).getItems()).length);
      })();
      model.compactNext = 'summary of one, two, three';
      model.beforeNextAnswer = () => b.memory.session(conversation).addItems([{ role: 'user', content: 'meanwhile' }]);
      const recorded = recording(a.memory.session(conversation));
      const result = await run(agent, 'four', { session: recorded.session, stream: stream as false });
      if (stream) await (result as unknown as { completed: Promise<void> }).completed;
      reading = false;
      await reader;

      expect(recorded.calls).toContain('replaceHistoryWithCompaction');
      expect(recorded.calls).not.toContain('clearSession');
      const items = await session.getItems();
      expect(items[0]).toMatchObject({ type: 'compaction', encrypted_content: 'summary of one, two, three' });
      // The item written meanwhile was not summarised: it is kept, after the compaction.
      expect(shape(items).filter((line) => line === 'user: meanwhile')).toHaveLength(1);
      expect(shape(items).indexOf('user: meanwhile')).toBeGreaterThan(0);
      expect(await session.getMetadata()).toEqual({ tenant: 't1' });
      const after = await a.memory.getSession(conversation);
      expect(after.createdAt).toEqual(before.createdAt);
      // No reader ever saw an empty history.
      expect(seen.length).toBeGreaterThan(0);
      expect(Math.min(...seen)).toBeGreaterThan(0);

      // The next turn sends the model the compaction item first, then what followed it.
      const next = await run(agent, 'five', { session, stream: stream as false });
      if (stream) await (next as unknown as { completed: Promise<void> }).completed;
      const lastInput = model.calls[model.calls.length - 1].input;
      expect(lastInput[0]).toMatchObject({ type: 'compaction' });
      expect(describeItems(lastInput)).toContain('user: meanwhile');
    });
  });

  it('OpenAIResponsesCompactionSession over our session keeps the metadata and createdAt', async () => {
    const conversation = id('responses-compaction');
    const underlying = a.memory.session(conversation);
    await underlying.addItems(
      Array.from({ length: 6 }, (_, i) => ({ role: 'user', content: `m${i}` }) as AgentInputItem),
      { metadata: { tenant: 't1' } },
    );
    const before = await a.memory.getSession(conversation);
    const requests: unknown[] = [];
    // The OpenAI client's one method the wrapper calls, answered locally (no network).
    const client = {
      responses: {
        compact: async (request: unknown) => {
          requests.push(request);
          return {
            output: [{ type: 'compaction', id: 'cmp_local', encrypted_content: 'six messages' }],
            usage: { input_tokens: 10, output_tokens: 2, total_tokens: 12 },
          };
        },
      },
    };
    const compacting = new OpenAIResponsesCompactionSession({
      client: client as never,
      underlyingSession: underlying,
      compactionMode: 'input',
    });
    await compacting.runCompaction({ force: true });
    expect(requests).toHaveLength(1);
    const items = await underlying.getItems();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'compaction', encrypted_content: 'six messages' });
    expect(await underlying.getMetadata()).toEqual({ tenant: 't1' });
    expect((await a.memory.getSession(conversation)).createdAt).toEqual(before.createdAt);
  });

  it('windowHistory() bounds what the model sees; the stored history stays whole', async () => {
    const model = new ScriptedModel();
    const agent = new Agent({ name: 'Plain', instructions: 'Answer.', model });
    const session = a.memory.session(id('window'));
    for (const text of ['one', 'two', 'three', 'four']) await run(agent, text, { session });
    await run(agent, 'five', { session, sessionInputCallback: windowHistory({ maxTurns: 2 }) });
    expect(describeItems(model.calls[model.calls.length - 1].input)).toEqual([
      'user: three',
      expect.stringMatching(/^assistant: /),
      'user: four',
      expect.stringMatching(/^assistant: /),
      'user: five',
    ]);
    expect((await session.getItems()).length).toBe(10);
  });

  it('stores a 10 MiB tool output and sends it back on the next turn', async () => {
    const model = new ScriptedModel();
    const big = 'const s = "hello";\n'.repeat(Math.ceil((10 * 1024 * 1024) / 19));
    const readFile = tool({
      name: 'read_file',
      description: 'Reads a file.',
      parameters: z.object({ text: z.string() }),
      execute: async () => big,
    });
    const agent = new Agent({ name: 'Reader', instructions: 'Read.', model, tools: [readFile] });
    const session = a.memory.session(id('big-output'));
    await run(agent, 'read it', { session });
    const items = await session.getItems();
    const output = items.find((i) => i.type === 'function_call_result') as { output: { text: string } };
    expect(output.output.text).toBe(big);
  });

  it('a tool approval, serialised, is resumed by another module instance on the same tables, as MemorySession does', async () => {
    const scenario = async (first: Session, second: () => Session) => {
      const model = new ScriptedModel();
      const executed: string[] = [];
      const danger = tool({
        name: 'delete_file',
        description: 'Deletes a file.',
        parameters: z.object({ text: z.string() }),
        needsApproval: true,
        execute: async ({ text }) => {
          executed.push(text);
          return `deleted ${text}`;
        },
      });
      const agent = new Agent({ name: 'Careful', instructions: 'Ask first.', model, tools: [danger] });
      const paused = await run(agent, 'notes.txt', { session: first });
      expect(paused.interruptions).toHaveLength(1);
      const serialized = paused.state.toString();
      const state = await RunState.fromString(agent, serialized);
      state.approve(state.getInterruptions()[0]);
      const resumed = await run(agent, state, { session: second() });
      expect(resumed.finalOutput).toBe('Tool delete_file returned: deleted notes.txt');
      expect(executed).toEqual(['notes.txt']);
      return shape(await second().getItems());
    };
    const oracle = new MemorySession();
    const expected = await scenario(oracle, () => oracle);
    const conversation = id('approval');
    const other = await startMemory(a.url, {}, a.tables); // a new process, after a restart
    try {
      const ours = await scenario(a.memory.session(conversation), () => other.memory.session(conversation));
      expect(ours).toEqual(expected);
    } finally {
      await other.close();
    }
  });

  it('an output-guardrail tripwire leaves the history as MemorySession has it', async () => {
    const scenario = async (session: Session) => {
      const model = new ScriptedModel();
      const agent = new Agent({
        name: 'Guarded',
        instructions: 'Answer.',
        model,
        outputGuardrails: [
          {
            name: 'no-secrets',
            execute: async ({ agentOutput }) => ({
              tripwireTriggered: String(agentOutput).includes('secret'),
              outputInfo: {},
            }),
          },
        ],
      });
      await run(agent, 'hello', { session });
      await expect(run(agent, 'tell me the secret', { session })).rejects.toBeInstanceOf(
        OutputGuardrailTripwireTriggered,
      );
      await run(agent, 'something else', { session });
      return shape(await session.getItems());
    };
    const expected = await scenario(new MemorySession());
    expect(await scenario(a.memory.session(id('guardrail')))).toEqual(expected);
  });

  it('a resumed write whose acknowledgement was lost is retried without duplicates', async () => {
    const model = new ScriptedModel();
    const danger = tool({
      name: 'delete_file',
      description: 'Deletes a file.',
      parameters: z.object({ text: z.string() }),
      needsApproval: true,
      execute: async ({ text }) => `deleted ${text}`,
    });
    const agent = new Agent({ name: 'Careful', instructions: 'Ask first.', model, tools: [danger] });
    const conversation = id('lost-ack');
    const paused = await run(agent, 'a.txt', { session: a.memory.session(conversation) });
    const serialized = paused.state.toString();

    // The first write of the resumed run commits, then its acknowledgement is lost (the connection drops).
    const real = b.memory.session(conversation);
    let lost = false;
    const flaky = new Proxy(real, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || !['addItems', 'applyHistoryTransaction'].includes(String(key))) return value;
        return async (...args: unknown[]) => {
          await value.apply(target, args);
          if (!lost) {
            lost = true;
            throw new Error('connection reset after commit');
          }
        };
      },
    });
    const first = await RunState.fromString(agent, serialized);
    first.approve(first.getInterruptions()[0]);
    const failure = await run(agent, first, { session: flaky }).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/connection reset/);
    expect(lost).toBe(true);

    // The application retries the run state that failed, after a restart: serialised, in another instance.
    const saved = first.toString();
    const retry = await RunState.fromString(agent, saved);
    const done = await run(agent, retry, { session: a.memory.session(conversation) });
    expect(done.finalOutput).toBe('Tool delete_file returned: deleted a.txt');
    const lines = shape(await real.getItems());
    expect(lines).toEqual([...new Set(lines)]); // no line twice
    expect(lines).toEqual([
      'user: a.txt',
      'function_call delete_file {"text":"a.txt"}',
      'function_call_result delete_file: deleted a.txt',
      'assistant: Tool delete_file returned: deleted a.txt',
    ]);
  });
});
