import type { ResolvedTables, StoredRow } from '../session-store';
import type {
  ExtensionTables,
  HistoryOutcome,
  HistoryPlan,
  ListedSessionRow,
  SessionListQuery,
  SessionStoreExtensions,
} from '../store-extensions';
import { schemaNames } from './sql-store.base';

/** Carries a non-applied outcome out of a transaction so that it is rolled back. @internal */
export class RollbackWith extends Error {
  constructor(readonly outcome: HistoryOutcome) {
    super(`rollback: ${outcome.status}`);
  }
}

/** One statement of a multi-statement operation: `select` ones return rows. @internal */
export interface SqlStep {
  sql: string;
  params: unknown[];
  select: boolean;
}

/** Names of the optional tables and index beside a pair of Python-compatible tables. @internal */
export function extensionNames(tables: ResolvedTables, quote: (id: string) => string) {
  const { S, M, qualify } = schemaNames(tables, quote);
  return {
    S,
    M,
    /** `<sessions>_metadata` */
    MD: qualify(`${tables.sessions}_metadata`),
    /** `<messages>_operations` */
    OPS: qualify(`${tables.messages}_operations`),
    /** `idx_<sessions>_updated` on (updated_at, session_id), for listing and retention. */
    updatedIndex: `idx_${tables.sessions}_updated`,
  };
}

/**
 * DDL of the optional tables where PostgreSQL and SQLite agree (all but the metadata column's type):
 * metadata, the operation log, and the `(updated_at, session_id)` index for listing and retention.
 * @internal
 */
