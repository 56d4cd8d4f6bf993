import { SessionMemoryError } from './session-memory.error';

/**
 * Bad input from the caller: nothing was read or written. The message names the value and what to fix.
 * Subclasses tell which argument was refused.
 */
export class InvalidSessionInputError extends SessionMemoryError {
  constructor(message: string, code = 'SESSION_MEMORY_INVALID_INPUT') {
    super(message, code);
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
