import { InvalidConversationIdError, InvalidOwnerError } from '../exceptions';

/**
 * Longest conversation id accepted, in UTF-16 code units (so also at most this many characters).
 * 255 is what a MySQL/MariaDB `VARCHAR(255)` key holds; the same bound is enforced on every dialect
 * so that a conversation can move between databases.
 */
export const MAX_CONVERSATION_ID_LENGTH = 255;

/** Throws `InvalidConversationIdError` unless `id` can be stored exactly as given on every dialect. */
export function assertConversationId(id: unknown): asserts id is string {
  if (typeof id !== 'string') {
    throw new InvalidConversationIdError(
      `The conversation id must be a string, got ${id === null ? 'null' : typeof id}. Pass the id as a string.`,
    );
  }
  if (id.length === 0) {
    throw new InvalidConversationIdError('The conversation id is empty. Pass a non-empty string.');
  }
  if (id.length > MAX_CONVERSATION_ID_LENGTH) {
    throw new InvalidConversationIdError(
      `The conversation id is ${id.length} characters long; at most ${MAX_CONVERSATION_ID_LENGTH} are allowed. Use a shorter id (a UUID or a hash).`,
    );
  }
  if (id.includes('\u0000')) {
    throw new InvalidConversationIdError(
      'The conversation id contains a NUL character (U+0000), which databases cannot store. Remove it.',
    );
  }
  if (!id.isWellFormed()) {
    throw new InvalidConversationIdError(
      'The conversation id contains a lone UTF-16 surrogate, which cannot be stored as UTF-8. Pass a well-formed string.',
    );
  }
}

/** Throws `InvalidOwnerError` unless `owner` (a caller id) can be stored exactly, by the rules of conversation ids. */
export function assertOwnerId(owner: unknown): asserts owner is string {
  try {
    assertConversationId(owner);
  } catch (err) {
    if (err instanceof InvalidConversationIdError) {
      throw new InvalidOwnerError(err.message.replace('The conversation id', 'The owner (caller id)'));
    }
    throw err;
  }
}
