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
    probeSessions: string;
    probeMessages: string;
  };

  protected constructor(
    protected readonly tables: ResolvedTables,
    protected readonly quote: (identifier: string) => string,
    placeholder: (n: number) => string,
  ) {
    const names = schemaNames(tables, quote);
    this.S = names.S;
    this.M = names.M;
    const p = placeholder;
    this.sql = {
      readAll: `SELECT id, message_data FROM ${this.M} WHERE session_id = ${p(1)} ORDER BY id`,
      readNewest: `SELECT id, message_data FROM ${this.M} WHERE session_id = ${p(1)} ORDER BY id DESC LIMIT ${p(2)}`,
      readNewestBefore: `SELECT id, message_data FROM ${this.M} WHERE session_id = ${p(1)} AND id < ${p(2)} ORDER BY id DESC LIMIT ${p(3)}`,
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

  readAll(sessionId: string): Promise<StoredRow[]> {
    return this.select<StoredRow>(this.sql.readAll, [sessionId]);
  }

  readNewest(sessionId: string, limit: number, beforeId?: number | string): Promise<StoredRow[]> {
    return beforeId === undefined
      ? this.select<StoredRow>(this.sql.readNewest, [sessionId, limit])
      : this.select<StoredRow>(this.sql.readNewestBefore, [sessionId, beforeId, limit]);
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
