import { SessionMemoryConfigurationError } from '../../exceptions';
import type { ResolvedTables, SessionStore, SessionStoreDialect, StoredRow } from '../session-store';

/**
 * The DDL of one dialect for one pair of tables: what `createTables: true` runs at startup and what
 * the migrations (`lib/migrations`) run through a TypeORM QueryRunner. One source for both.
 * @internal
 */
export interface SessionSchemaDdl {
  /** Creates both tables and every index if missing (`IF NOT EXISTS`: idempotent). */
  createTables: string[];
  /** Drops both tables (messages first), if they exist. Deletes every stored conversation. */
  dropTables: string[];
  /** Adds what this package adds to the Python SQLAlchemySession layout: the `(session_id, id)` index. No data is rewritten. */
  addIdIndex: string[];
  /** Removes that index again. */
  dropIdIndex: string[];
}

/** Quoted, schema-qualified table names and the index names for one pair of tables. @internal */
export function schemaNames(tables: ResolvedTables, quote: (identifier: string) => string) {
  const qualify = (t: string) => (tables.schema ? `${quote(tables.schema)}.${quote(t)}` : quote(t));
  return {
    S: qualify(tables.sessions),
    M: qualify(tables.messages),
    /** Index names, following the Python reference (`idx_<messages>_session_time`) plus ours. */
    index: {
      sessionTime: `idx_${tables.messages}_session_time`,
      sessionId: `idx_${tables.messages}_session_id`,
    },
    /** An index name qualified like its table (PostgreSQL indexes live in the table's schema). */
    qualify,
  };
}

/**
 * The core DDL where PostgreSQL and SQLite agree (all but the id column): the Python SQLAlchemySession
 * layout plus the `(session_id, id)` index this package adds.
 * @internal
 */
export function portableCoreDdl(tables: ResolvedTables, quote: (identifier: string) => string, idColumn: string) {
  const { S, M, index } = schemaNames(tables, quote);
  const addIdIndex = `CREATE INDEX IF NOT EXISTS ${quote(index.sessionId)} ON ${M} (session_id, id)`;
  return {
    createTables: [
      `CREATE TABLE IF NOT EXISTS ${S} (` +
        `session_id VARCHAR NOT NULL PRIMARY KEY, ` +
        `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ` +
        `updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE TABLE IF NOT EXISTS ${M} (` +
        `${idColumn}, ` +
        `session_id VARCHAR NOT NULL REFERENCES ${S} (session_id) ON DELETE CASCADE, ` +
        `message_data TEXT NOT NULL, ` +
        `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE INDEX IF NOT EXISTS ${quote(index.sessionTime)} ON ${M} (session_id, created_at)`,
      addIdIndex,
    ],
    addIdIndex,
    dropTables: [`DROP TABLE IF EXISTS ${M}`, `DROP TABLE IF EXISTS ${S}`],
  };
}

/**
 * Selects the rows of one conversation, as `WHERE ${oneSession(a, b)} ${NEWEST_FIRST} LIMIT n` (or
 * `${OLDEST_FIRST}` for the whole history), with the conversation id bound to both placeholders.
 *
 * The plain `WHERE session_id = ? ORDER BY id DESC LIMIT n` lets PostgreSQL, MariaDB and SQLite (after
 * ANALYZE) walk the primary key and filter on session_id whenever the statistics say the conversation
 * is a large share of the table; that reads every newer row of every other conversation first
 * (14-35 ms at 100,000 rows, growing with the table, worst for an old conversation). Written as a
 * range, session_id stays in the ORDER BY, which only the (session_id, id) index delivers, so a read
 * of n items touches n index entries. Same rows: under any collation a = b exactly when a <= b and a >= b.
 * @internal
 */
export function oneSession(lo: string, hi: string): string {
  return `session_id >= ${lo} AND session_id <= ${hi}`;
}

/** Newest first, in the order of the (session_id, id) index (see `oneSession`). @internal */
export const NEWEST_FIRST = 'ORDER BY session_id DESC, id DESC';

/** Oldest first, in the order of the (session_id, id) index (see `oneSession`). @internal */
export const OLDEST_FIRST = 'ORDER BY session_id, id';

/**
 * What the three dialect stores share: quoted table names and the SQL that is the same everywhere but
 * for quoting and placeholders. Each subclass holds the SQL that differs.
 * @internal
 */
