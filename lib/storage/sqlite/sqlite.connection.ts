/** The subset of a `better-sqlite3` Database used here. @internal */
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
export const quoteSqlite = (identifier: string): string => `"${identifier}"`;

/** `?`. @internal */
export const sqlitePlaceholder = (): string => '?';

/**
 * The `better-sqlite3` database TypeORM opened, as the SQLite store uses it: each SQL text prepared
 * once per connection (better-sqlite3 re-prepares by itself after a schema change), and synchronous
 * `BEGIN IMMEDIATE` transactions, which take the write lock up front so that writers in other
 * processes wait (busy timeout) instead of failing on a lock upgrade. Calls are synchronous, so a
 * transaction never interleaves with another call of this process.
 * @internal
 */
export class SqliteConnection {
  private readonly statements = new Map<string, SqliteStatement>();
  private readonly pluckedStatements = new Map<string, SqliteStatement>();

  /** One `BEGIN IMMEDIATE` wrapper, built once (building it per call costs more than a small write). */
  private readonly immediate: (work: () => unknown) => unknown;
  /** One deferred `BEGIN` wrapper, for reads that must see one snapshot. */
  private readonly deferred: (work: () => unknown) => unknown;

  constructor(private readonly db: SqliteDatabase) {
    const run = db.transaction((work: () => unknown) => work());
    this.immediate = run.immediate;
    this.deferred = run;
  }

  /** The prepared statement of `sql`. */
  statement(sql: string): SqliteStatement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** A statement that returns the first column's values instead of row objects (about twice as fast). */
  plucked(sql: string): SqliteStatement {
    let s = this.pluckedStatements.get(sql);
    if (!s) {
      s = this.db.prepare(sql).pluck(true);
      this.pluckedStatements.set(sql, s);
    }
    return s;
  }

  /**
   * Runs `reads` in one deferred transaction, so that its statements see the same database: from the
   * first read on, no other connection's write shows (WAL: one snapshot; rollback journal: the shared
   * lock, held to the end, keeps writers out).
   */
  snapshot<T>(reads: () => T): T {
    return this.deferred(reads) as T;
  }

  /** Runs a script of several statements. */
  exec(script: string): void {
    this.db.exec(script);
  }

  /**
   * Runs `work` in one `BEGIN IMMEDIATE` transaction; commits when `keep(result)` (default: always),
   * rolls back otherwise or when it throws.
   */
  transaction<T>(work: () => T, keep: (result: T) => boolean = () => true): T {
    const rollback = { value: undefined as T };
    try {
      return this.immediate(() => {
        const result = work();
        if (keep(result)) return result;
        rollback.value = result;
        throw rollback; // better-sqlite3 rolls back on any throw
      }) as T;
    } catch (err) {
      if (err === rollback) return rollback.value;
      throw err;
    }
  }
}
