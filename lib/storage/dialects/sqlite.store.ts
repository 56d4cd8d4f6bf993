import type { ResolvedTables, StoredRow } from '../session-store';
import { SqliteDatabase, SqliteStatement, SqliteStatementCache, quoteSqlite } from './sqlite.driver';
import { NEWEST_FIRST, SessionSchemaDdl, SqlStoreBase, oneSession, portableCoreDdl, schemaNames } from './sql-store.base';

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
  const { createTables, addIdIndex, dropTables } = portableCoreDdl(tables, quoteSqlite, 'id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT');
  const { index } = schemaNames(tables, quoteSqlite);
  return { createTables, dropTables, addIdIndex: [addIdIndex], dropIdIndex: [`DROP INDEX IF EXISTS ${quoteSqlite(index.sessionId)}`] };
}

/**
 * SQLite through better-sqlite3. Calls are synchronous, so a transaction can never interleave with
 * another call of this process; `BEGIN IMMEDIATE` takes the write lock up front, so writers in other
 * processes wait (busy timeout) instead of failing on a lock upgrade. Statements are prepared once.
 * @internal
 */
export class SqliteSessionStore extends SqlStoreBase {
  readonly dialect = 'sqlite' as const;
  private readonly statements: SqliteStatementCache;
  private readonly appendTx: (sessionId: string, data: string[]) => void;
  private readonly popTx: (sessionId: string) => StoredRow | undefined;
  private readonly clearTx: (sessionId: string) => boolean;

  constructor(
    private readonly db: SqliteDatabase,
    tables: ResolvedTables,
  ) {
    super(tables, quoteSqlite, () => '?', () => SESSION_PARAM);
    this.statements = new SqliteStatementCache(db);
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
    return this.statements.get(sql);
  }

  protected async select<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.stmt(sql).all(...params) as T[];
  }

  /** `pluck` statements return the column's values directly: about twice as fast as row objects. */
  protected async selectData(sql: string, params: unknown[]): Promise<string[]> {
    return this.statements.plucked(sql).all(...params) as string[];
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
