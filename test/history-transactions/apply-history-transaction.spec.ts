import {
  Agent,
  OutputGuardrailTripwireTriggered,
  isSessionHistoryTransactionAwareSession,
  run,
  tool,
} from '@openai/agents-core';
import { z } from 'zod';
import type { AgentInputItem, SessionHistoryTransactionArgs } from '@openai/agents-core';
import {
  ConversationSession,
  HistoryOperationConflictError,
  HistorySuffixMismatchError,
  InvalidHistoryTransactionError,
  SessionMemoryConfigurationError,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { LocalModel, describeItems } from '../support/local-model';
import { startMemory, urlFor, useMemoryPair } from '../support/memory';
import { user, texts } from '../support/items';

describeEachDialect('applyHistoryTransaction', (dialect, baseUrl) => {
  let n = 0;
  const fresh = (): ConversationSession => a.memory.session(`hist-${++n}-${Date.now()}`);
  const operations = async (sessionId: string) =>
    (
      await a.sql(
        `SELECT operation_id FROM ${a.tables.messages}_operations WHERE session_id = ? ORDER BY operation_id`,
        [sessionId],
      )
    ).map((r: any) => r.operation_id);

  const [a, b] = useMemoryPair(dialect, baseUrl);

  it('is the Agents SDK optional capability', () => {
    expect(isSessionHistoryTransactionAwareSession(fresh())).toBe(true);
  });

  it('append_items: applied once; a replay with the same transaction (keys in another order) changes nothing', async () => {
    const s = fresh();
    await s.addItems([user('before')]);
    const args: SessionHistoryTransactionArgs = {
      operationId: 'run-1:1:append',
      transaction: { type: 'append_items', items: [user('a'), user('b')] },
    };
    await s.applyHistoryTransaction(args);
    await s.applyHistoryTransaction(structuredClone(args));
    await b.memory.session(s.conversationId).applyHistoryTransaction({
      transaction: {
        items: [
          { content: 'a', role: 'user' },
          { content: 'b', role: 'user' },
        ],
        type: 'append_items',
      },
      operationId: 'run-1:1:append',
    } as SessionHistoryTransactionArgs);
    expect(texts(await s.getItems())).toEqual(['before', 'a', 'b']);
    expect(await operations(s.conversationId)).toEqual(['run-1:1:append']);
  });

  it('20 concurrent calls with one operation id from two instances apply it once', async () => {
    const s = fresh();
    const args: SessionHistoryTransactionArgs = {
      operationId: 'concurrent-op',
      transaction: { type: 'append_items', items: [user('x1'), user('x2'), user('x3')] },
    };
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? b : a).memory.session(s.conversationId).applyHistoryTransaction(structuredClone(args)),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(texts(await s.getItems())).toEqual(['x1', 'x2', 'x3']);
    expect(await operations(s.conversationId)).toEqual(['concurrent-op']);
  });

  it('replace_suffix: replaces the matching newest items atomically, once, also under 20 concurrent replays', async () => {
    const s = fresh();
    await s.addItems([user('keep 1'), user('keep 2'), user('draft 1'), user('draft 2')]);
    const args: SessionHistoryTransactionArgs = {
      operationId: 'replace-1',
      transaction: {
        type: 'replace_suffix',
        expectedSuffix: [user('draft 1'), user('draft 2')],
        replacement: [user('final')],
      },
    };
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? b : a).memory.session(s.conversationId).applyHistoryTransaction(structuredClone(args)),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(texts(await s.getItems())).toEqual(['keep 1', 'keep 2', 'final']);
    expect(await operations(s.conversationId)).toEqual(['replace-1']);
  });

  it('a suffix that does not match fails with HistorySuffixMismatchError and changes nothing', async () => {
    const s = fresh();
    await s.addItems([user('a'), user('b'), user('c')]);
    const attempts: SessionHistoryTransactionArgs['transaction'][] = [
      { type: 'replace_suffix', expectedSuffix: [user('b')], replacement: [user('z')] }, // not the newest
      { type: 'replace_suffix', expectedSuffix: [user('c'), user('b')], replacement: [user('z')] }, // wrong order
      {
        type: 'replace_suffix',
        expectedSuffix: [user('0'), user('a'), user('b'), user('c')],
        replacement: [user('z')],
      }, // longer than history
    ];
    for (const [i, transaction] of attempts.entries()) {
      const err = await s.applyHistoryTransaction({ operationId: `mismatch-${i}`, transaction }).catch((e) => e);
      expect(err).toBeInstanceOf(HistorySuffixMismatchError);
      expect(err.operationId).toBe(`mismatch-${i}`);
    }
    expect(texts(await s.getItems())).toEqual(['a', 'b', 'c']);
    expect(await operations(s.conversationId)).toEqual([]);
    // On a conversation that does not exist: refused, and the conversation is still not created.
    const none = fresh();
    await expect(
      none.applyHistoryTransaction({
        operationId: 'x',
        transaction: { type: 'replace_suffix', expectedSuffix: [user('a')], replacement: [] },
      }),
    ).rejects.toBeInstanceOf(HistorySuffixMismatchError);
    expect((await a.memory.listSessions({ limit: 1000 })).sessions.map((x) => x.conversationId)).not.toContain(
      none.conversationId,
    );
  });

  it('a reused operation id with a different transaction fails with HistoryOperationConflictError and changes nothing', async () => {
    const s = fresh();
    await s.applyHistoryTransaction({
      operationId: 'op',
      transaction: { type: 'append_items', items: [user('first')] },
    });
    for (const transaction of [
      { type: 'append_items', items: [user('second')] },
      { type: 'append_items', items: [user('first'), user('first')] },
      { type: 'replace_suffix', expectedSuffix: [user('first')], replacement: [user('first')] },
    ] as SessionHistoryTransactionArgs['transaction'][]) {
      await expect(
        b.memory.session(s.conversationId).applyHistoryTransaction({ operationId: 'op', transaction }),
      ).rejects.toBeInstanceOf(HistoryOperationConflictError);
    }
    expect(texts(await s.getItems())).toEqual(['first']);
  });

  it('operation ids are exact strings (case, trailing space)', async () => {
    const s = fresh();
    for (const [i, operationId] of ['Op', 'op', 'op ', 'op  '].entries()) {
      await s.applyHistoryTransaction({
        operationId,
        transaction: { type: 'append_items', items: [user(`item ${i}`)] },
      });
    }
    expect(texts(await s.getItems())).toEqual(['item 0', 'item 1', 'item 2', 'item 3']);
    expect((await operations(s.conversationId)).sort()).toEqual(['Op', 'op', 'op ', 'op  '].sort());
  });

  it('refuses malformed arguments before any I/O', async () => {
    const s = fresh();
    const bad: unknown[] = [
      null,
      { transaction: { type: 'append_items', items: [] } },
      { operationId: '  ', transaction: { type: 'append_items', items: [] } },
      { operationId: 'x'.repeat(256), transaction: { type: 'append_items', items: [] } },
      { operationId: 'ok', transaction: { type: 'rewrite', items: [] } },
      { operationId: 'ok', transaction: { type: 'append_items', items: 'nope' } },
      { operationId: 'ok', transaction: { type: 'append_items', items: [{ role: 'user', content: 1n }] } },
      { operationId: 'ok', transaction: { type: 'replace_suffix', expectedSuffix: [user('a')] } },
    ];
    for (const args of bad)
      await expect(s.applyHistoryTransaction(args as any)).rejects.toBeInstanceOf(InvalidHistoryTransactionError);
    expect(await s.getItems()).toEqual([]);
  });

  it("clearSession keeps the conversation's operation ids (a retry stays a replay); deleteSession forgets them", async () => {
    const s = fresh();
    await s.applyHistoryTransaction({ operationId: 'op', transaction: { type: 'append_items', items: [user('x')] } });
    await s.clearSession();
    expect(await operations(s.conversationId)).toEqual(['op']);
    await s.applyHistoryTransaction({ operationId: 'op', transaction: { type: 'append_items', items: [user('x')] } });
    expect(await s.getItems()).toEqual([]);
    expect(await a.memory.deleteSession(s.conversationId)).toBe(true);
    expect(await operations(s.conversationId)).toEqual([]);
  });

  it('the Agents SDK runner persists blocked output through applyHistoryTransaction', async () => {
    const s = fresh();
    const spy = jest.spyOn(s, 'applyHistoryTransaction');
    const addItems = jest.spyOn(s, 'addItems');
    // The model calls the tool, then answers; the output guardrail blocks the answer. The tool call
    // and its result (a side effect that happened) are kept, through a history transaction.
    const shout = tool({
      name: 'shout',
      description: 'Repeats the text in capital letters.',
      parameters: z.object({ text: z.string() }),
      execute: async ({ text }) => text.toUpperCase(),
    });
    const agent = new Agent({
      name: 'Guarded',
      instructions: 'Answer.',
      model: new LocalModel(),
      tools: [shout],
      outputGuardrails: [
        { name: 'no-output', execute: async () => ({ tripwireTriggered: true, outputInfo: 'blocked by test' }) },
      ],
    });
    const err = await run(agent, 'hello there', { session: s }).catch((e) => e);
    expect(err).toBeInstanceOf(OutputGuardrailTripwireTriggered);
    expect(spy).toHaveBeenCalled();
    const call = spy.mock.calls[0][0];
    expect(call.transaction.type).toBe('append_items');
    expect(addItems).not.toHaveBeenCalled();
    // What the runner asked to store is what is stored, once, with its operation id recorded.
    const stored = await s.getItems();
    expect(describeItems(stored)).toEqual([
      'user: hello there',
      'function_call shout {"text":"hello there"}',
      'function_call_result shout: HELLO THERE',
    ]);
    expect(stored).toEqual(JSON.parse(JSON.stringify((call.transaction as { items: AgentInputItem[] }).items)));
    expect(await operations(s.conversationId)).toEqual([call.operationId]);
    // A retry of the same operation (as after a crash before the runner saw the answer) is a no-op.
    await b.memory.session(s.conversationId).applyHistoryTransaction(structuredClone(call));
    expect(await s.getItems()).toEqual(stored);
  });

  it('an ordinary run (no guardrail) still appends through addItems, one round trip as before', async () => {
    const s = fresh();
    const spy = jest.spyOn(s, 'applyHistoryTransaction');
    const agent = new Agent({ name: 'Plain', instructions: 'Answer.', model: new LocalModel() });
    await run(agent, 'first', { session: s });
    await run(agent, 'second', { session: s });
    expect(spy).not.toHaveBeenCalled();
    expect(describeItems(await s.getItems())).toEqual([
      'user: first',
      'assistant: You said "first". I have seen 1 user message in this conversation; the first was "first".',
      'user: second',
      'assistant: You said "second". I have seen 2 user messages in this conversation; the first was "first".',
    ]);
  });

  it('without the operations table (older schema, createTables off) says how to create it', async () => {
    const url = dialect === 'sqlite' ? `sqlite:${(a.memory.dataSource.options as any).database}` : baseUrl;
    const other = await startMemory(urlFor(dialect, baseUrl));
    try {
      await other.sql(`DROP TABLE ${other.tables.messages}_operations`);
      const plain = await startMemory(
        dialect === 'sqlite' ? `sqlite:${(other.memory.dataSource.options as any).database}` : url,
        { createTables: false },
        other.tables,
      );
      try {
        await expect(
          plain.memory
            .session('x')
            .applyHistoryTransaction({ operationId: 'o', transaction: { type: 'append_items', items: [user('x')] } }),
        ).rejects.toBeInstanceOf(SessionMemoryConfigurationError);
        expect(await plain.memory.session('x').getItems()).toEqual([]);
      } finally {
        await plain.close();
      }
    } finally {
      await other.close();
    }
  });
});
