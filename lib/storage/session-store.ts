import type { MainReads } from './line-reads';
import type { RowTable } from './reencryption.sql';
import type { SessionStoreDialect } from '../interfaces/session-memory-options.interface';
import type { BranchStore } from './branches/branch.store';
import type { UsageStore } from './usage/usage.store'; // ---- usage

/** Which SQL family a store speaks (declared with the public types). */
export type { SessionStoreDialect } from '../interfaces/session-memory-options.interface';

/** Names of the two Python-compatible tables (already validated as identifiers). @internal */
export interface ResolvedTables {
  sessions: string;
  messages: string;
  schema?: string;
}

/** A stored row of the messages table. `id` is a number or, for 64-bit ids, a decimal string. @internal */
export interface StoredRow {
  id: number | string;
  message_data: string;
}

/** A row of a re-encryption scan: a stored row and its conversation. @internal */
export interface ScannedRow extends StoredRow {
  session_id: string;
}

/**
 * The rows of a whole read as two columns, in the same order: `ids[i]` is the id of the row whose
 * `message_data` is `texts[i]` (a number or, for 64-bit ids, a decimal string, as the driver gives it).
 * Two arrays rather than a row object per row: the whole read is the hot path of every agent turn.
 * @internal
 */
export interface StoredColumns {
  ids: (number | string)[];
  texts: string[];
}

/** Which of the optional tables exist (made by `createTables`, or by the migration). @internal */
export interface OptionalTables {
  /** `<sessions>_metadata`: one JSON object per conversation. */
  metadata: boolean;
  /** `<messages>_operations`: applied history-transaction operation ids. */
  operations: boolean;
  /** `<sessions>_owners`: who owns each conversation. */
  owners: boolean;
  /** The three branch tables (`<sessions>_branches`, `<sessions>_segments`, `<messages>_branch_items`). */
  branches: boolean;
}

/** A `listSessions` query, validated. @internal */
export interface SessionListQuery {
  limit: number;
  order: 'asc' | 'desc';
  /** Keyset position: strictly after (in `order`) the row with this time key and id. */
  after?: { key: string; id: string };
  updatedBeforeMs?: number;
  updatedAfterMs?: number;
  includeItemCount: boolean;
  metadata: { key: string; json: string }[];
  /** Only conversations this owner owns. */
  owner?: string;
  /** Only this conversation (for `getSession`). */
  sessionId?: string;
  /** With `sessionId`: only if this caller may read it (see `OwnerFilter`). */
  visibleTo?: OwnerFilter;
}

/**
 * An owner-checked read: its statement returns rows only when `owner` owns the conversation (compared
 * byte for byte), or nobody does and `unowned` is `'readable'`. @internal
 */
export interface OwnerFilter {
  owner: string;
  unowned: 'readable' | 'hidden';
}

/** What `readOwnership` found: whether the conversation has a session row, and its recorded owner. @internal */
export interface Ownership {
  exists: boolean;
  owner?: string;
}

/** One row of a listing. Times are epoch milliseconds by the database clock. @internal */
export interface ListedSessionRow {
  session_id: string;
  created_ms: number | string;
  updated_ms: number | string;
  /** The full-precision `updated_at` as text: the keyset cursor position. */
  time_key: string;
  item_count?: number | string;
  metadata?: unknown;
}

/** What `applyHistory` runs: validated and encoded by `lib/history`. @internal */
export interface HistoryPlan {
  operationId: string;
  /** The transaction's digest to record (64 hex: SHA-256, or HMAC-SHA256 under encryption; lib/encryption/operation-digest.ts). */
  hash: string;
  /** Whether a `transaction_hash` already recorded for this operation id is this transaction's (a replay). */
  accepts(stored: string): boolean;
  /** Rows to delete from the end first: how many, and a check the stored newest rows (newest first) must pass. */
  replace?: { count: number; matches(newestFirst: StoredRow[]): boolean };
  /** JSON texts to append, in order. */
  append: string[];
}

/** Outcome of `applyHistory`. @internal */
export type HistoryOutcome =
  | { status: 'applied'; removed: StoredRow[] }
  | { status: 'replayed' }
  | { status: 'conflict' }
  | { status: 'mismatch' };

/**
 * How a pop treats one stored text: its value (the row is popped), `'skip'` (a corrupt row: removed
 * with the popped one) or `'keep'` (a row no configured key opens: never removed, the pop is refused).
 * @internal
 */
export type PopDecision<T> = { value: T } | 'skip' | 'keep';

