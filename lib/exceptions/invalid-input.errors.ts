import { SessionMemoryError } from './session-memory.error';

/**
 * Bad input from the caller: nothing was read or written. The message names the value and what to fix.
 * Subclasses tell which argument was refused. HTTP status 400.
 */
export class InvalidSessionInputError extends SessionMemoryError {
  constructor(message: string, code = 'SESSION_MEMORY_INVALID_INPUT') {
    super(message, code);
  }

  /** 400 Bad Request. */
  override getStatus(): number {
    return 400;
  }
}

/** The conversation id is not a usable key (empty, too long, contains NUL or a lone surrogate, not a string). */
export class InvalidConversationIdError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_CONVERSATION_ID');
  }
}

/** The caller id given as a conversation's owner is not a usable key (empty, over 255 characters, NUL, lone surrogate, not a string). */
export class InvalidOwnerError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_OWNER');
  }
}

/** The items passed to `addItems` are not an array of JSON-serialisable plain objects within the size limits. */
export class InvalidSessionItemsError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_ITEMS');
  }
}

/** The `limit` passed to `getItems` is negative, fractional or not a number. */
export class InvalidLimitError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_LIMIT');
  }
}

/** Conversation metadata is not a plain JSON object within the size limit, or a metadata filter is malformed. */
export class InvalidSessionMetadataError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_METADATA');
  }
}

/** Options of `listSessions` / `purgeExpired` / `ttl` / `reencrypt` are malformed (bad limit, cursor, date or duration). */
export class InvalidManagementOptionsError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_OPTIONS');
  }
}

/**
 * The arguments of `applyHistoryTransaction` are malformed (empty or over-long operation id, unknown
 * transaction type, items that are not storable). Nothing was read or written.
 */
export class InvalidHistoryTransactionError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_HISTORY_TRANSACTION');
  }
}

/**
 * The arguments of `applyHistoryMutations` are malformed (not `{ mutations: [...] }`, an unknown
 * mutation type, a replacement that is not a `function_call` item). Nothing was read or written.
 */
export class InvalidHistoryMutationError extends InvalidSessionInputError {
  constructor(message: string) {
    super(message, 'SESSION_MEMORY_INVALID_HISTORY_MUTATION');
  }
}
