import type { PlainRow } from '../encryption/sealing-store';
import type { ConversationChange } from './conversation-change';

/**
 * A remote change as a notification hints at it: no items, only how many (already checked: a
 * valid conversation id, a whole count within the module's `maxItemsPerCall`). @internal
 */
export interface RemoteChange {
  conversationId: string;
  type: ConversationChange['type'];
  count: number;
}

/** Carries changes between instances (PostgreSQL LISTEN/NOTIFY). @internal */
export interface ChangeRelay {
  /** Sends a change to the other instances. */
  publish(change: RemoteChange): Promise<void>;
  /** A subscriber needs the listening connection: opens it unless it is open (idempotent); remote changes go to `onRemote`. */
  start(onRemote: (change: RemoteChange) => void): void;
  /** No subscriber is left: the connection may be closed (after a short delay, unless `start` comes first). */
  release(): void;
  /** Shutdown: closes the connection; resolves when it is closed. */
  stop(): Promise<void>;
}

/**
 * Reads the newest `limit` rows of a conversation (those with an id below `beforeId` when given),
 * newest first, with their ids: how the hub checks what a remote notification claims. @internal
 */
export type NewestRowsReader = (conversationId: string, limit: number, beforeId?: string) => Promise<PlainRow[]>;
