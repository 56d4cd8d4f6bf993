/**
 * Per-conversation metadata: a JSON object (who owns the conversation, a title, tags...), at most
 * `MAX_METADATA_BYTES` of JSON.
 */
export type SessionMetadata = Record<string, unknown>;

/**
 * Second, optional argument of `ConversationSession.addItems()`. The Agents SDK runner never passes
 * it, so `addItems` stays assignable to the SDK's `Session.addItems(items)`.
 */
export interface AddItemsOptions {
  /** Replace the conversation's metadata in the same transaction as the append. */
  metadata?: SessionMetadata;
}

/** Whose request an operation serves, for the owner-aware calls of `SessionMemoryService`. */
export interface SessionAccessOptions {
  /**
   * The caller's id. When given, a conversation another caller owns is refused with
   * `ConversationAccessDeniedError` (403), and a write records this caller as the owner of a
   * conversation that has none. Same rules as a conversation id (non-empty, at most 255 characters).
   */
  owner?: string;
}

/** Options of `SessionMemoryService.listSessions()`. */
export interface ListSessionsOptions {
  /** Most conversations in one page, 1 to 1000. Default 50. */
  limit?: number;
  /** The `nextCursor` of the previous page; leave out for the first page. */
  cursor?: string;
  /** Order by last update: `'desc'` (most recently updated first, the default) or `'asc'`. */
  order?: 'desc' | 'asc';
  /** Only conversations last updated strictly before this instant. */
  updatedBefore?: Date;
  /** Only conversations last updated strictly after this instant. */
  updatedAfter?: Date;
  /** Also count each conversation's items (one indexed count per listed conversation). Default `false`. */
  includeItemCount?: boolean;
  /**
   * Only conversations whose metadata has these top-level keys with these values (JSON equality of each
   * value; keys of 1-64 letters, digits, `_` or `-`). Conversations without metadata never match.
   */
  metadata?: SessionMetadata;
  /**
   * Only conversations this caller owns (recorded by the `owner` option or `session(id, { owner })`
   * on their first write). Conversations without an owner never match.
   */
  owner?: string;
}

/** One conversation of a `listSessions()` page. */
export interface SessionSummary {
  /** The conversation id. */
  conversationId: string;
  /** When the conversation was first written (the database clock). */
  createdAt: Date;
  /** When the conversation was last written (the database clock). */
  updatedAt: Date;
  /** Number of stored items, when `includeItemCount` was set. */
  itemCount?: number;
  /** The conversation's metadata, when it has some. */
  metadata?: SessionMetadata;
}

/** A page of `listSessions()`. */
export interface SessionPage {
  /** The conversations of this page, in the requested order. */
  sessions: SessionSummary[];
  /** Pass as `cursor` to get the next page; `undefined` on the last page. */
  nextCursor?: string;
}
