import { ConversationSession, InvalidHistoryMutationError } from '../../lib';
import type { SessionMemoryContext } from '../../lib/session-memory.context';
import { describeEachDialect } from '../support/databases';
import { TestMemory, startMemory, urlFor } from '../support/memory';
import { storedMessageData } from '../support/raw-rows';

const call = (callId: string, tag: string) => ({ type: 'function_call', callId, name: 'lookup', arguments: tag });
const mutations = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    type: 'replace_function_call',
    callId: `c${i}`,
    replacement: call(`c${i}`, `new ${i}`),
  }));

/** Counts every call the module makes to its store (each is I/O) while `spied` is installed. */
function storeCalls(m: TestMemory): { count(): number; restore(): void } {
  const { store } = (m.memory as unknown as { context: SessionMemoryContext }).context;
  const spies: jest.SpyInstance[] = [];
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(store);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  )
    for (const name of Object.getOwnPropertyNames(proto))
      if (name !== 'constructor' && typeof (store as unknown as Record<string, unknown>)[name] === 'function')
        names.add(name);
  for (const name of names) spies.push(jest.spyOn(store as never, name as never));
  expect(spies.length).toBeGreaterThan(10); // the store's operations were found
  return {
    count: () => spies.reduce((n, s) => n + s.mock.calls.length, 0),
    restore: () => spies.forEach((s) => s.mockRestore()),
  };
}

describeEachDialect(
  'applyHistoryMutations: the number of mutations is capped (limits.maxItemsPerCall)',
  (dialect, baseUrl) => {
    let small: TestMemory; // limits.maxItemsPerCall 5
    let standard: TestMemory; // the default, 10,000
    let n = 0;
    const fresh = (m: TestMemory): ConversationSession => m.memory.session(`mut-limit-${++n}-${Date.now()}`);
    const sessions = async (m: TestMemory, conversationId: string) =>
      Number(
        (await m.sql(`SELECT COUNT(*) AS n FROM ${m.tables.sessions} WHERE session_id = ?`, [conversationId]))[0].n,
      );

    beforeAll(async () => {
      const url = urlFor(dialect, baseUrl);
      small = await startMemory(url, { limits: { maxItemsPerCall: 5 } });
      standard = await startMemory(dialect === 'sqlite' ? urlFor(dialect, baseUrl) : url);
    });
    afterAll(async () => {
      await small?.close();
      await standard?.close();
    });

    it('one mutation over the cap is refused before any I/O, nothing written', async () => {
      const s = fresh(small);
      await s.addItems([call('c0', 'old 0'), call('c1', 'old 1'), call('c2', 'old 2')] as never);
      await s.addItems([call('c3', 'old 3'), call('c4', 'old 4'), call('c5', 'old 5')] as never);
      const before = await storedMessageData(small, s.conversationId);
      const calls = storeCalls(small);
      try {
        const err = await s.applyHistoryMutations({ mutations: mutations(6) } as never).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidHistoryMutationError);
        expect((err as Error).message).toMatch(/6 mutations; at most 5 .*limits\.maxItemsPerCall/);
        expect(calls.count()).toBe(0);
      } finally {
        calls.restore();
      }
      expect(await storedMessageData(small, s.conversationId)).toEqual(before);
    });

    it('the cap itself is accepted and applied', async () => {
      const s = fresh(small);
      await s.addItems([call('c0', 'old 0'), call('c1', 'old 1'), call('c0', 'old again')] as never);
      await s.applyHistoryMutations({ mutations: mutations(5) } as never);
      expect(await s.getItems()).toEqual([call('c0', 'new 0'), call('c1', 'new 1')]);
    });

    it('200,000 mutations under the default cap (10,000) are refused before any I/O; an unknown conversation is not created', async () => {
      const s = fresh(standard);
      const calls = storeCalls(standard);
      try {
        const err = await s.applyHistoryMutations({ mutations: mutations(200_000) } as never).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidHistoryMutationError);
        expect((err as Error).message).toMatch(/200000 mutations; at most 10000 /);
        expect(calls.count()).toBe(0);
      } finally {
        calls.restore();
      }
      expect(await sessions(standard, s.conversationId)).toBe(0);
      expect(await storedMessageData(standard, s.conversationId)).toEqual([]);
    });
  },
);
