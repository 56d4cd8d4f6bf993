import { Agent, RunContext, Usage, run, tool } from '@openai/agents-core';
import { z } from 'zod';
import {
  ConversationAccessDeniedError,
  InvalidManagementOptionsError,
  InvalidOwnerError,
  InvalidSessionInputError,
  SessionUsage,
  UsageTotals,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { LocalModel } from '../support/local-model';
import { TestMemory, startMemory, urlFor } from '../support/memory';
import { createUsageTable, dropUsageTable } from './usage-table';

/** The totals the runner itself counted for a run (`result.runContext.usage`), as the usage API reports them. */
const totalsOf = (usage: Usage): UsageTotals => ({
  requests: usage.requests,
  inputTokens: usage.inputTokens,
  outputTokens: usage.outputTokens,
  totalTokens: usage.totalTokens,
});

const add = (...all: UsageTotals[]): UsageTotals =>
  all.reduce(
    (sum, u) => ({
      requests: sum.requests + u.requests,
      inputTokens: sum.inputTokens + u.inputTokens,
      outputTokens: sum.outputTokens + u.outputTokens,
      totalTokens: sum.totalTokens + u.totalTokens,
    }),
    { requests: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  );

const totalsPart = ({ requests, inputTokens, outputTokens, totalTokens }: UsageTotals): UsageTotals => ({
  requests,
  inputTokens,
  outputTokens,
  totalTokens,
});

describeEachDialect(
  'Usage: recorded per turn from the runner, summed per conversation and owner',
  (dialect, baseUrl) => {
    let a: TestMemory;
    let b: TestMemory;
    let n = 0;
    const id = (name: string) => `usage-${name}-${++n}-${Date.now()}`;
    const model = new LocalModel();
    const agent = new Agent({ name: 'Plain', instructions: 'Answer.', model });
    const echo = tool({
      name: 'echo',
      description: 'Echoes the text.',
      parameters: z.object({ text: z.string() }),
      execute: async ({ text }) => `echo: ${text}`,
    });
    const toolAgent = new Agent({ name: 'Tools', instructions: 'Use the tool.', model, tools: [echo] });

    beforeAll(async () => {
      const url = urlFor(dialect, baseUrl);
      a = await startMemory(url);
      b = await startMemory(url, {}, a.tables);
      await createUsageTable(a, dialect);
    });
    afterAll(async () => {
      await b?.close();
      if (a) await dropUsageTable(a, dialect).catch(() => undefined);
      await a?.close();
    });

    it('records each run against the turn it wrote, with no call by the application', async () => {
      const conversation = id('turns');
      const session = a.memory.session(conversation);
      const runs: UsageTotals[] = [];
      for (const text of ['one', 'two', 'three']) {
        const result = await run(agent, text, { session });
        runs.push(totalsOf(result.runContext.usage));
      }
      const streamed = await run(agent, 'four', { session, stream: true });
      await streamed.completed;
      runs.push(totalsOf(streamed.runContext.usage));
      for (const r of runs) expect(r).toMatchObject({ requests: 1, totalTokens: expect.any(Number) });
      expect(Math.min(...runs.map((r) => r.totalTokens))).toBeGreaterThan(0);

      const turns = await session.getTurnUsage();
      expect(turns.map((t) => t.turn)).toEqual([1, 2, 3, 4]);
      expect(turns.map(totalsPart)).toEqual(runs);
      expect(turns[0]).toMatchObject({ inputTokensDetails: {}, outputTokensDetails: {} });
      expect(totalsPart((await session.getTurnUsage(2))!)).toEqual(runs[1]);
      expect(await session.getTurnUsage(9)).toBeUndefined();

      const total: SessionUsage = await session.getSessionUsage();
      expect(total).toEqual({ ...add(...runs), totalTurns: 4 });
      expect(await session.getSessionUsage({ branchId: 'main' })).toEqual(total);
      expect(await session.getSessionUsage({ branchId: 'other' })).toEqual({ ...add(), totalTurns: 0 });
      // A second module instance (another process) sees the same.
      expect(await b.memory.session(conversation).getSessionUsage()).toEqual(total);
      expect(await b.memory.session(conversation).getTurnUsage()).toEqual(turns);
    });

    it('counts every request of a turn that calls a tool, once', async () => {
      const conversation = id('tool');
      const session = a.memory.session(conversation);
      const result = await run(toolAgent, 'shout', { session });
      expect(result.runContext.usage.requests).toBe(2); // the call, then the answer
      const [turn] = await session.getTurnUsage();
      expect(turn).toMatchObject({ turn: 1, ...totalsOf(result.runContext.usage) });
      expect(await session.getToolUsage()).toEqual([{ toolName: 'echo', count: 1, turn: 1 }]);
      expect(await session.getConversationByTurns()).toEqual([
        {
          turn: 1,
          items: [
            { index: 0, type: 'user', toolName: null },
            { index: 1, type: 'function_call', toolName: 'echo' },
            { index: 2, type: 'function_call_result', toolName: 'echo' },
            { index: 3, type: 'assistant', toolName: null },
          ],
        },
      ]);
    });

    it('never counts a run twice: a retried save, storeRunUsage, another instance', async () => {
      const conversation = id('retry');
      const session = a.memory.session(conversation);
      await run(agent, 'first', { session });
      const result = await run(agent, 'second', { session });
      const before = await session.getSessionUsage();
      const answer = result.history[result.history.length - 1];
      // The runner's last save, retried (the rows are written again; the usage is not counted again).
      await session.addItems([answer], result.runContext);
      await a.memory.session(conversation).addItems([answer], result.runContext);
      await session.storeRunUsage(result);
      await b.memory.session(conversation).storeRunUsage(result);
      expect(await session.getSessionUsage()).toEqual(before);
      expect((await session.getTurnUsage()).map((t) => t.turn)).toEqual([1, 2]);
      expect(before.totalTurns).toBe(2);
    });

    it('storeRunUsage records a run saved elsewhere, against the current turn', async () => {
      const conversation = id('explicit');
      const session = a.memory.session(conversation);
      await run(agent, 'saved here', { session });
      const elsewhere = await run(agent, 'not saved through the session');
      await session.addItems(elsewhere.history.slice(-2)); // no run context: nothing recorded
      expect((await session.getTurnUsage()).map((t) => t.turn)).toEqual([1]);
      await session.storeRunUsage(elsewhere);
      const turns = await session.getTurnUsage();
      expect(turns.map((t) => t.turn)).toEqual([1, 2]);
      expect(totalsPart(turns[1])).toEqual(totalsOf(elsewhere.runContext.usage));
    });

    it('keeps the token details, summed over the requests of the turn', async () => {
      const conversation = id('details');
      const session = a.memory.session(conversation);
      await session.addItems([{ role: 'user', content: 'hello' }]);
      const context = new RunContext();
      context.usage.add(
        new Usage({
          requests: 1,
          inputTokens: 10,
          outputTokens: 5,
          totalTokens: 15,
          inputTokensDetails: { cached_tokens: 4 },
          outputTokensDetails: { reasoning_tokens: 2 },
        }),
      );
      context.usage.add(
        new Usage({
          requests: 1,
          inputTokens: 20,
          outputTokens: 7,
          totalTokens: 27,
          inputTokensDetails: { cached_tokens: 6 },
          outputTokensDetails: { reasoning_tokens: 3 },
        }),
      );
      await session.getItems(undefined, context); // the run reads the history (one turn so far)
      await session.addItems([{ role: 'user', content: 'again' }], context);
      expect(await session.getTurnUsage(2)).toEqual({
        turn: 2,
        requests: 2,
        inputTokens: 30,
        outputTokens: 12,
        totalTokens: 42,
        inputTokensDetails: { cached_tokens: 10 },
        outputTokensDetails: { reasoning_tokens: 5 },
      });
    });

    it('sums per owner and time window across conversations, from what was recorded', async () => {
      const alice = `alice-${Date.now()}-${dialect}`;
      const bob = `bob-${Date.now()}-${dialect}`;
      const start = new Date(Date.now() - 60 * 60 * 1000);
      const spent = { alice: [] as UsageTotals[], bob: [] as UsageTotals[] };
      for (const [who, owner, text] of [
        ['alice', alice, 'a1'],
        ['alice', alice, 'a2'],
        ['bob', bob, 'b1'],
      ] as const) {
        const result = await run(agent, text, { session: a.memory.session(id(who), { owner }) });
        spent[who].push(totalsOf(result.runContext.usage));
      }
      // A conversation alice owns, written through a session opened without an owner: still hers.
      const owned = id('alice-unowned-session');
      await a.memory.session(owned, { owner: alice }).addItems([{ role: 'user', content: 'claimed' }]);
      const viaPlain = await run(agent, 'a3', { session: a.memory.session(owned) });
      spent.alice.push(totalsOf(viaPlain.runContext.usage));

      expect(await a.memory.getUsage({ owner: alice })).toEqual({ ...add(...spent.alice), conversations: 3, runs: 3 });
      expect(await b.memory.getUsage({ owner: bob })).toEqual({ ...add(...spent.bob), conversations: 1, runs: 1 });
      expect(await a.memory.getUsage({ owner: alice, since: start })).toEqual(
        await a.memory.getUsage({ owner: alice }),
      );
      const future = new Date(Date.now() + 60 * 60 * 1000);
      expect(await a.memory.getUsage({ owner: alice, since: future })).toEqual({ ...add(), conversations: 0, runs: 0 });
      expect(await a.memory.getUsage({ owner: alice, until: start })).toEqual({ ...add(), conversations: 0, runs: 0 });
      expect(await a.memory.getUsage({ owner: `${alice}x` })).toEqual({ ...add(), conversations: 0, runs: 0 });
      const all = await a.memory.getUsage();
      expect(all.totalTokens).toBeGreaterThanOrEqual(add(...spent.alice, ...spent.bob).totalTokens);
      expect(all.conversations).toBeGreaterThanOrEqual(4);
    });

    it('keeps usage through clearSession, removes it with the conversation, and checks the owner', async () => {
      const conversation = id('lifecycle');
      const owner = `owner-${Date.now()}`;
      const session = a.memory.session(conversation, { owner });
      const result = await run(agent, 'hello', { session });
      const recorded = { ...totalsOf(result.runContext.usage), totalTurns: 1 };
      await expect(
        a.memory.session(conversation, { owner: `${owner}-other` }).getSessionUsage(),
      ).rejects.toBeInstanceOf(ConversationAccessDeniedError);
      await session.clearSession();
      expect(await session.getSessionUsage()).toEqual(recorded);
      expect(await a.memory.deleteSession(conversation)).toBe(true);
      expect(await b.memory.session(conversation).getSessionUsage()).toEqual({ ...add(), totalTurns: 0 });
      expect(await a.memory.getUsage({ owner })).toEqual({ ...add(), conversations: 0, runs: 0 });
    });

    it('refuses bad input with a typed error before any I/O', async () => {
      const closed = await startMemory(urlFor(dialect, baseUrl));
      const session = closed.memory.session(id('bad'));
      const { memory } = closed;
      await closed.close(); // any I/O now fails with another error
      for (const options of [
        null,
        'main',
        [],
        { branchId: '' },
        { branchId: 7 },
        { branchId: 'x'.repeat(256) },
        { branchId: 'a\0b' },
      ]) {
        await expect(session.getSessionUsage(options as never)).rejects.toBeInstanceOf(InvalidSessionInputError);
        await expect(session.getTurnUsage(undefined, options as never)).rejects.toBeInstanceOf(
          InvalidSessionInputError,
        );
        await expect(session.getConversationTurns(options as never)).rejects.toBeInstanceOf(InvalidSessionInputError);
      }
      for (const turn of [0, -1, 1.5, NaN, Infinity, '1', null])
        await expect(session.getTurnUsage(turn as never)).rejects.toBeInstanceOf(InvalidSessionInputError);
      for (const result of [undefined, null, {}, { runContext: null }, { runContext: {} }, 'result'])
        await expect(session.storeRunUsage(result as never)).rejects.toBeInstanceOf(InvalidSessionInputError);
      for (const query of [
        null,
        'alice',
        { since: new Date(NaN) },
        { until: 'yesterday' },
        { since: new Date(2), until: new Date(1) },
      ])
        await expect(memory.getUsage(query as never)).rejects.toBeInstanceOf(InvalidManagementOptionsError);
      for (const owner of ['', 7, 'x'.repeat(256)])
        await expect(memory.getUsage({ owner } as never)).rejects.toBeInstanceOf(InvalidOwnerError);
    });
  },
);
