import type { StoredRow } from './session-store';

/** Which of the optional tables exist (they are created by `createTables`, or by the migration). @internal */
export interface ExtensionTables {
  /** `<sessions>_metadata`: one JSON object per conversation. */
  metadata: boolean;
  /** `<messages>_operations`: applied history-transaction operation ids. */
  operations: boolean;
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
  /** Only this conversation (for `getSession`). */
  sessionId?: string;
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
  /** SHA-256 (hex) of the canonical transaction. */
  hash: string;
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
 * The management features of one dialect (listing, retention, metadata, history transactions,
 * change notifications). Kept beside `SessionStore` so that the hot paths stay as they are.
 * Every method is keyed by conversation except `list` and `purgeBatch`.
 * @internal
 */
export interface SessionStoreExtensions {
  /** The DDL of the optional tables and the listing index (idempotent). */
  readonly ddl: string[];
  /** Creates the optional tables and index if missing. */
  createTables(): Promise<void>;
  /** Finds out which optional tables exist. */
  probe(): Promise<ExtensionTables>;
  /** One page of conversations (`limit` rows at most). */
  list(query: SessionListQuery, tables: ExtensionTables): Promise<ListedSessionRow[]>;
  /**
   * Deletes up to `batchSize` conversations idle for more than `idleForMs` by the database clock, with
   * their items, metadata and operations, in one transaction. Returns the deleted ids.
   */
  purgeBatch(idleForMs: number, batchSize: number, tables: ExtensionTables): Promise<string[]>;
  /** The stored metadata (JSON text or parsed object), or undefined. */
  readMetadata(sessionId: string): Promise<unknown>;
  /**
   * Replaces the metadata (creating the conversation row if needed) or removes it (`json` null), and
   * appends `items` in the same transaction.
   */
  writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void>;
  /** Applies a history transaction atomically, recording its operation id in the same transaction. */
  applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome>;
}
