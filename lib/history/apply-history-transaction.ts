import { HistoryOperationConflictError, HistorySuffixMismatchError } from '../exceptions';
import type { SessionItem } from '../interfaces';
import type { SessionMemoryContext } from '../session-memory.context';
import type { StoredRow } from '../storage/session-store';
import { parseJsonObject } from '../validation';
import { guardConversation } from '../storage/conversation-limiter';
import { planHistoryTransaction } from './history-transaction';

/** What an applied or replayed history transaction did to the stored rows. @internal */
export type HistoryTransactionOutcome =
  { status: 'applied'; removed: StoredRow[]; appended: string[] } | { status: 'replayed' };

/**
 * Validates a history transaction (before any I/O), applies it in one database transaction and
 * reports what it removed and added to the change stream.
 * @throws InvalidHistoryTransactionError, HistoryOperationConflictError, HistorySuffixMismatchError
 * @internal
 */
export async function applyHistoryTransaction(
  context: SessionMemoryContext,
  conversationId: string,
  args: unknown,
  authorize?: () => Promise<void> | undefined,
): Promise<HistoryTransactionOutcome> {
  const plan = planHistoryTransaction(args, context.limits);
  await context.optionalTables.require('operations');
  await authorize?.();
  const outcome = await guardConversation(context, 'applyHistoryTransaction', conversationId, () =>
    context.store.applyHistory(conversationId, plan),
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
    for (const row of outcome.removed)
      await changes.itemPopped(conversationId, parseJsonObject(row.message_data) as SessionItem | undefined);
    await changes.itemsAdded(
      conversationId,
      plan.append.map((json) => JSON.parse(json) as SessionItem),
    );
  }
  return { status: 'applied', removed: outcome.removed, appended: plan.append };
}
