import { SessionMemoryError } from './session-memory.error';

/**
 * `popItem` met stored rows that no configured encryption key opens (a key left out of
 * `encryption.keys`, a mistyped key, or rows altered in the database) where the newest item should
 * be. Nothing was deleted: such rows are kept as evidence and for the right key, never removed by a
 * pop, a compaction, a history mutation or a history transaction. Reads skip them with a warning.
 * HTTP status 500 (a server-side key configuration problem).
 */
export class UnreadableItemsError extends SessionMemoryError {
  constructor(
    /** The conversation. */
    readonly conversationId: string,
    /** How many of its newest rows no configured key opens. */
    readonly count: number,
  ) {
    super(
      `popItem refused: the newest ${count === 1 ? 'row' : `${count} rows`} of conversation ` +
        `${JSON.stringify(conversationId)} cannot be opened by any configured encryption key (a key missing from ` +
        'encryption.keys, a mistyped key, altered rows, or, with encryption.strict, a plaintext row). Nothing was ' +
        'deleted. Add the key that sealed them to encryption.keys (rotation: new key first, old ones after), or ' +
        'remove the conversation deliberately with clearSession() / deleteSession().',
      'SESSION_MEMORY_UNREADABLE_ITEMS',
    );
  }
}
