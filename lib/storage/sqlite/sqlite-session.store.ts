import {
  LockedOptions,
  LockedProgram,
  NEWEST_FIRST,
  SqlSessionStore,
  SqlStep,
  driveProgram,
  popCommits,
  sessionIdRange,
} from '../sql-session.store';
import type { OptionalTables, PopDecision, PopOptions, PopOutcome, ResolvedTables, StoredRow } from '../session-store';
import { SqliteConnection, quoteSqlite, sqlitePlaceholder } from './sqlite.connection';
import { sqliteSchemaDdl } from './sqlite.ddl';

/**
 * The conversation id's placeholder in reads and pops. better-sqlite3 builds SQLite with STAT4: once
 * the database has been ANALYZEd (`PRAGMA optimize` does it too), a statement whose plan looked at a
 * bound value is prepared again every time that parameter is bound, 4-6 µs per call. `(? || '')` is
 * the same text, but an expression the planner does not evaluate, so the plan (the (session_id, id)
 * index either way) is made once.
 */
const SESSION_PARAM = "(? || '')";

/**
 * SQLite through better-sqlite3: all of its SQL. Every write is one synchronous `BEGIN IMMEDIATE`
 * transaction (or one statement), so it never interleaves with another call of this process, and
 * writers in other processes wait for it. Deletes remove the optional tables' rows explicitly, since
 * the connection may not enforce foreign keys.
 * @internal
 */
export class SqliteSessionStore extends SqlSessionStore {
  readonly dialect = 'sqlite' as const;
  protected readonly touchSession: string;
  private readonly sql: {
    upsertSession: string;
    ensureSession: string;
    sessionExists: string;
    insertMessage: string;
    pop: string;
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
    super(tables, { quote: quoteSqlite, placeholder: sqlitePlaceholder, sessionPlaceholder: () => SESSION_PARAM });
    const { sessions, messages, metadata } = this.names;
    this.touchSession = `UPDATE ${sessions} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?`;
    this.sql = {
      upsertSession: `INSERT INTO ${sessions} (session_id) VALUES (?) ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP`,
      ensureSession: `INSERT INTO ${sessions} (session_id) VALUES (?) ON CONFLICT (session_id) DO NOTHING`,
      sessionExists: `SELECT 1 FROM ${sessions} WHERE session_id = ?`,
      insertMessage: `INSERT INTO ${messages} (session_id, message_data) VALUES (?, ?)`,
      pop:
        `DELETE FROM ${messages} WHERE id = (SELECT id FROM ${messages} WHERE ${sessionIdRange(SESSION_PARAM, SESSION_PARAM)} ` +
        `${NEWEST_FIRST} LIMIT 1) RETURNING id, message_data`,
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

  protected timeKey(column: string): string {
    return `CAST(${column} AS TEXT)`;
  }
  protected timeKeyParam(placeholder: string): string {
    return placeholder;
  }
  protected epochMs(column: string): string {
    return `ROUND((julianday(${column}) - 2440587.5) * 86400000.0)`;
  }
  protected epochMsParam(placeholder: string): string {
    return placeholder;
  }
  /** `CURRENT_TIMESTAMP` writes `YYYY-MM-DD HH:MM:SS` (UTC): compare as text in that form. */
  protected epochMsValue(ms: number): unknown {
    const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
    const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    return ms % 1000 === 0 ? text : `${text}${iso.slice(19, 23)}`;
  }
  protected metadataEquals(keyPlaceholder: string, jsonPlaceholder: string): string {
    return `md.metadata -> ${keyPlaceholder} = json(${jsonPlaceholder})`;
  }
  protected insertMessages(sessionId: string, data: string[]): SqlStep[] {
    return data.map((d) => ({ sql: this.sql.insertMessage, params: [sessionId, d], returnsRows: false }));
  }
  protected deleteMessageIds(_sessionId: string, ids: (number | string)[]): SqlStep {
    return {
      sql: `DELETE FROM ${this.names.messages} WHERE id IN (SELECT value FROM json_each(?))`,
      params: [JSON.stringify(ids.map(Number))],
      returnsRows: false,
    };
  }
  protected get lockRowsSuffix(): string {
    return ''; // the IMMEDIATE transaction already holds the database's write lock
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

  async append(sessionId: string, data: string[]): Promise<void> {
    if (data.length === 0) return;
    this.connection.transaction(() => {
      this.connection.statement(this.sql.upsertSession).run(sessionId);
      const insert = this.connection.statement(this.sql.insertMessage);
      for (const d of data) insert.run(sessionId, d);
    });
  }

  async popNewest<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    options: PopOptions = {},
  ): Promise<PopOutcome<T>> {
    if (options.mayKeep) {
      // Rows may have to be kept (encryption): decide before deleting, in the batched pop.
      return this.runLocked(sessionId, () => this.popSteps(sessionId, decode), {
        ifMissing: () => ({ skipped: { count: 0 } }),
        keep: popCommits,
      });
    }
    // One statement, so no explicit transaction: it is atomic by itself and, being a write, takes the
    // write lock when it starts, as BEGIN IMMEDIATE would. A BEGIN IMMEDIATE ... COMMIT around it made
    // popItem 3-7x slower (bench/, "popItem" on SQLite). Only a corrupt newest row leads on to the
    // batched pop of the base class.
    const row = this.connection.statement(this.sql.pop).get(sessionId, sessionId) as StoredRow | undefined;
    if (!row) return { skipped: { count: 0 } };
    const decision = decode(row.message_data);
    if (decision !== 'skip' && decision !== 'keep') return { row, value: decision.value, skipped: { count: 0 } };
    return this.runLocked(sessionId, () => this.popSteps(sessionId, decode, [row]), {
      ifMissing: () => ({ skipped: { count: 1, newestId: row.id, oldestId: row.id } }),
      keep: popCommits,
    });
  }

  protected async swapRow(sql: string, params: unknown[]): Promise<boolean> {
    return this.connection.statement(sql).run(...params).changes > 0;
  }

  async deleteConversation(sessionId: string): Promise<boolean> {
    return this.connection.transaction(() => {
      this.connection.statement(this.sql.deleteMessages).run(sessionId); // explicit: foreign keys may be off
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
      this.connection.statement(this.sql.upsertSession).run(sessionId);
      if (json === null) this.connection.statement(this.sql.deleteMetadata).run(sessionId);
      else this.connection.statement(this.sql.upsertMetadata).run(sessionId, json);
      for (const step of this.insertMessages(sessionId, items)) this.step(step);
    });
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
        this.connection.statement(this.sql.ensureSession).run(sessionId);
      }
      return driveProgram(program(), (step) => this.step(step));
    }, options.keep); // a rollback takes the session row this call may have created with it
  }
}
