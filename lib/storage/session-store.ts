/** Names of the two tables (already validated as identifiers). */
export interface ResolvedTables {
  sessions: string;
  messages: string;
  schema?: string;
}

/** A stored row of the messages table. `id` is a number or, for 64-bit ids, a decimal string. */
export interface StoredRow {
  id: number | string;
  message_data: string;
}

/** One row of a session listing. */
export interface StoredSessionRow {
  session_id: string;
  created_at: Date;
  updated_at: Date;
  item_count?: number;
}

/** Which SQL family a store speaks. */
export type SessionStoreDialect = 'postgres' | 'mysql' | 'sqlite';

/**
 * The storage engine behind `ConversationSession`: one implementation per SQL dialect, each holding
 * all of that dialect's SQL. Every method is keyed by one conversation id; none spans conversations.
 * Inputs arrive validated and encoded; implementations only move JSON text in and out.
 * @internal
 */
export interface SessionStore {
  readonly dialect: SessionStoreDialect;
  /** Creates the tables and indexes if missing (idempotent, safe to run from several processes). */
  createTables(): Promise<void>;
  /** Throws `SessionMemoryConfigurationError` naming the fix when the tables are missing or unusable. */
  verifyTables(): Promise<void>;
  /** All rows of a conversation, oldest first. */
  readAll(sessionId: string): Promise<StoredRow[]>;
  /** The newest `limit` rows (older than `beforeId` when given), newest first. */
  readNewest(sessionId: string, limit: number, beforeId?: number | string): Promise<StoredRow[]>;
  /** `message_data` of all rows, oldest first: `readAll` without the ids, the cheap read when no row is corrupt. */
  readAllData(sessionId: string): Promise<string[]>;
  /** `message_data` of the newest `limit` rows, newest first: `readNewest` without the ids. */
  readNewestData(sessionId: string, limit: number): Promise<string[]>;
  /** Appends the JSON texts in order, creating the session row if needed; all or nothing. */
  append(sessionId: string, data: string[]): Promise<void>;
  /** Deletes and returns the newest row, or undefined when there is none. Each row goes to one caller only. */
  popNewest(sessionId: string): Promise<StoredRow | undefined>;
  /** Deletes the conversation's rows and its session row. Returns whether a session row existed. */
  clear(sessionId: string): Promise<boolean>;
  /** A trivial round trip, for health checks. */
  ping(): Promise<void>;
}
