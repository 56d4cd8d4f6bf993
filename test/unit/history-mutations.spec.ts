import { MemorySession, type AgentInputItem } from '@openai/agents-core';
import fc from 'fast-check';
import { InvalidHistoryMutationError } from '../../lib';
import { PlannedMutation, planHistoryMutations, rewriteForMutations } from '../../lib/history/history-mutations';
import type { StoredRow } from '../../lib/storage/session-store';
import { DEFAULT_ITEM_LIMITS, ItemLimits } from '../../lib/validation';

const call = (callId: string, tag: string) => ({ type: 'function_call', callId, name: 'lookup', arguments: tag });
const mutation = (callId: string, replacement: object) => ({ type: 'replace_function_call', callId, replacement });

/** What the stored history becomes: the rows minus `deletes`, with `updates` applied (stored texts, oldest first). */
function applyRewrite(rows: StoredRow[], mutations: PlannedMutation[]): string[] {
  const rewrite = rewriteForMutations(rows, mutations);
  if (!rewrite) return rows.map((r) => r.message_data);
  const ids = new Set(rows.map((r) => r.id));
  const deleted = new Set(rewrite.deletes);
  expect(deleted.size).toBe(rewrite.deletes.length); // no row deleted twice
  const updated = new Map(rewrite.updates.map((u) => [u.id, u.data]));
  expect(updated.size).toBe(rewrite.updates.length); // no row updated twice
  for (const id of [...deleted, ...updated.keys()]) expect(ids.has(id)).toBe(true);
  for (const id of updated.keys()) expect(deleted.has(id)).toBe(false);
  expect(rewrite.updates.length + rewrite.deletes.length).toBeGreaterThan(0);
  return rows.filter((r) => !deleted.has(r.id)).map((r) => updated.get(r.id) ?? r.message_data);
}

/** The Agents SDK's own answer: MemorySession with `items`, after `applyHistoryMutations`. */
async function sdkAnswer(items: object[], mutations: object[]): Promise<unknown[]> {
  const session = new MemorySession();
  await session.addItems(items as AgentInputItem[]);
  await session.applyHistoryMutations({ mutations } as never);
  return session.getItems();
}

