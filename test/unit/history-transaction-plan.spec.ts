import { InvalidHistoryTransactionError } from '../../lib';
import { planHistoryTransaction } from '../../lib/history/history-transaction';
import { DEFAULT_ITEM_LIMITS } from '../../lib/validation';

/** A message item with an own `__proto__` key (as JSON.parse makes it) holding `value`. */
const withProto = (content: string, value: unknown) =>
  JSON.parse(`{"role":"user","content":${JSON.stringify(content)},"__proto__":${JSON.stringify(value)}}`);

describe('history transactions: own __proto__ keys and operation ids (pure)', () => {
  it('two transactions that differ only under __proto__ hash differently', () => {
    const plan = (v: unknown) =>
      planHistoryTransaction(
        { operationId: 'op', transaction: { type: 'append_items', items: [withProto('x', v)] } },
        DEFAULT_ITEM_LIMITS,
      );
    expect(plan({ v: 1 }).hash).not.toBe(plan({ v: 2 }).hash);
  });

  it.each([
    ['a lone high surrogate', 'op-\ud800'],
    ['a lone low surrogate', '\udfff'],
    ['a NUL', 'op\u0000'],
    ['256 characters', 'o'.repeat(256)],
    ['only spaces', '   '],
  ])('refuses an operation id with %s with InvalidHistoryTransactionError', (_what, operationId) => {
    expect(() =>
      planHistoryTransaction(
        { operationId, transaction: { type: 'append_items', items: [{ role: 'user', content: 'x' }] } },
        DEFAULT_ITEM_LIMITS,
      ),
    ).toThrow(InvalidHistoryTransactionError);
  });
});