export function portableExtensionDdl(tables: ResolvedTables, quote: (id: string) => string, metadataType: 'JSONB' | 'TEXT'): string[] {
  const { S, MD, OPS, updatedIndex } = extensionNames(tables, quote);
  return [
    `CREATE TABLE IF NOT EXISTS ${MD} (` +
      `session_id VARCHAR NOT NULL PRIMARY KEY REFERENCES ${S} (session_id) ON DELETE CASCADE, ` +
      `metadata ${metadataType} NOT NULL, ` +
      `updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
    `CREATE TABLE IF NOT EXISTS ${OPS} (` +
      `session_id VARCHAR NOT NULL REFERENCES ${S} (session_id) ON DELETE CASCADE, ` +
      `operation_id VARCHAR(255) NOT NULL, ` +
      `transaction_hash CHAR(64) NOT NULL, ` +
      `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ` +
      `PRIMARY KEY (session_id, operation_id))`,
    `CREATE INDEX IF NOT EXISTS ${quote(updatedIndex)} ON ${S} (updated_at, session_id)`,
  ];
}

/**
 * What the three dialects' management SQL shares: the listing query, the history-transaction
 * algorithm (written once as a generator of statements that each dialect runs in its own kind of
 * transaction), the probes. Subclasses give the expressions that differ.
 * @internal
 */
export abstract class ExtensionsBase implements SessionStoreExtensions {
  protected readonly S: string;
  protected readonly M: string;
  protected readonly MD: string;
  protected readonly OPS: string;
  protected readonly updatedIndex: string;

  protected constructor(
    protected readonly tables: ResolvedTables,
    protected readonly quote: (id: string) => string,
    protected readonly p: (n: number) => string,
  ) {
    const n = extensionNames(tables, quote);
    this.S = n.S;
    this.M = n.M;
    this.MD = n.MD;
    this.OPS = n.OPS;
    this.updatedIndex = n.updatedIndex;
  }

  abstract readonly ddl: string[];
  abstract createTables(): Promise<void>;
  abstract purgeBatch(idleForMs: number, batchSize: number, tables: ExtensionTables): Promise<string[]>;
  abstract writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void>;
  abstract applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome>;

  /** Runs one statement on the pool and returns its rows. */
  protected abstract select<T>(sql: string, params: unknown[]): Promise<T[]>;
  /** Full-precision text of a timestamp column (the cursor key). */
  protected abstract timeKey(column: string): string;
  /** A placeholder holding a time key, comparable to the timestamp columns. */
  protected abstract timeKeyParam(placeholder: string): string;
  /** Epoch milliseconds of a timestamp column. */
  protected abstract epochMs(column: string): string;
  /** A placeholder holding epoch milliseconds, comparable to the timestamp columns. */
  protected abstract epochMsParam(placeholder: string): string;
  /** The value bound to an `epochMsParam` placeholder. */
  protected epochMsValue(ms: number): unknown {
    return ms;
  }
  /** `md.metadata`'s top-level `key` equals the JSON value bound to `jsonPlaceholder`. */
  protected abstract metadataEquals(keyPlaceholder: string, jsonPlaceholder: string): string;
  /** The value bound to a `metadataEquals` key placeholder. */
  protected metadataKeyValue(key: string): unknown {
    return `$."${key}"`;
  }
  /** SQL that appends `data` to a conversation whose session row exists. */
  protected abstract insertSteps(sessionId: string, data: string[]): SqlStep[];
  /** SQL that deletes message rows by id. */
  protected abstract deleteIdsStep(ids: (number | string)[]): SqlStep;
  /** `UPDATE ... SET updated_at = now` for one conversation. */
  protected abstract touchSql(): string;

  async probe(): Promise<ExtensionTables> {
    const exists = async (sql: string) =>
      this.select(sql, []).then(
        () => true,
        () => false,
      );
    return {
      metadata: await exists(`SELECT session_id, metadata FROM ${this.MD} WHERE 1 = 0`),
      operations: await exists(`SELECT session_id, operation_id, transaction_hash FROM ${this.OPS} WHERE 1 = 0`),
    };
  }

  list(q: SessionListQuery, tables: ExtensionTables): Promise<ListedSessionRow[]> {
    const params: unknown[] = [];
    const bind = (v: unknown) => {
      params.push(v);
      return this.p(params.length);
    };
    const cmp = q.order === 'desc' ? '<' : '>';
    const dir = q.order === 'desc' ? 'DESC' : 'ASC';
    const columns = [
      's.session_id AS session_id',
      `${this.epochMs('s.created_at')} AS created_ms`,
      `${this.epochMs('s.updated_at')} AS updated_ms`,
      `${this.timeKey('s.updated_at')} AS time_key`,
    ];
    if (tables.metadata) columns.push('md.metadata AS metadata');
    if (q.includeItemCount) columns.push(`(SELECT COUNT(*) FROM ${this.M} m WHERE m.session_id = s.session_id) AS item_count`);
    let sql = `SELECT ${columns.join(', ')} FROM ${this.S} s`;
    if (tables.metadata) sql += ` ${q.metadata.length > 0 ? 'JOIN' : 'LEFT JOIN'} ${this.MD} md ON md.session_id = s.session_id`;
    const where: string[] = [];
    if (q.after) {
      const k1 = this.timeKeyParam(bind(q.after.key));
      const k2 = this.timeKeyParam(bind(q.after.key));
      where.push(`(s.updated_at ${cmp} ${k1} OR (s.updated_at = ${k2} AND s.session_id ${cmp} ${bind(q.after.id)}))`);
    }
    if (q.updatedBeforeMs !== undefined) where.push(`s.updated_at < ${this.epochMsParam(bind(this.epochMsValue(q.updatedBeforeMs)))}`);
    if (q.updatedAfterMs !== undefined) where.push(`s.updated_at > ${this.epochMsParam(bind(this.epochMsValue(q.updatedAfterMs)))}`);
    if (q.sessionId !== undefined) where.push(`s.session_id = ${bind(q.sessionId)}`);
    for (const c of q.metadata) where.push(this.metadataEquals(bind(this.metadataKeyValue(c.key)), bind(c.json)));
    if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
    sql += ` ORDER BY s.updated_at ${dir}, s.session_id ${dir} LIMIT ${bind(q.limit)}`;
    return this.select<ListedSessionRow>(sql, params);
  }

  async readMetadata(sessionId: string): Promise<unknown> {
    const rows = await this.select<{ metadata: unknown }>(`SELECT metadata FROM ${this.MD} WHERE session_id = ${this.p(1)}`, [sessionId]);
    return rows[0]?.metadata;
  }

  /**
   * The history-transaction algorithm, for a transaction that already holds the conversation's
   * session-row lock: check the operation log, check and delete the expected suffix, append, touch,
   * record the operation. It yields statements and receives their rows; it writes nothing unless the
   * outcome is `applied`.
   */
  protected *historySteps(sessionId: string, plan: HistoryPlan): Generator<SqlStep, HistoryOutcome, any[]> {
    const p = this.p;
    const existing = yield {
      sql: `SELECT transaction_hash FROM ${this.OPS} WHERE session_id = ${p(1)} AND operation_id = ${p(2)}`,
      params: [sessionId, plan.operationId],
      select: true,
    };
    if (existing.length > 0) return String(existing[0].transaction_hash).trim() === plan.hash ? { status: 'replayed' } : { status: 'conflict' };
    let removed: StoredRow[] = [];
    if (plan.replace && plan.replace.count > 0) {
      const rows: StoredRow[] = yield {
        sql: `SELECT id, message_data FROM ${this.M} WHERE session_id = ${p(1)} ORDER BY id DESC LIMIT ${p(2)}${this.lockRowsSuffix()}`,
        params: [sessionId, plan.replace.count],
        select: true,
      };
      if (rows.length !== plan.replace.count || !plan.replace.matches(rows)) return { status: 'mismatch' };
      yield this.deleteIdsStep(rows.map((r) => r.id));
      removed = rows;
    }
    if (plan.append.length > 0) for (const step of this.insertSteps(sessionId, plan.append)) yield step;
    yield { sql: this.touchSql(), params: [sessionId], select: false };
    yield {
      sql: `INSERT INTO ${this.OPS} (session_id, operation_id, transaction_hash) VALUES (${p(1)}, ${p(2)}, ${p(3)})`,
      params: [sessionId, plan.operationId, plan.hash],
      select: false,
    };
    return { status: 'applied', removed };
  }

  /** ` FOR UPDATE` where the dialect locks rows it reads in a transaction. */
  protected lockRowsSuffix(): string {
    return ' FOR UPDATE';
  }

  /** Drives `historySteps` with an async statement runner. */
  protected async runHistorySteps(
    sessionId: string,
    plan: HistoryPlan,
    exec: (step: SqlStep) => Promise<any[]>,
  ): Promise<HistoryOutcome> {
    const steps = this.historySteps(sessionId, plan);
    let next = steps.next([]);
    while (!next.done) next = steps.next(await exec(next.value));
    return next.value;
  }
}
