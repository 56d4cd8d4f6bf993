import type { ResolvedTables } from '../session-store';
import type { ExtensionTables, HistoryOutcome, HistoryPlan } from '../store-extensions';
import { SqliteDatabase, SqliteStatement, SqliteStatementCache, quoteSqlite } from './sqlite.driver';
import { ExtensionsBase, RollbackWith, SqlStep, extensionNames, portableExtensionDdl } from './extensions.base';

const q = quoteSqlite;

/**
 * SQLite DDL of the optional tables and the listing index. Deletes below remove these rows
 * explicitly, whether or not the connection enforces foreign keys.
 * @internal
 */
export function sqliteExtensionDdl(tables: ResolvedTables): string[] {
  return portableExtensionDdl(tables, q, 'TEXT');
}

/**
 * SQLite management SQL through better-sqlite3: each write is one synchronous `BEGIN IMMEDIATE`
 * transaction, so it can never interleave with another call of this process, and writers in other
 * processes wait for it.
 * @internal
 */
export class SqliteStoreExtensions extends ExtensionsBase {
  readonly ddl: string[];
  private readonly statements: SqliteStatementCache;

  constructor(
    private readonly db: SqliteDatabase,
    tables: ResolvedTables,
  ) {
    super(tables, q, () => '?');
    this.statements = new SqliteStatementCache(db);
    this.ddl = sqliteExtensionDdl(tables);
  }

  private stmt(sql: string): SqliteStatement {
    return this.statements.get(sql);
  }

  private exec(step: SqlStep): any[] {
    if (step.select) return this.stmt(step.sql).all(...step.params);
    this.stmt(step.sql).run(...step.params);
    return [];
  }

  protected async select<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.stmt(sql).all(...params) as T[];
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
  protected insertSteps(sessionId: string, data: string[]): SqlStep[] {
    const sql = `INSERT INTO ${this.M} (session_id, message_data) VALUES (?, ?)`;
    return data.map((d) => ({ sql, params: [sessionId, d], select: false }));
  }
  protected deleteIdsStep(ids: (number | string)[]): SqlStep {
    return { sql: `DELETE FROM ${this.M} WHERE id IN (SELECT value FROM json_each(?))`, params: [JSON.stringify(ids.map(Number))], select: false };
  }
  protected touchSql(): string {
    return `UPDATE ${this.S} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?`;
  }
  protected lockRowsSuffix(): string {
    return ''; // the IMMEDIATE transaction already holds the database's write lock
  }

  async createTables(): Promise<void> {
    this.db.exec(this.ddl.map((s) => `${s};`).join('\n'));
  }

  async purgeBatch(idleForMs: number, batchSize: number, tables: ExtensionTables): Promise<string[]> {
    const tx = this.db.transaction(() => {
      const ids = this.stmt(
        `SELECT session_id FROM ${this.S} WHERE updated_at < strftime('%Y-%m-%d %H:%M:%f', 'now', ?) ORDER BY updated_at LIMIT ?`,
      )
        .all(`-${idleForMs / 1000} seconds`, batchSize)
        .map((r: { session_id: string }) => r.session_id);
      if (ids.length === 0) return ids;
      const list = JSON.stringify(ids);
      const targets = [this.M, ...(tables.metadata ? [this.MD] : []), ...(tables.operations ? [this.OPS] : []), this.S];
      for (const t of targets) this.stmt(`DELETE FROM ${t} WHERE session_id IN (SELECT value FROM json_each(?))`).run(list);
      return ids;
    });
    return tx.immediate();
  }

  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    const tx = this.db.transaction(() => {
      if (json === null && items.length === 0) {
        this.stmt(`DELETE FROM ${this.MD} WHERE session_id = ?`).run(sessionId);
        return;
      }
      this.stmt(
        `INSERT INTO ${this.S} (session_id) VALUES (?) ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP`,
      ).run(sessionId);
      if (json === null) this.stmt(`DELETE FROM ${this.MD} WHERE session_id = ?`).run(sessionId);
      else {
        this.stmt(
          `INSERT INTO ${this.MD} (session_id, metadata) VALUES (?, ?) ` +
            `ON CONFLICT (session_id) DO UPDATE SET metadata = excluded.metadata, updated_at = CURRENT_TIMESTAMP`,
        ).run(sessionId, json);
      }
      for (const step of this.insertSteps(sessionId, items)) this.exec(step);
    });
    tx.immediate();
  }

  async applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome> {
    const tx = this.db.transaction(() => {
      this.stmt(`INSERT INTO ${this.S} (session_id) VALUES (?) ON CONFLICT (session_id) DO NOTHING`).run(sessionId);
      const steps = this.historySteps(sessionId, plan);
      let next = steps.next([]);
      while (!next.done) next = steps.next(this.exec(next.value));
      // Anything but `applied` rolls back (the session row this call may have created).
      if (next.value.status !== 'applied') throw new RollbackWith(next.value);
      return next.value;
    });
    try {
      return tx.immediate();
    } catch (err) {
      if (err instanceof RollbackWith) return err.outcome;
      throw err;
    }
  }
}
