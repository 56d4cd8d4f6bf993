/** Whose request an operation serves, for the owner-aware calls of `SessionMemoryService`. */
export interface SessionAccessOptions {
  /**
   * The caller's id. When given, a conversation another caller owns is refused with
   * `ConversationAccessDeniedError` (403), and a write records this caller as the owner of a
   * conversation that has none. Same rules as a conversation id (non-empty, at most 255 characters).
   */
  owner?: string;
}
