import { SessionMemoryError } from './session-memory.error';

/**
 * A history transaction was refused by the stored state; history and the operation log are unchanged.
 * The subclasses tell why. HTTP status 409.
 */
export class HistoryTransactionRejectedError extends SessionMemoryError {
  /** The conversation the transaction was applied to. */
  readonly conversationId: string;
  /** The operation id of the refused transaction. */
  readonly operationId: string;

  constructor(message: string, code: string, conversationId: string, operationId: string) {
    super(message, code);
    this.conversationId = conversationId;
    this.operationId = operationId;
  }

  /** 409 Conflict: the stored history does not allow the transaction; re-read it. */
  override getStatus(): number {
    return 409;
  }
}

/**
 * The operation id was already applied to this conversation with a different transaction. Operation
 * ids must identify one change: generate a new id for a new change.
 */
export class HistoryOperationConflictError extends HistoryTransactionRejectedError {
  constructor(conversationId: string, operationId: string) {
    super(
      `Operation ${JSON.stringify(operationId)} was already applied to conversation ${JSON.stringify(conversationId)} ` +
        'with a different transaction; nothing was changed. Use a new operation id for a different change.',
      'SESSION_MEMORY_HISTORY_OPERATION_CONFLICT',
      conversationId,
      operationId,
    );
  }
}

/**
 * A `replace_suffix` transaction expected newest items that are not the stored newest items (history
 * changed since they were read). Nothing was changed: re-read the history and build a new transaction.
 */
export class HistorySuffixMismatchError extends HistoryTransactionRejectedError {
  constructor(conversationId: string, operationId: string, expected: number) {
    super(
      `Operation ${JSON.stringify(operationId)}: the newest ${expected} stored item(s) of conversation ${JSON.stringify(conversationId)} ` +
        'do not match the expected suffix (history changed since it was read); nothing was changed. Re-read the history and retry with a new transaction.',
      'SESSION_MEMORY_HISTORY_SUFFIX_MISMATCH',
      conversationId,
      operationId,
    );
  }
}
