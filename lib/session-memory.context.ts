import type { Logger } from '@nestjs/common';
import type { ChangeHub } from './changes/change-hub';
import type { ItemCodec } from './encryption/item-codec';
import type { SealingStore } from './encryption/sealing-store';
import type { OperationDigest } from './encryption/operation-digest';
import type { ConversationLimiter } from './storage/conversation-limiter';
import type { OperationGate } from './storage/operation-gate';
import type { OptionalTablesProbe } from './storage/optional-tables';
import type { SessionStore } from './storage/session-store';
import type { ItemLimits } from './validation';
import type { UnownedConversations } from './ownership/unowned-conversations';
import type { SearchIndex } from './search/search-index';
import type { HistoryCache } from './history/history-cache'; // ---- history cache

/**
 * What every `ConversationSession` and the `SessionMemoryService` of one module instance share: the
 * store, the operation gate, the change hub and the resolved options. Built once at startup
 * (`session-memory.factory.ts`), so creating a session costs one small object.
 * @internal
 */
export interface SessionMemoryContext {
  /** The store: stored texts. Item reads and writes go through `items`; the rest (listing, owners, purge) here. */
  readonly store: SessionStore;
  /** The sealing layer around `store`: every item read and write, in plaintext (lib/encryption/sealing-store.ts). */
  readonly items: SealingStore;
  readonly gate: OperationGate;
  /** Per-conversation bound on running and waiting operations. */
  readonly limiter: ConversationLimiter;
  readonly limits: ItemLimits;
  /** How items are stored: plain JSON, or sealed (the `encryption` option); `items` uses it, and so does re-encryption. */
  readonly codec: ItemCodec;
  /** How the operation log identifies a history transaction: plain SHA-256, or keyed under `encryption`. */
  readonly operationDigest: OperationDigest;
  readonly logger: Logger;
  /** Which optional tables (metadata, operations) exist. */
  readonly optionalTables: OptionalTablesProbe;
  /** The change stream: `changes$()` subscribers here, and other instances through the relay. */
  readonly changes: ChangeHub;
  /** The key that signs and verifies `listSessions` cursors (see the `cursorSecret` option). */
  readonly cursorKey: Buffer;
  /** What owner-scoped callers may do with a conversation nobody owns (the `unownedConversations` option). */
  readonly unownedConversations: UnownedConversations;
  /** The full-text search index, when the `search` option is on (lib/search). */
  readonly search?: SearchIndex;
  /** The whole-history cache of the main line, when the `historyCache` option is on (lib/history/history-cache.ts). */
  readonly historyCache?: HistoryCache;
}
