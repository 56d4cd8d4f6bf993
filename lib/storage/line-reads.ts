import type { OwnershipSql } from './ownership.sql';
import type { OwnerFilter, SessionStore, StoredColumns, StoredRow } from './session-store';
import type { ReadSql, SessionReads } from './session-reads';

/**
 * Takes the columns of a whole read in the synchronous step that read them, so that its caller parses
 * them before anything else runs (with many callers, no other whole read's texts are alive meanwhile).
 * Only a store that reads synchronously (SQLite) calls it, and its read then resolves to no columns;
 * any other store ignores it, and its caller takes the columns the read resolves to. @internal
 */
export type TakeColumns = (columns: StoredColumns) => void;

/** The four reads of the messages table's rows of one conversation (what `SessionStore` reads). @internal */
export type MainReads = Pick<SessionStore, 'readNewest' | 'readAllData' | 'readNewestData'> & {
  /** `SessionStore.readAll`; with `take`, see `TakeColumns`. */
  readAll(sessionId: string, filter?: OwnerFilter, take?: TakeColumns): Promise<StoredColumns>;
};

/** How a dialect store runs a read (its connection, and its cheaper forms of the same reads). @internal */
export interface ReadRunner {
  query<T>(sql: string, params: unknown[]): Promise<T[]>;
  /** One statement selecting only `message_data`: those texts. */
  queryData(sql: string, params: unknown[]): Promise<string[]>;
  /** `sql.all` (or a cheaper form of the same read): the rows as columns (or, to `take`, see `TakeColumns`). */
  queryColumns(sql: ReadSql, params: unknown[], take?: TakeColumns): Promise<StoredColumns>;
}

/**
 * The reads of main's rows with one set of SQL (`SessionReads`, and the owner condition of
 * `OwnershipSql` built on it): the plain reads, or the reads that also carry a condition in the same
 * statement (`SessionReads`' `condition`: "main is the current branch").
 * @internal
 */
export class LineReads implements MainReads {
  constructor(
    private readonly reads: SessionReads,
    private readonly ownership: OwnershipSql,
    private readonly run: ReadRunner,
  ) {}

  readAllData(sessionId: string, filter?: OwnerFilter): Promise<string[]> {
    if (filter) return this.run.queryData(this.ownership.reads(filter).allData, this.ownership.args(sessionId, filter));
    return this.run.queryData(this.reads.sql.allData, this.reads.args(sessionId));
  }

  readNewestData(sessionId: string, limit: number, filter?: OwnerFilter): Promise<string[]> {
    if (filter) {
      return this.run.queryData(this.ownership.reads(filter).newestData, this.ownership.args(sessionId, filter, limit));
    }
    return this.run.queryData(this.reads.sql.newestData, this.reads.args(sessionId, limit));
  }

  readAll(sessionId: string, filter?: OwnerFilter, take?: TakeColumns): Promise<StoredColumns> {
    if (filter)
      return this.run.queryColumns(this.ownership.reads(filter), this.ownership.args(sessionId, filter), take);
    return this.run.queryColumns(this.reads.sql, this.reads.args(sessionId), take);
  }

  readNewest(sessionId: string, limit: number, beforeId?: number | string, filter?: OwnerFilter): Promise<StoredRow[]> {
    const sql = filter ? this.ownership.reads(filter) : this.reads.sql;
    const args = (...rest: unknown[]) =>
      filter ? this.ownership.args(sessionId, filter, ...rest) : this.reads.args(sessionId, ...rest);
    return beforeId === undefined
      ? this.run.query<StoredRow>(sql.newest, args(limit))
      : this.run.query<StoredRow>(sql.newestBefore, args(beforeId, limit));
  }
}
