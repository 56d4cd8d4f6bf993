import { mainIsCurrent, noBranches } from '../branches/branch-conditions';
import type { TakeColumns } from '../line-reads';
import { LockedOptions, LockedProgram, SqlStep, driveProgram } from '../program/statement-program';
import { NEWEST_FIRST, ReadSql, sessionIdRange } from '../session-reads';
import type {
  AppendOptions,
  OptionalTables,
  PopDecision,
  PopOptions,
  PopOutcome,
  ResolvedTables,
  StoredColumns,
  StoredRow,
} from '../session-store';
import { SqlSessionStore } from '../sql-session.store';
import { SqliteConnection } from './sqlite.connection';
import { sqliteSchemaDdl } from './sqlite.ddl';
import { SQLITE_SESSION_PARAM, sqliteSyntax } from './sqlite.syntax';

/**
 * SQLite through better-sqlite3: all of its SQL. Every write is one synchronous `BEGIN IMMEDIATE`
 * transaction (or one statement), so it never interleaves with another call of this process, and
 * writers in other processes wait for it. Deletes remove the optional tables' rows explicitly, since
 * the connection may not enforce foreign keys.
 * @internal
 */
export class SqliteSessionStore extends SqlSessionStore {
  readonly dialect = 'sqlite' as const;
  private readonly sql: {
    upsertSession: string;
    ensureSession: string;
    sessionExists: string;
    /** A row when a branch other than main is current. */
    anotherBranchIsCurrent: string;
    insertMessage: string;
    pop: string;
    /** `pop`, deleting only while the conversation has no branch (`noBranches`). */
    popIfNoBranches: string;
    deleteMessages: string;
    deleteSession: string;
    deleteMetadata: string;
    upsertMetadata: string;
    idle: string;
  };

  constructor(
    private readonly connection: SqliteConnection,
    tables: ResolvedTables,
  ) {
    super(tables, sqliteSyntax);
    const { sessions, messages, metadata } = this.names;
    this.sql = {
      upsertSession: `INSERT INTO ${sessions} (session_id) VALUES (?) ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP`,
      ensureSession: `INSERT INTO ${sessions} (session_id) VALUES (?) ON CONFLICT (session_id) DO NOTHING`,
      sessionExists: `SELECT 1 FROM ${sessions} WHERE session_id = ?`,
      anotherBranchIsCurrent: `SELECT 1 WHERE NOT ${mainIsCurrent(this.names, '?')}`,
      insertMessage: `INSERT INTO ${messages} (session_id, message_data) VALUES (?, ?)`,
      pop:
        `DELETE FROM ${messages} WHERE id = (SELECT id FROM ${messages} WHERE ${sessionIdRange(SQLITE_SESSION_PARAM, SQLITE_SESSION_PARAM)} ` +
        `${NEWEST_FIRST} LIMIT 1) RETURNING id, message_data`,
      popIfNoBranches:
        `DELETE FROM ${messages} WHERE id = (SELECT id FROM ${messages} WHERE ${sessionIdRange(SQLITE_SESSION_PARAM, SQLITE_SESSION_PARAM)} ` +
        `${NEWEST_FIRST} LIMIT 1) AND ${noBranches(this.names, '?')} RETURNING id, message_data`,
      deleteMessages: `DELETE FROM ${messages} WHERE session_id = ?`,
      deleteSession: `DELETE FROM ${sessions} WHERE session_id = ?`,
      deleteMetadata: `DELETE FROM ${metadata} WHERE session_id = ?`,
      upsertMetadata:
        `INSERT INTO ${metadata} (session_id, metadata) VALUES (?, ?) ` +
        `ON CONFLICT (session_id) DO UPDATE SET metadata = excluded.metadata, updated_at = CURRENT_TIMESTAMP`,
      idle: `SELECT session_id FROM ${sessions} WHERE updated_at < strftime('%Y-%m-%d %H:%M:%f', 'now', ?) ORDER BY updated_at LIMIT ?`,
    };
  }