export abstract class SqlStoreBase implements SessionStore {
  abstract readonly dialect: SessionStoreDialect;
  /** Quoted, schema-qualified sessions table. */
  protected readonly S: string;
  /** Quoted, schema-qualified messages table. */
  protected readonly M: string;
  protected readonly sql: {
    readAll: string;
    readNewest: string;
    readNewestBefore: string;
    readAllData: string;
    readNewestData: string;
    probeSessions: string;
    probeMessages: string;
  };

  /**
   * @param sessionPlaceholder the placeholder for a conversation id in `oneSession` (default `placeholder`;
   * SQLite wraps it, see `SqliteSessionStore`).
   */
  protected constructor(
    protected readonly tables: ResolvedTables,
    protected readonly quote: (identifier: string) => string,
    placeholder: (n: number) => string,
    sessionPlaceholder: (n: number) => string = placeholder,
  ) {
    const names = schemaNames(tables, quote);
    this.S = names.S;
    this.M = names.M;
    const p = placeholder;
    const session = oneSession(sessionPlaceholder(1), sessionPlaceholder(2));
    this.sql = {
      readAll: `SELECT id, message_data FROM ${this.M} WHERE ${session} ${OLDEST_FIRST}`,
      readNewest: `SELECT id, message_data FROM ${this.M} WHERE ${session} ${NEWEST_FIRST} LIMIT ${p(3)}`,
      readNewestBefore: `SELECT id, message_data FROM ${this.M} WHERE ${session} AND id < ${p(3)} ${NEWEST_FIRST} LIMIT ${p(4)}`,
      readAllData: `SELECT message_data FROM ${this.M} WHERE ${session} ${OLDEST_FIRST}`,
      readNewestData: `SELECT message_data FROM ${this.M} WHERE ${session} ${NEWEST_FIRST} LIMIT ${p(3)}`,
      probeSessions: `SELECT session_id, created_at, updated_at FROM ${this.S} WHERE 1 = 0`,
      probeMessages: `SELECT id, session_id, message_data, created_at FROM ${this.M} WHERE 1 = 0`,
    };
  }

  /** Index names, following the Python reference (`idx_<messages>_session_time`) plus ours. */
  protected get indexNames() {
    return schemaNames(this.tables, this.quote).index;
  }

  /** Runs one statement and returns its rows. */
  protected abstract select<T>(sql: string, params: unknown[]): Promise<T[]>;

  /** Runs one statement selecting only `message_data` and returns those texts. */
  protected async selectData(sql: string, params: unknown[]): Promise<string[]> {
    const rows = await this.select<{ message_data: string }>(sql, params);
    const out = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rows[i].message_data;
    return out;
  }

  readAllData(sessionId: string): Promise<string[]> {
    return this.selectData(this.sql.readAllData, [sessionId, sessionId]);
  }

  readNewestData(sessionId: string, limit: number): Promise<string[]> {
    return this.selectData(this.sql.readNewestData, [sessionId, sessionId, limit]);
  }

  readAll(sessionId: string): Promise<StoredRow[]> {
    return this.select<StoredRow>(this.sql.readAll, [sessionId, sessionId]);
  }

  readNewest(sessionId: string, limit: number, beforeId?: number | string): Promise<StoredRow[]> {
    return beforeId === undefined
      ? this.select<StoredRow>(this.sql.readNewest, [sessionId, sessionId, limit])
      : this.select<StoredRow>(this.sql.readNewestBefore, [sessionId, sessionId, beforeId, limit]);
  }

  async verifyTables(): Promise<void> {
    for (const [table, probe] of [
      [this.S, this.sql.probeSessions],
      [this.M, this.sql.probeMessages],
    ] as const) {
      try {
        await this.select(probe, []);
      } catch (err) {
        throw new SessionMemoryConfigurationError(
          `nestjs-session-memory cannot use table ${table} (${(err as Error).message}). ` +
            'Create the tables: set `createTables: true` in SessionMemoryModule options, or run the migration from ' +
            '`createSessionMemoryMigration()` (see README, "Production schema"), or point `tables` at existing tables.',
          { cause: err },
        );
      }
    }
  }

  async ping(): Promise<void> {
    await this.select('SELECT 1', []);
  }

  abstract createTables(): Promise<void>;
  abstract append(sessionId: string, data: string[]): Promise<void>;
  abstract popNewest(sessionId: string): Promise<StoredRow | undefined>;
  abstract clear(sessionId: string): Promise<boolean>;
}
