import type { SessionItem } from './session-item.interface';

/** Where a change was seen: made through this process, or reported by another instance (PostgreSQL NOTIFY). */
export type ConversationChangeOrigin = 'local' | 'remote';

/** Items were appended (by `addItems`, `setMetadata(..., items)` or an applied history transaction). */
export interface ConversationItemsAdded {
  type: 'added';
  conversationId: string;
  /**
   * The appended items. For a `remote` change they are read from the database when the notification
   * is checked: the rows newer than every row this instance had accounted for, at most as many as the
   * notification claims, oldest first (a notification is only a hint; see
   * docs/managing-conversations.md, "Across instances").
   */
  items: SessionItem[];
  /** How many items were appended (for a `remote` change: how many were confirmed, `items.length`). */
  count: number;
  origin: ConversationChangeOrigin;
}

/** An item was removed from the end (by `popItem`, or a history transaction replacing a suffix). */
export interface ConversationItemPopped {
  type: 'popped';
  conversationId: string;
  /**
   * The removed item; `undefined` for a `remote` change (the row is gone, NOTIFY does not carry it).
   * A `remote` pop is delivered only for a row this instance had read that a check found gone.
   */
  item: SessionItem | undefined;
  origin: ConversationChangeOrigin;
}

/**
 * The conversation was cleared or deleted (`clearSession`, `deleteSession`, `purgeExpired`, `ttl`). A
 * compaction or a history rewrite is reported as `cleared` followed by `added` with the new history.
 * A `remote` one is delivered only when a read finds none of the rows this instance knew of left.
 */
export interface ConversationCleared {
  type: 'cleared';
  conversationId: string;
  origin: ConversationChangeOrigin;
}

/** One change of a conversation, as emitted by `SessionMemoryService.changes$()`. */
export type ConversationChange = ConversationItemsAdded | ConversationItemPopped | ConversationCleared;

/** Options of the change stream (`SessionMemoryService.changes$()`). */
export interface SessionMemoryChangesOptions {
  /**
   * PostgreSQL only: also report changes made by other application instances, through LISTEN/NOTIFY.
   * Every write then sends one NOTIFY (one more round trip), and a dedicated connection LISTENs while
   * this process has subscribers. Default `false`: changes made through this process only.
   */
  notify?: boolean;
}