/** How `append` may run. @internal */
export interface AppendOptions {
  /** Append only while main is the current branch (a write that follows the current branch). */
  ifMainIsCurrent?: boolean;
  /**
   * Told the ids of the rows appended, in the order of `data`, once they are committed, by a store that
   * learns them without another round trip (PostgreSQL); others never call it.
   */
  rowIds?: (ids: string[]) => void;
}

/** How `popNewest` may run. @internal */
export interface PopOptions {
  /** `decode` may keep rows (encryption): decide before deleting anything (no delete-first fast path). */
  mayKeep?: boolean;
  /** Pop only while main is the current branch (a pop that follows the current branch); else `notOnMain`. */
  ifMainIsCurrent?: boolean;
}

/**
 * What `popNewest` did: the popped row and its decoded value (none when no valid row was left), and the
 * corrupt rows it removed; or, with `unopenable`, nothing at all: that many rows to be kept stood
 * where the newest item should be. @internal
 */
export interface PopOutcome<T> {
  row?: StoredRow;
  value?: T;
  skipped: SkippedRows;
  /** Set when the pop was refused and rolled back: how many newest rows it may not remove. */
  unopenable?: number;
  /** With `ifMainIsCurrent`: nothing was popped, another branch is current. */
  notOnMain?: boolean;
}

/** Corrupt rows passed over by a read or a pop: how many, and the range of their ids. @internal */
export interface SkippedRows {
  count: number;
  newestId?: number | string;
  oldestId?: number | string;
}

/** What `replaceItems` did. @internal */
export interface ReplaceOutcome {
  /** The rows it deleted, oldest first. */
  removed: StoredRow[];
  /** The texts `keep` named, stored again after the replacement. */
  kept: string[];
}

/** What `rewriteItems` changes: new texts for some rows, and rows to delete. @internal */
export interface ItemRewrite {
  updates: { id: number | string; data: string }[];
  deletes: (number | string)[];
}

/** A database notification channel (PostgreSQL LISTEN/NOTIFY), for the change relay. @internal */
export interface NotificationChannel {
  /** Sends `payload` on `channel`. */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Listens on `channel` on a connection of its own. `onError` is called once if that connection
   * fails later; `close()` ends it.
   */
  listen(
    channel: string,
    onNotification: (payload: string) => void,
    onError: (err: Error) => void,
  ): Promise<{ close(): Promise<void> }>;
}

/**
 * The storage engine behind `ConversationSession` and `SessionMemoryService`: one class per SQL
 * dialect (`lib/storage/<dialect>/<dialect>-session.store.ts`) holding all of that dialect's SQL and
 * transactions. Inputs arrive validated and encoded; a store only moves JSON text in and out. Every
 * method is keyed by one conversation id except `listSessions` and `purgeIdle`.
 * @internal
 */
export interface SessionStore {
  readonly dialect: SessionStoreDialect;
  /** Present where the database can relay changes between instances (PostgreSQL). */
  readonly notifications?: NotificationChannel;

  /** The branches of conversations (docs/conversation-structure.md). */
  readonly branches: BranchStore;
  /** Tells the store whether the branch tables exist: then writers that change main rows keep branches true. */
  useBranches(inUse: boolean): void;

  // ---- schema
  /** Creates every table and index if missing, the optional ones too (idempotent, safe from several processes). */
  createTables(): Promise<void>;
  /** Throws `SessionMemoryConfigurationError` naming the fix when the two core tables are missing or unusable. */
  verifyTables(): Promise<void>;
  /** Finds out which optional tables exist. */
  probeOptionalTables(): Promise<OptionalTables>;

