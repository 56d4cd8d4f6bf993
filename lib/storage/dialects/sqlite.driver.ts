/** The subset of a `better-sqlite3` Database used by the SQLite store and its extensions. @internal */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  transaction<F extends (...args: any[]) => any>(fn: F): F & { immediate: F };
}

/** The subset of a `better-sqlite3` Statement used here. @internal */
export interface SqliteStatement {
  all(...params: unknown[]): any[];
  get(...params: unknown[]): any;
  run(...params: unknown[]): { changes: number };
  pluck(toggle: boolean): SqliteStatement;
}

/** SQLite identifier quoting. @internal */
export const quoteSqlite = (id: string): string => `"${id}"`;

/**
 * Prepares each SQL text once per database connection and keeps the statement (better-sqlite3
 * re-prepares by itself after a schema change). `plucked` gives a separate statement that returns the
 * first column's value instead of row objects.
 * @internal
 */
export class SqliteStatementCache {
  private readonly statements = new Map<string, SqliteStatement>();
  private readonly pluckedStatements = new Map<string, SqliteStatement>();

  constructor(private readonly db: SqliteDatabase) {}

  get(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  plucked(sql: string): SqliteStatement {
    let s = this.pluckedStatements.get(sql);
    if (!s) {
      s = this.db.prepare(sql).pluck(true);
      this.pluckedStatements.set(sql, s);
    }
    return s;
  }
}
