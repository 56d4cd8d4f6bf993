import { HistoryOperationConflictError, HistorySuffixMismatchError } from '../exceptions';
import type { SessionItem } from '../interfaces';
import type { SessionMemoryContext } from '../session-memory.context';
import type { StoredRow } from '../storage/session-store';
import { parseJsonObject } from '../validation';
import { guardConversation } from '../storage/conversation-limiter';
import { planHistoryTransaction } from './history-transaction';

/** What an applied or replayed history transaction did: the stored rows it removed, the items it appended (plaintext JSON). @internal */
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
  // Under encryption the operation log records a keyed digest: nothing derived from plaintext without a key.
  const planned = planHistoryTransaction(args, context.limits, (canonical) =>
    context.operationDigest.of(conversationId, canonical),
  );
  const { codec } = context;
  // The store keeps sealed texts: append them sealed, and match the expected suffix on plaintext.
  const plan = codec.sealing
    ? {
        ...planned,
        append: codec.seal(conversationId, planned.append),
        replace: planned.replace && {
          count: planned.replace.count,
          matches: (rows: StoredRow[]) =>
            planned.replace!.matches(
              rows.map((r) => ({ id: r.id, message_data: codec.open(conversationId, r.message_data) ?? '' })),
            ),
        },
      }
    : planned;
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
    for (const row of outcome.removed) {
      const text = codec.open(conversationId, row.message_data);
      await changes.itemPopped(
        conversationId,
        text === undefined ? undefined : (parseJsonObject(text) as SessionItem | undefined),
      );
    }
    await changes.itemsAdded(
      conversationId,
      planned.append.map((json) => JSON.parse(json) as SessionItem),
    );
  }
  return { status: 'applied', removed: outcome.removed, appended: planned.append };
}