  protected async query<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.connection.statement(sql).all(...params) as T[];
  }

  protected async queryData(sql: string, params: unknown[]): Promise<string[]> {
    return this.connection.plucked(sql).all(...params) as string[];
  }

  /**
   * The whole read as two plucked reads (texts, then ids) in one read transaction: about half the
   * cost of a row object per row (docs/benchmarks.md, "The whole read at the floor"). With `take`
   * (the whole-history read), the columns go to it in the same synchronous step (see `TakeColumns`).
   */
  protected async queryColumns(sql: ReadSql, params: unknown[], take?: TakeColumns): Promise<StoredColumns> {
    const { connection } = this;
    const data = connection.plucked(sql.allData);
    const ids = connection.plucked(sql.allIds);
    const columns: StoredColumns = connection.snapshot(() => ({
      texts: data.all(...params) as string[],
      ids: ids.all(...params) as number[],
    }));
    if (take === undefined) return columns;
    take(columns);
    return { ids: [], texts: [] };
  }

  /** Runs one step inside the current transaction. */
  private step(step: SqlStep): unknown[] {
    const statement = this.connection.statement(step.sql);
    if (step.returnsRows) return statement.all(...step.params);
    statement.run(...step.params);
    return [];
  }

  async createTables(): Promise<void> {
    const ddl = sqliteSchemaDdl(this.tables);
    const statements = [...ddl.createCoreTables, ...ddl.createOptionalTables, ddl.createUpdatedIndex];
    this.connection.exec(statements.map((statement) => `${statement};`).join('\n'));
  }

  async append(sessionId: string, data: string[], options?: AppendOptions): Promise<boolean> {
    if (data.length === 0) return true;
    const following = options?.ifMainIsCurrent === true && this.branchesInUse;
    return this.connection.transaction(() => {
      if (this.branchesInUse) this.ensureSessionRow(sessionId);
      if (following && this.connection.statement(this.sql.anotherBranchIsCurrent).get(sessionId)) return false;
      this.connection.statement(this.sql.upsertSession).run(sessionId);
      const insert = this.connection.statement(this.sql.insertMessage);
      for (const d of data) insert.run(sessionId, d);
      return true;
    });
  }

  async popNewest<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    options: PopOptions = {},
  ): Promise<PopOutcome<T>> {
    // Rows may have to be kept (encryption): the batched, locked pop.
    if (options.mayKeep) return super.popNewest(sessionId, decode, options);
    if (this.branchesInUse) {
      const row = this.connection.statement(this.sql.popIfNoBranches).get(sessionId, sessionId, sessionId) as
        StoredRow | undefined;
      // Nothing: an empty conversation, or one with branches: the locked pop (freezes what they inherit first).
      return row ? this.finishDeleteFirstPop(sessionId, decode, row) : super.popNewest(sessionId, decode, options);
    }
    // One statement, so no explicit transaction: it is atomic by itself and, being a write, takes the
    // write lock when it starts, as BEGIN IMMEDIATE would, and much faster (docs/storage.md, "SQLite").
    // Only a corrupt newest row leads on to the batched pop (pop.program.ts).
    const row = this.connection.statement(this.sql.pop).get(sessionId, sessionId) as StoredRow | undefined;
    return this.finishDeleteFirstPop(sessionId, decode, row);
  }

  protected async swapRow(sql: string, params: unknown[]): Promise<boolean> {
    return this.connection.statement(sql).run(...params).changes > 0;
  }

  async deleteConversation(sessionId: string): Promise<boolean> {
    return this.connection.transaction(() => {
      this.connection.statement(this.sql.deleteMessages).run(sessionId); // explicit: foreign keys may be off
      if (this.branchesInUse) this.deleteBranchRows(sessionId);
      return this.connection.statement(this.sql.deleteSession).run(sessionId).changes > 0;
    });
  }

  async purgeIdle(idleForMs: number, batchSize: number, tables: OptionalTables): Promise<string[]> {
    const { sessions, messages, metadata, operations, owners } = this.names;
    return this.connection.transaction(() => {
      const ids = this.connection
        .statement(this.sql.idle)
        .all(`-${idleForMs / 1000} seconds`, batchSize)
        .map((r: { session_id: string }) => r.session_id);
      if (ids.length === 0) return ids;
      const list = JSON.stringify(ids);
      const targets = [
        messages,
        ...(tables.branches ? [this.names.branchItems, this.names.branchSegments, this.names.branches] : []),
        ...(tables.metadata ? [metadata] : []),
        ...(tables.operations ? [operations] : []),
        ...(tables.owners ? [owners] : []),
        sessions,
      ];
      for (const table of targets) {
        this.connection
          .statement(`DELETE FROM ${table} WHERE session_id IN (SELECT value FROM json_each(?))`)
          .run(list);
      }
      return ids;
    });
  }

  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    this.connection.transaction(() => {
      if (json === null && items.length === 0) {
        this.connection.statement(this.sql.deleteMetadata).run(sessionId);
        return;
      }
      if (this.branchesInUse) this.ensureSessionRow(sessionId);
      this.connection.statement(this.sql.upsertSession).run(sessionId);
      if (json === null) this.connection.statement(this.sql.deleteMetadata).run(sessionId);
      else this.connection.statement(this.sql.upsertMetadata).run(sessionId, json);
      for (const step of this.statements.insert(sessionId, items)) this.step(step);
    });
  }

  /**
   * Creates the session row if missing; when it creates it and the branch tables exist, first deletes the
   * branch rows of that conversation id: rows left behind by a writer that deleted the session row with
   * foreign keys off (Python's SQLAlchemySession clears a conversation so on SQLite), which would otherwise
   * come back with the new row. (On the servers the branch tables cascade from the session row.)
   */
  private ensureSessionRow(sessionId: string): void {
    const created = this.connection.statement(this.sql.ensureSession).run(sessionId).changes > 0;
    if (created && this.branchesInUse) this.deleteBranchRows(sessionId);
  }

  /** Deletes the conversation's rows of the branch tables (explicitly: foreign keys may be off). */
  private deleteBranchRows(sessionId: string): void {
    const { branchItems, branchSegments, branches } = this.names;
    for (const table of [branchItems, branchSegments, branches]) {
      this.connection.statement(`DELETE FROM ${table} WHERE session_id = ?`).run(sessionId);
    }
  }

  protected async runLocked<T>(
    sessionId: string,
    program: LockedProgram<T>,
    options: LockedOptions<T> = {},
  ): Promise<T> {
    // The IMMEDIATE transaction holds the database's write lock: no other writer runs meanwhile.
    return this.connection.transaction(() => {
      if (this.connection.statement(this.sql.sessionExists).get(sessionId) === undefined) {
        if (options.ifMissing) return options.ifMissing();
        this.ensureSessionRow(sessionId);
      }
      return driveProgram(program(), (step) => this.step(step));
    }, options.keep); // a rollback takes the session row this call may have created with it
  }
}