  // ---- items
  // The reads take an optional `OwnerFilter`: the same statement then returns no rows unless its
  // caller may read the conversation (the check and the read are one atomic step).
  /** All rows of a conversation, oldest first, as columns (one consistent read). */
  readAll(sessionId: string, filter?: OwnerFilter): Promise<StoredColumns>;
  /** The newest `limit` rows (older than `beforeId` when given), newest first. */
  readNewest(sessionId: string, limit: number, beforeId?: number | string, filter?: OwnerFilter): Promise<StoredRow[]>;
  /** `message_data` of all rows, oldest first: `readAll` without the ids, the cheap read when no row is corrupt. */
  readAllData(sessionId: string, filter?: OwnerFilter): Promise<string[]>;
  /** `message_data` of the newest `limit` rows, newest first: `readNewest` without the ids. */
  readNewestData(sessionId: string, limit: number, filter?: OwnerFilter): Promise<string[]>;
  /**
   * The same four reads, each returning nothing unless main is the conversation's current branch (no
   * other branch is marked current), checked in the read's own statement: the read of a session that
   * follows the current branch, in one statement while main is current. Only with the branch tables.
   */
  readsWhileMainIsCurrent(): MainReads;
  /**
   * Appends the JSON texts in order, creating the session row if needed; all or nothing. With
   * `ifMainIsCurrent` (and the branch tables in use), appends nothing and returns false when another
   * branch than main is the conversation's current one (checked in the same transaction).
   */
  append(sessionId: string, data: string[], options?: AppendOptions): Promise<boolean>;
  /**
   * Deletes the newest row that `decode` gives a value for and returns it with that value, deleting
   * the rows above it that `decode` skips (corrupt ones) in the same transaction, in batches. When a
   * row `decode` keeps comes first, deletes nothing and counts the newest rows kept (`unopenable`).
   * Waits for a newest row another transaction holds rather than skipping it; each row goes to one
   * caller only.
   */
  popNewest<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    options?: PopOptions,
  ): Promise<PopOutcome<T>>;
  /**
   * Deletes every item of the conversation and keeps the conversation: its session row (`created_at`;
   * `updated_at` is touched), metadata and operation log. A no-op for an unknown conversation.
   */
  clearItems(sessionId: string): Promise<void>;
  /**
   * Replaces every item with `data` in one transaction, creating the conversation if needed and
   * keeping its row, metadata and operation log. `keep`, given the locked rows (oldest first),
   * names texts to store again after `data` (rows the caller did not know of, rows no key opens).
   */
  replaceItems(sessionId: string, data: string[], keep: (rows: StoredRow[]) => string[]): Promise<ReplaceOutcome>;
  /**
   * Reads every row under the conversation's lock, lets `rewrite` decide which to change and delete,
   * and applies that in the same transaction. Returns whether anything changed.
   */
  rewriteItems(
    sessionId: string,
    rewrite: (rows: StoredRow[]) => ItemRewrite | undefined,
  ): Promise<ItemRewrite | undefined>;
  /** Deletes the conversation: its rows, its session row, its metadata and operations. Returns whether it existed. */
  deleteConversation(sessionId: string): Promise<boolean>;

  // ---- conversations
  /** One page of conversations (`limit` rows at most). */
  listSessions(query: SessionListQuery, tables: OptionalTables): Promise<ListedSessionRow[]>;
  /**
   * Deletes up to `batchSize` conversations idle for more than `idleForMs` by the database clock, with
   * their items, metadata and operations, in one transaction. Returns the deleted ids.
   */
  purgeIdle(idleForMs: number, batchSize: number, tables: OptionalTables): Promise<string[]>;
  /** The stored metadata (JSON text, or an object where the driver parses it), or undefined. */
  readMetadata(sessionId: string, filter?: OwnerFilter): Promise<unknown>;
  /**
   * Replaces the metadata (creating the conversation row if needed) or removes it (`json` null), and
   * appends `items` in the same transaction.
   */
  writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void>;
  /**
   * Up to `limit` rows of every conversation with ids above `afterId`, in id order (re-encryption), of
   * main's rows or (`'branchItems'`, only with the branch tables) of the other branch lines'.
   */
  scanRows(afterId: number | string, limit: number, table?: RowTable): Promise<ScannedRow[]>;
  /** Replaces one row's text if it still is `expected` (compare-and-set, one statement); returns whether it did. */
  swapRowText(id: number | string, expected: string, next: string, table?: RowTable): Promise<boolean>;
  /** Whether the conversation exists (has a session row) and its recorded owner, in one statement. */
  readOwnership(sessionId: string): Promise<Ownership>;
  /**
   * Records `owner` as the conversation's owner unless one is recorded, under the conversation's
   * lock; returns the owner recorded now. With `create`, a missing conversation is created (an empty
   * session row) and claimed; without, a missing conversation is left alone and `undefined` returned.
   */
  claimOwner(sessionId: string, owner: string, create: boolean): Promise<string | undefined>;
  /**
   * Sets or replaces the owner of an existing conversation (nothing else is written, `updated_at`
   * included), under its lock. Returns false, writing nothing, when the conversation does not exist.
   */
  assignOwner(sessionId: string, owner: string): Promise<boolean>;
  /** Applies a history transaction atomically, recording its operation id in the same transaction. */
  applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome>;

  /**
   * A trivial round trip, for health checks. Once `signal` aborts (the caller gave up), the ping must
   * not hold a connection any longer (PostgreSQL: its connection is destroyed).
   */
  ping(signal?: AbortSignal): Promise<void>;

  // ---- usage
  /** The usage table's operations (lib/storage/usage/usage.store.ts). */
  readonly usage: UsageStore;
}