describe('applyHistoryMutations: the rewrite of stored rows (pure)', () => {
  const callIds = ['a', 'b', 'c', 'd'];
  const storedItem = fc.oneof(
    fc
      .record({ callId: fc.constantFrom(...callIds), tag: fc.string({ maxLength: 3 }) })
      .map((r) => call(r.callId, r.tag)),
    fc
      .constantFrom(...callIds)
      .map((callId) => ({ type: 'function_call_result', callId, name: 'lookup', output: 'x' })),
    fc.string({ maxLength: 3 }).map((content) => ({ role: 'user', content })),
  );
  const mutationArb = fc
    .record({
      callId: fc.constantFrom(...callIds),
      // The replacement's own callId may differ from the mutation's: later mutations then match it by the new one.
      newCallId: fc.constantFrom(...callIds),
      tag: fc.string({ maxLength: 3 }),
    })
    .map((m) => mutation(m.callId, call(m.newCallId, `r:${m.tag}`)));

  it("matches MemorySession's result on random histories and mutations (repeated callIds, changed callIds, corrupt rows)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(storedItem, { freq: 6, nil: undefined }), { maxLength: 12 }),
        fc.array(mutationArb, { maxLength: 8 }),
        async (slots, mutations) => {
          // `undefined` slots are rows no key opens (stored as ''): the SDK never sees them, and they stay as they are.
          const rows: StoredRow[] = slots.map((item, i) => ({
            id: 10 * (i + 1),
            message_data: item === undefined ? '' : JSON.stringify(item),
          }));
          const planned = planHistoryMutations({ mutations }, DEFAULT_ITEM_LIMITS);
          const ours = applyRewrite(rows, planned);
          expect(ours.filter((t) => t === '').length).toBe(slots.filter((s) => s === undefined).length);
          const expected = await sdkAnswer(
            slots.filter((s) => s !== undefined),
            mutations,
          );
          expect(ours.filter((t) => t !== '').map((t) => JSON.parse(t))).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('two mutations of one callId: the later replacement wins at the first row, as in MemorySession', async () => {
    const items = [call('a', '1'), { role: 'user', content: 'hi' }, call('a', '2'), call('b', '3')];
    const mutations = [mutation('a', call('a', 'first')), mutation('a', call('a', 'second'))];
    const rows = items.map((item, i) => ({ id: i + 1, message_data: JSON.stringify(item) }));
    const ours = applyRewrite(rows, planHistoryMutations({ mutations }, DEFAULT_ITEM_LIMITS)).map((t) => JSON.parse(t));
    expect(ours).toEqual(await sdkAnswer(items, mutations));
    expect(ours).toEqual([call('a', 'second'), { role: 'user', content: 'hi' }, call('b', '3')]);
  });

  it('nothing matching: undefined (no write)', () => {
    const rows = [{ id: 1, message_data: JSON.stringify(call('a', '1')) }];
    expect(
      rewriteForMutations(
        rows,
        planHistoryMutations({ mutations: [mutation('z', call('z', 'x'))] }, DEFAULT_ITEM_LIMITS),
      ),
    ).toBeUndefined();
  });

  it('10,000 mutations over 5,000 rows: correct, reading each row and each mutation a bounded number of times (not rows x mutations)', async () => {
    const rowCount = 5_000;
    const items = Array.from({ length: rowCount }, (_, i) =>
      i % 5 === 0 ? { role: 'user', content: `m${i}` } : call(`c${i % 1_500}`, `${i}`),
    );
    const mutations = Array.from({ length: 10_000 }, (_, i) =>
      mutation(`c${(i * 7) % 2_000}`, call(`c${(i * 11) % 2_000}`, `r${i}`)),
    );
    const planned = planHistoryMutations({ mutations }, DEFAULT_ITEM_LIMITS);
    // Count reads through accessors: the old rewrite read mutation.callId once per row per mutation (50,000,000 reads).
    let rowReads = 0;
    let mutationReads = 0;
    const rows = items.map((item, i) => {
      const data = JSON.stringify(item);
      return Object.defineProperties({ id: i + 1 } as StoredRow, {
        message_data: { get: () => (rowReads++, data), enumerable: true },
      });
    });
    const counted = planned.map((m) =>
      Object.defineProperties({} as PlannedMutation, {
        callId: { get: () => (mutationReads++, m.callId), enumerable: true },
        replacement: { get: () => (mutationReads++, m.replacement), enumerable: true },
      }),
    );
    const ours = applyRewrite(rows, counted).map((t) => JSON.parse(t));
    expect(rowReads).toBeLessThanOrEqual(4 * rowCount);
    expect(mutationReads).toBeLessThanOrEqual(4 * 2 * mutations.length);
    expect(ours).toEqual(await sdkAnswer(items, mutations));
  });
});

describe('applyHistoryMutations: the number of mutations is capped (limits.maxItemsPerCall)', () => {
  const limits: ItemLimits = { ...DEFAULT_ITEM_LIMITS, maxItemsPerCall: 3 };
  const some = (n: number) => Array.from({ length: n }, (_, i) => mutation(`c${i}`, call(`c${i}`, 'x')));

  it('accepts up to the cap', () => {
    expect(planHistoryMutations({ mutations: some(3) }, limits)).toHaveLength(3);
  });

  it('refuses one more with InvalidHistoryMutationError naming the limit', () => {
    expect(() => planHistoryMutations({ mutations: some(4) }, limits)).toThrow(InvalidHistoryMutationError);
    expect(() => planHistoryMutations({ mutations: some(4) }, limits)).toThrow(
      /4 mutations.*at most 3.*limits\.maxItemsPerCall/,
    );
  });

  it('refuses an oversized list without reading its elements (200,000, default cap)', () => {
    let reads = 0;
    const mutations = some(200_000);
    // A getter on the last element: reading it (as a snapshot would) counts; refusing by the length alone does not.
    Object.defineProperty(mutations[199_999], 'callId', { get: () => (reads++, 'c'), enumerable: true });
    expect(() => planHistoryMutations({ mutations }, DEFAULT_ITEM_LIMITS)).toThrow(/200000 mutations.*at most 10000/);
    expect(reads).toBe(0);
  });

  it('refuses replacements larger than limits.maxBatchBytes in all', () => {
    const big = { ...DEFAULT_ITEM_LIMITS, maxBatchBytes: 1_000 };
    const mutations = Array.from({ length: 5 }, (_, i) => mutation(`c${i}`, call(`c${i}`, 'x'.repeat(300))));
    expect(() => planHistoryMutations({ mutations }, big)).toThrow(InvalidHistoryMutationError);
    expect(() => planHistoryMutations({ mutations }, big)).toThrow(/limits\.maxBatchBytes/);
    expect(planHistoryMutations({ mutations: mutations.slice(0, 2) }, big)).toHaveLength(2);
  });
});
