import type { SessionHistoryTransactionArgs } from '@openai/agents-core';
import {
  ConversationSession,
  HistoryOperationConflictError,
  HistorySuffixMismatchError,
  InvalidHistoryTransactionError,
} from '../../lib';
import { describeEachDialect } from '../support/databases';
import { useMemory } from '../support/memory';
import { texts } from '../support/items';

/** A message item with an own `__proto__` key (as JSON.parse makes it) holding `value`. */
const withProto = (content: string, value: unknown) =>
  JSON.parse(`{"role":"user","content":${JSON.stringify(content)},"__proto__":${JSON.stringify(value)}}`);

describeEachDialect('history transactions: own __proto__ keys and operation ids', (dialect, baseUrl) => {
  let n = 0;
  const fresh = (): ConversationSession => m.memory.session(`hist-hard-${++n}-${Date.now()}`);
  const operations = async (sessionId: string) =>
    Number(
      (await m.sql(`SELECT COUNT(*) AS n FROM ${m.tables.messages}_operations WHERE session_id = ?`, [sessionId]))[0].n,
    );

  const m = useMemory(dialect, baseUrl);

  it('a different transaction (differing only under __proto__) under a used operation id is a conflict, not a replay', async () => {
    const s = fresh();
    const args = (v: unknown) =>
      ({
        operationId: 'proto-op',
        transaction: { type: 'append_items', items: [withProto('x', v)] },
      }) as SessionHistoryTransactionArgs;
    await s.applyHistoryTransaction(args({ v: 1 }));
    await expect(s.applyHistoryTransaction(args({ v: 2 }))).rejects.toBeInstanceOf(HistoryOperationConflictError);
    const items = await s.getItems();
    expect(items).toHaveLength(1);
    expect(Object.getOwnPropertyDescriptor(items[0], '__proto__')?.value).toEqual({ v: 1 });
  });

  it('replace_suffix does not replace an item that differs from expectedSuffix under __proto__', async () => {
    const s = fresh();
    await s.addItems([withProto('stored', { v: 1 })]);
    await expect(
      s.applyHistoryTransaction({
        operationId: 'proto-suffix',
        transaction: {
          type: 'replace_suffix',
          expectedSuffix: [withProto('stored', { v: 2 })],
          replacement: [{ role: 'user', content: 'replaced' }],
        },
      } as SessionHistoryTransactionArgs),
    ).rejects.toBeInstanceOf(HistorySuffixMismatchError);
    expect(texts(await s.getItems())).toEqual(['stored']);
    // The exact suffix still matches.
    await s.applyHistoryTransaction({
      operationId: 'proto-suffix-exact',
      transaction: {
        type: 'replace_suffix',
        expectedSuffix: [withProto('stored', { v: 1 })],
        replacement: [{ role: 'user', content: 'replaced' }],
      },
    } as SessionHistoryTransactionArgs);
    expect(texts(await s.getItems())).toEqual(['replaced']);
  });

  it('operation ids that differ only in a lone surrogate are refused, not collapsed into one key', async () => {
    const s = fresh();
    const append = (operationId: string, content: string) =>
      s.applyHistoryTransaction({
        operationId,
        transaction: { type: 'append_items', items: [{ role: 'user', content }] },
      } as SessionHistoryTransactionArgs);
    await expect(append('op-\ud800', 'a')).rejects.toBeInstanceOf(InvalidHistoryTransactionError);
    await expect(append('op-\udbff', 'b')).rejects.toBeInstanceOf(InvalidHistoryTransactionError);
    expect(await s.getItems()).toEqual([]);
    expect(await operations(s.conversationId)).toBe(0);
  });
});
