import type { PlainHistoryPlan, PlainRow } from '../encryption/sealing-store';
import { HistoryOperationConflictError, HistorySuffixMismatchError } from '../exceptions';
import type { SessionItem } from '../interfaces';
import type { SessionMemoryContext } from '../session-memory.context';
import { guardConversation } from '../storage/conversation-limiter';
import { itemOf } from './history-reader';
import { planHistoryTransaction } from './history-transaction';

/** What an applied or replayed history transaction did: the rows it removed and the items it appended (plaintext JSON). @internal */
export type HistoryTransactionOutcome =
  { status: 'applied'; removed: PlainRow[]; appended: string[] } | { status: 'replayed' };

/**
 * The first step of a history transaction: validates it (before any I/O) and checks that the
 * operation log exists. The caller then checks the owner, and runs it with `runHistoryTransaction`.
 * @throws InvalidHistoryTransactionError for malformed arguments.
 * @internal
 */
export async function planHistory(
  context: SessionMemoryContext,
  conversationId: string,
  args: unknown,
): Promise<PlainHistoryPlan> {
  // Under encryption the operation log records a keyed digest: nothing derived from plaintext without a key.
  const plan = planHistoryTransaction(args, context.limits, (canonical) =>
    context.operationDigest.of(conversationId, canonical),
  );
  await context.optionalTables.require('operations');
  return plan;
}

/**
 * Applies a planned history transaction in one database transaction (through the sealing layer: the
 * suffix check sees plaintext) and reports what it removed and added to the change stream.
 * @throws HistoryOperationConflictError, HistorySuffixMismatchError
 * @internal
 */
export async function runHistoryTransaction(
  context: SessionMemoryContext,
  conversationId: string,
  plan: PlainHistoryPlan,
): Promise<HistoryTransactionOutcome> {
  const outcome = await guardConversation(context, 'applyHistoryTransaction', conversationId, () =>
    context.items.applyHistory(conversationId, plan),
  );
  switch (outcome.status) {
    case 'replayed':
      return { status: 'replayed' };
    case 'conflict':
      throw new HistoryOperationConflictError(conversationId, plan.operationId);
    case 'mismatch':
      throw new HistorySuffixMismatchError(conversationId, plan.operationId, plan.replace?.count ?? 0);
  }
  const { changes } = context;
  if (changes.wants(conversationId)) {
    for (const row of outcome.removed) await changes.itemPopped(conversationId, itemOf(row.message_data));
    await changes.itemsAdded(
      conversationId,
      plan.append.map((json) => JSON.parse(json) as SessionItem),
    );
  }
  return { status: 'applied', removed: outcome.removed, appended: plan.append };
}
