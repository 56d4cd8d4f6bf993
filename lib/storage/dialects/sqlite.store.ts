import type { ResolvedTables, StoredRow } from '../session-store';
import { NEWEST_FIRST, SessionSchemaDdl, SqlStoreBase, oneSession, schemaNames } from './sql-store.base';

const quoteSqlite = (id: string) => `"${id}"`;

/**
 * The conversation id's placeholder in reads and pops. better-sqlite3 builds SQLite with STAT4: once
 * the database has been ANALYZEd (`PRAGMA optimize` does it too), a statement whose plan looked at a
 * bound value is prepared again every time that parameter is bound, 4-6 µs per call. `(? || '')` is
 * the same text, but an expression the planner does not evaluate, so the plan (the (session_id, id)
 * index either way) is made once.
 */
const SESSION_PARAM = "(? || '')";

/**
 * SQLite DDL for one pair of tables: the Python SQLAlchemySession layout (AUTOINCREMENT ids, never
 * reused) plus the `(session_id, id)` index. Used by `createTables` and by the migrations.
 * @internal
 */
export function sqliteSchemaDdl(tables: ResolvedTables): SessionSchemaDdl {
  const q = quoteSqlite;
  const { S, M, index } = schemaNames(tables, q);
  const addIdIndex = `CREATE INDEX IF NOT EXISTS ${q(index.sessionId)} ON ${M} (session_id, id)`;
  return {
    createTables: [
      `CREATE TABLE IF NOT EXISTS ${S} (` +
        `session_id VARCHAR NOT NULL PRIMARY KEY, ` +
        `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ` +
        `updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE TABLE IF NOT EXISTS ${M} (` +
        `id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, ` +
        `session_id VARCHAR NOT NULL REFERENCES ${S} (session_id) ON DELETE CASCADE, ` +
        `message_data TEXT NOT NULL, ` +
        `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE INDEX IF NOT EXISTS ${q(index.sessionTime)} ON ${M} (session_id, created_at)`,
      addIdIndex,
    ],
    dropTables: [`DROP TABLE IF EXISTS ${M}`, `DROP TABLE IF EXISTS ${S}`],
    addIdIndex: [addIdIndex],
    dropIdIndex: [`DROP INDEX IF EXISTS ${q(index.sessionId)}`],
  };
}

/** The subset of a `better-sqlite3` Database used here. */
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  transaction<F extends (...args: any[]) => any>(fn: F): F & { immediate: F };
}
interface SqliteStatement {
  all(...params: unknown[]): any[];
  get(...params: unknown[]): any;
  run(...params: unknown[]): { changes: number };
  pluck(toggle: boolean): SqliteStatement;
}

/**
 * SQLite through better-sqlite3. Calls are synchronous, so a transaction can never interleave with
 * another call of this process; `BEGIN IMMEDIATE` takes the write lock up front, so writers in other
 * processes wait (busy timeout) instead of failing on a lock upgrade. Statements are prepared once.
 * @internal
 */
export class SqliteSessionStore extends SqlStoreBase {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, SqliteStatement>();
  private readonly plucked = new Map<string, SqliteStatement>();
  private readonly appendTx: (sessionId: string, data: string[]) => void;
  private readonly popTx: (sessionId: string) => StoredRow | undefined;
  private readonly clearTx: (sessionId: string) => boolean;

  constructor(
    private readonly db: SqliteDatabase,
    tables: ResolvedTables,
  ) {
    super(tables, quoteSqlite, () => '?', () => SESSION_PARAM);
    const { S, M } = this;
    const upsertSession =
      `INSERT INTO ${S} (session_id) VALUES (?) ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP`;
    const insertMessage = `INSERT INTO ${M} (session_id, message_data) VALUES (?, ?)`;
    const pop =
      `DELETE FROM ${M} WHERE id = (SELECT id FROM ${M} WHERE ${oneSession(SESSION_PARAM, SESSION_PARAM)} ${NEWEST_FIRST} LIMIT 1) RETURNING id, message_data`;
    const deleteMessages = `DELETE FROM ${M} WHERE session_id = ?`;
    const deleteSession = `DELETE FROM ${S} WHERE session_id = ?`;

    const append = db.transaction((sessionId: string, data: string[]) => {
      this.stmt(upsertSession).run(sessionId);
      const insert = this.stmt(insertMessage);
      for (const d of data) insert.run(sessionId, d);
    });
    const clear = db.transaction((sessionId: string) => {
      this.stmt(deleteMessages).run(sessionId); // explicit: foreign keys may be off on this connection
      return this.stmt(deleteSession).run(sessionId).changes > 0;
    });
    this.appendTx = append.immediate;
    // One statement, so no explicit transaction: it is atomic by itself and, being a write, takes the
    // write lock when it starts, as BEGIN IMMEDIATE would. A BEGIN IMMEDIATE ... COMMIT around it made
    // popItem 3-7x slower (bench/, "popItem" on SQLite).
    this.popTx = (sessionId) => this.stmt(pop).get(sessionId, sessionId) as StoredRow | undefined;
    this.clearTx = clear.immediate;
  }

  private stmt(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  protected async select<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.stmt(sql).all(...params) as T[];
  }

  /** `pluck` statements return the column's values directly: about twice as fast as row objects. */
  protected async selectData(sql: string, params: unknown[]): Promise<string[]> {
    let s = this.plucked.get(sql);
    if (!s) {
      s = this.db.prepare(sql).pluck(true);
      this.plucked.set(sql, s);
    }
    return s.all(...params) as string[];
  }

  async append(sessionId: string, data: string[]): Promise<void> {
    if (data.length === 0) return;
    this.appendTx(sessionId, data);
  }

  async popNewest(sessionId: string): Promise<StoredRow | undefined> {
    return this.popTx(sessionId);
  }

  async clear(sessionId: string): Promise<boolean> {
    return this.clearTx(sessionId);
  }

  async createTables(): Promise<void> {
    this.db.exec(sqliteSchemaDdl(this.tables).createTables.map((statement) => `${statement};`).join('\n'));
  }
}
