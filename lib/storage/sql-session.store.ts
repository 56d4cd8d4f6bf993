import { SessionMemoryConfigurationError } from '../exceptions';
import { SESSION_MEMORY } from '../exceptions/message-prefix';
import type {
  HistoryOutcome,
  HistoryPlan,
  ItemRewrite,
  PopDecision,
  PopOptions,
  PopOutcome,
  ListedSessionRow,
  NotificationChannel,
  OptionalTables,
  ReplaceOutcome,
  ResolvedTables,
  SessionListQuery,
  SessionStore,
  SessionStoreDialect,
  StoredRow,
  OwnerFilter,
  Ownership,
} from './session-store';
import { QuoteIdentifier, TableNames, tableNames } from './table-names';

/** One statement of a multi-statement operation; `returnsRows` for the ones whose rows are used. @internal */
export interface SqlStep {
  sql: string;
  params: unknown[];
  returnsRows: boolean;
}

/**
 * Selects the rows of one conversation, as `WHERE ${sessionIdRange(a, b)} ${NEWEST_FIRST} LIMIT n`
 * (or `${OLDEST_FIRST}` for the whole history), with the conversation id bound to both placeholders.
 * (Not on Citus, see `SqlSyntax.pinSessionId`: there the plain equality is what routes a statement
 * to one shard, and the `(session_id, id)` primary key is the only id-ordered index.)
 *
 * The plain `WHERE session_id = ? ORDER BY id DESC LIMIT n` lets PostgreSQL, MariaDB and SQLite (after
 * ANALYZE) walk the primary key and filter on session_id whenever the statistics say the conversation
 * is a large share of the table; that reads every newer row of every other conversation first
 * (14-35 ms at 100,000 rows, growing with the table, worst for an old conversation). Written as a
 * range, session_id stays in the ORDER BY, which only the (session_id, id) index delivers, so a read
 * of n items touches n index entries. Same rows: under any collation a = b exactly when a <= b and a >= b.
 * @internal
 */
export function sessionIdRange(low: string, high: string): string {
  return `session_id >= ${low} AND session_id <= ${high}`;
}

/** Newest first, in the order of the (session_id, id) index (see `sessionIdRange`). @internal */
export const NEWEST_FIRST = 'ORDER BY session_id DESC, id DESC';

/** Oldest first, in the order of the (session_id, id) index (see `sessionIdRange`). @internal */
export const OLDEST_FIRST = 'ORDER BY session_id, id';

/**
 * A multi-statement operation, written once for every dialect: a generator that yields statements
 * and receives their rows. `runLocked` runs it inside a transaction holding the conversation's
 * session-row lock; it is called again for each attempt (MySQL retries deadlocks).
 * @internal
 */
export type LockedProgram<T> = () => Generator<SqlStep, T, unknown[]>;

/** How `runLocked` treats a conversation without a session row, and when it commits. @internal */
export interface LockedOptions<T> {
  /** Answers without running the program (or writing anything) when the session row is missing. Default: create it and run. */
  ifMissing?: () => T;
  /** Commits only when this is true of the program's result (default: always); rolls back otherwise. */
  keep?: (result: T) => boolean;
}

/** Drives a statement program with a synchronous or asynchronous statement runner. @internal */
export function driveProgram<T>(program: Generator<SqlStep, T, unknown[]>, exec: (step: SqlStep) => unknown[]): T;
export function driveProgram<T>(
  program: Generator<SqlStep, T, unknown[]>,
  exec: (step: SqlStep) => Promise<unknown[]>,
): Promise<T>;
export function driveProgram<T>(
  program: Generator<SqlStep, T, unknown[]>,
  exec: (step: SqlStep) => unknown[] | Promise<unknown[]>,
): T | Promise<T> {
  let next = program.next([]);
  while (!next.done) {
    const rows = exec(next.value);
    if (rows instanceof Promise) return continueAsync(program, rows, exec);
    next = program.next(rows);
  }
  return next.value;
}

async function continueAsync<T>(
  program: Generator<SqlStep, T, unknown[]>,
  pending: Promise<unknown[]>,
  exec: (step: SqlStep) => unknown[] | Promise<unknown[]>,
): Promise<T> {
  let next = program.next(await pending);
  while (!next.done) next = program.next(await exec(next.value));
  return next.value;
}

/** How a dialect writes its placeholders and quotes its identifiers. @internal */
export interface SqlSyntax {
  quote: QuoteIdentifier;
  /** The n-th (1-based) placeholder: `$n` or `?`. */
  placeholder(n: number): string;
  /** The placeholder of a conversation id in reads and pops (default: `placeholder`). */
  sessionPlaceholder?(n: number): string;
  /**
   * Citus: every per-conversation statement pins `session_id` by equality (`session_id = $1`, never
   * the `sessionIdRange` form, which Citus cannot route to one shard), including the statements that
   * name rows by id. Default: false.
   */
  pinSessionId?: boolean;
}

/**
 * What the three dialect stores share: the table names, the reads, the listing query, the probes and
 * the history-transaction algorithm (written once as a generator of statements that each dialect runs
 * in its own kind of transaction). Each subclass holds the SQL that differs and runs it on its
 * connection (`<dialect>.connection.ts`).
 * @internal
 */
export abstract class SqlSessionStore implements SessionStore {
  abstract readonly dialect: SessionStoreDialect;
  readonly notifications?: NotificationChannel;
  protected readonly names: TableNames;
  private readonly placeholder: (n: number) => string;
  /** Whether statements pin session_id by equality (Citus; see `SqlSyntax.pinSessionId`). */
  protected readonly pinSessionId: boolean;
  /** `WHERE` of the rows of one conversation in reads and pops: its conversation-id parameters come first. */
  private readonly oneSession: { where: string; params: number };
  private readonly reads: {
    all: string;
    newest: string;
    newestBefore: string;
    allData: string;
    newestData: string;
  };

  protected constructor(
    protected readonly tables: ResolvedTables,
    syntax: SqlSyntax,
  ) {
    this.names = tableNames(tables, syntax.quote);
    this.placeholder = syntax.placeholder;
    const param = syntax.placeholder;
    const sessionParam = syntax.sessionPlaceholder ?? param;
    this.pinSessionId = syntax.pinSessionId === true;
    this.oneSession = this.pinSessionId
      ? { where: `session_id = ${sessionParam(1)}`, params: 1 }
      : { where: sessionIdRange(sessionParam(1), sessionParam(2)), params: 2 };
    const { where, params: k } = this.oneSession;
    const { messages } = this.names;
    this.reads = {
      all: `SELECT id, message_data FROM ${messages} WHERE ${where} ${OLDEST_FIRST}`,
      newest: `SELECT id, message_data FROM ${messages} WHERE ${where} ${NEWEST_FIRST} LIMIT ${param(k + 1)}`,
      newestBefore: `SELECT id, message_data FROM ${messages} WHERE ${where} AND id < ${param(k + 1)} ${NEWEST_FIRST} LIMIT ${param(k + 2)}`,
      allData: `SELECT message_data FROM ${messages} WHERE ${where} ${OLDEST_FIRST}`,
      newestData: `SELECT message_data FROM ${messages} WHERE ${where} ${NEWEST_FIRST} LIMIT ${param(k + 1)}`,
    };
  }

  // ---- what each dialect supplies --------------------------------------------------------------

  /** Runs one statement outside any transaction and returns its rows (none for a write). */
  protected abstract query<T>(sql: string, params: unknown[]): Promise<T[]>;
  /** Full-precision text of a timestamp column (the cursor key). */
  protected abstract timeKey(column: string): string;
  /** A placeholder holding a time key, comparable to the timestamp columns. */
  protected abstract timeKeyParam(placeholder: string): string;
  /** Epoch milliseconds of a timestamp column. */
  protected abstract epochMs(column: string): string;
  /** A placeholder holding epoch milliseconds, comparable to the timestamp columns. */
  protected abstract epochMsParam(placeholder: string): string;
  /** `md.metadata`'s top-level key bound to `keyPlaceholder` equals the JSON value bound to `jsonPlaceholder`. */
  protected abstract metadataEquals(keyPlaceholder: string, jsonPlaceholder: string): string;
  /** Statements appending `data` to a conversation whose session row exists. */
  protected abstract insertMessages(sessionId: string, data: string[]): SqlStep[];
  /** The statement deleting message rows of the conversation by id. */
  protected abstract deleteMessageIds(sessionId: string, ids: (number | string)[]): SqlStep;
  /** `UPDATE sessions SET updated_at = now WHERE session_id = <first placeholder>`. */
  protected abstract readonly touchSession: string;

  /** The value bound to an `epochMsParam` placeholder. */
  protected epochMsValue(ms: number): unknown {
    return ms;
  }
  /** The value bound to a `metadataEquals` key placeholder (a JSON path by default). */
  protected metadataKeyValue(key: string): unknown {
    return `$."${key}"`;
  }
  /** ` FOR UPDATE` where the dialect locks the rows a transaction reads. */
  protected get lockRowsSuffix(): string {
    return ' FOR UPDATE';
  }

  /**
   * Runs `program` in one transaction that holds the conversation's session-row lock (taken first,
   * the lock order of every writer), creating the row if it is missing unless `options.ifMissing`
   * answers instead.
   */
  protected abstract runLocked<T>(sessionId: string, program: LockedProgram<T>, options?: LockedOptions<T>): Promise<T>;

  abstract createTables(): Promise<void>;
  abstract append(sessionId: string, data: string[]): Promise<void>;
  abstract deleteConversation(sessionId: string): Promise<boolean>;
  abstract purgeIdle(idleForMs: number, batchSize: number, tables: OptionalTables): Promise<string[]>;
  abstract writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void>;

  // ---- shared ----------------------------------------------------------------------------------

  /** Runs one statement selecting only `message_data` and returns those texts. */
  protected async queryData(sql: string, params: unknown[]): Promise<string[]> {
    const rows = await this.query<{ message_data: string }>(sql, params);
    const out = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rows[i].message_data;
    return out;
  }

  /** The values of the `oneSession` placeholders, then `rest`. */
  private sessionArgs(sessionId: string, ...rest: unknown[]): unknown[] {
    return this.oneSession.params === 1 ? [sessionId, ...rest] : [sessionId, sessionId, ...rest];
  }

  readAllData(sessionId: string, filter?: OwnerFilter): Promise<string[]> {
    if (filter) return this.queryData(this.ownedReads(filter).allData, this.ownedArgs(sessionId, filter));
    return this.queryData(this.reads.allData, this.sessionArgs(sessionId));
  }

  readNewestData(sessionId: string, limit: number, filter?: OwnerFilter): Promise<string[]> {
    if (filter) return this.queryData(this.ownedReads(filter).newestData, this.ownedArgs(sessionId, filter, limit));
    return this.queryData(this.reads.newestData, this.sessionArgs(sessionId, limit));
  }

  readAll(sessionId: string, filter?: OwnerFilter): Promise<StoredRow[]> {
    if (filter) return this.query<StoredRow>(this.ownedReads(filter).all, this.ownedArgs(sessionId, filter));
    return this.query<StoredRow>(this.reads.all, this.sessionArgs(sessionId));
  }

  readNewest(sessionId: string, limit: number, beforeId?: number | string, filter?: OwnerFilter): Promise<StoredRow[]> {
    const reads = filter ? this.ownedReads(filter) : this.reads;
    const args = (...rest: unknown[]) =>
      filter ? this.ownedArgs(sessionId, filter, ...rest) : this.sessionArgs(sessionId, ...rest);
    return beforeId === undefined
      ? this.query<StoredRow>(reads.newest, args(limit))
      : this.query<StoredRow>(reads.newestBefore, args(beforeId, limit));
  }

  async verifyTables(): Promise<void> {
    const { sessions, messages } = this.names;
    const probes: [string, string][] = [
      [sessions, `SELECT session_id, created_at, updated_at FROM ${sessions} WHERE 1 = 0`],
      [messages, `SELECT id, session_id, message_data, created_at FROM ${messages} WHERE 1 = 0`],
    ];
    for (const [table, probe] of probes) {
      try {
        await this.query(probe, []);
      } catch (err) {
        throw new SessionMemoryConfigurationError(
          `${SESSION_MEMORY}: cannot use table ${table} (${(err as Error).message}). ` +
            'Create the tables: set `createTables: true` in SessionMemoryModule options, or run the migration from ' +
            '`createSessionMemoryMigration()` (see README, "Production schema"), or point `tables` at existing tables.',
          { cause: err },
        );
      }
    }
  }

  async probeOptionalTables(): Promise<OptionalTables> {
    const exists = (sql: string) =>
      this.query(sql, []).then(
        () => true,
        () => false,
      );
    const { metadata, operations, owners } = this.names;
    return {
      metadata: await exists(`SELECT session_id, metadata FROM ${metadata} WHERE 1 = 0`),
      operations: await exists(`SELECT session_id, operation_id, transaction_hash FROM ${operations} WHERE 1 = 0`),
      owners: await exists(`SELECT session_id, owner FROM ${owners} WHERE 1 = 0`),
    };
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', []);
  }

  listSessions(q: SessionListQuery, tables: OptionalTables): Promise<ListedSessionRow[]> {
    const params: unknown[] = [];
    const bind = (value: unknown) => {
      params.push(value);
      return this.placeholder(params.length);
    };
    const { sessions, messages, metadata } = this.names;
    const cmp = q.order === 'desc' ? '<' : '>';
    const dir = q.order === 'desc' ? 'DESC' : 'ASC';
    const columns = [
      's.session_id AS session_id',
      `${this.epochMs('s.created_at')} AS created_ms`,
      `${this.epochMs('s.updated_at')} AS updated_ms`,
      `${this.timeKey('s.updated_at')} AS time_key`,
    ];
    if (tables.metadata) columns.push('md.metadata AS metadata');
    if (q.includeItemCount) {
      // Pinned to the one conversation when there is one, so that Citus routes the count with the rest.
      const count = this.pinSessionId && q.sessionId !== undefined ? bind(q.sessionId) : 's.session_id';
      columns.push(`(SELECT COUNT(*) FROM ${messages} m WHERE m.session_id = ${count}) AS item_count`);
    }
    let sql = `SELECT ${columns.join(', ')} FROM ${sessions} s`;
    if (tables.metadata)
      sql += ` ${q.metadata.length > 0 ? 'JOIN' : 'LEFT JOIN'} ${metadata} md ON md.session_id = s.session_id`;
    if (q.owner !== undefined)
      sql += ` JOIN ${this.names.owners} ow ON ow.session_id = s.session_id AND ${this.ownerMatches('ow.owner', () => bind(q.owner))}`;
    const where: string[] = [];
    if (q.after) {
      const key1 = this.timeKeyParam(bind(q.after.key));
      const key2 = this.timeKeyParam(bind(q.after.key));
      where.push(
        `(s.updated_at ${cmp} ${key1} OR (s.updated_at = ${key2} AND s.session_id ${cmp} ${bind(q.after.id)}))`,
      );
    }
    if (q.updatedBeforeMs !== undefined)
      where.push(`s.updated_at < ${this.epochMsParam(bind(this.epochMsValue(q.updatedBeforeMs)))}`);
    if (q.updatedAfterMs !== undefined)
      where.push(`s.updated_at > ${this.epochMsParam(bind(this.epochMsValue(q.updatedAfterMs)))}`);
    if (q.sessionId !== undefined) where.push(`s.session_id = ${bind(q.sessionId)}`);
    if (q.sessionId !== undefined && q.visibleTo) {
      const { sessionId, visibleTo } = q;
      const bindId = () => bind(sessionId);
      where.push(this.ownerCondition(visibleTo.unowned, bindId, () => bind(visibleTo.owner)));
    }
    for (const c of q.metadata) where.push(this.metadataEquals(bind(this.metadataKeyValue(c.key)), bind(c.json)));
    if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
    sql += ` ORDER BY s.updated_at ${dir}, s.session_id ${dir} LIMIT ${bind(q.limit)}`;
    return this.query<ListedSessionRow>(sql, params);
  }

  scanRows(afterId: number | string, limit: number): Promise<(StoredRow & { session_id: string })[]> {
    const param = this.placeholder;
    return this.query(
      `SELECT id, session_id, message_data FROM ${this.names.messages} WHERE id > ${param(1)} ORDER BY id LIMIT ${param(2)}`,
      [afterId, limit],
    );
  }

  async swapRowText(id: number | string, expected: string, next: string): Promise<boolean> {
    return this.swapRow(
      `UPDATE ${this.names.messages} SET message_data = ${this.placeholder(1)} WHERE id = ${this.placeholder(2)} AND message_data = ${this.placeholder(3)}`,
      [next, id, expected],
    );
  }

  /** Runs an UPDATE and tells whether it changed a row. */
  protected abstract swapRow(sql: string, params: unknown[]): Promise<boolean>;

  // ---- ownership (the rule is lib/ownership/owner-check.ts; this is its SQL) ------------------------

  /**
   * An owner comparison, byte for byte: `column` equals the caller bound by `bindOwner` (called once
   * per placeholder it needs). Plain `=` where the column's collation is deterministic (PostgreSQL,
   * SQLite's BINARY); MySQL overrides it (PAD SPACE collations).
   */
  protected ownerMatches(column: string, bindOwner: () => string): string {
    return `${column} = ${bindOwner()}`;
  }

  /**
   * The condition that the caller may read the conversation: nobody else owns it (`readable`), or the
   * caller owns it (`hidden`: a conversation nobody owns is not readable). The owners row is looked
   * up by the conversation id bound by `bindId` (`$1` on PostgreSQL, so that Citus routes the
   * statement to the conversation's shard).
   */
  protected ownerCondition(unowned: OwnerFilter['unowned'], bindId: () => string, bindOwner: () => string): string {
    const id = bindId();
    const sub = `SELECT 1 FROM ${this.names.owners} o WHERE o.session_id = ${id} AND `;
    return unowned === 'readable'
      ? `NOT EXISTS (${sub}NOT (${this.ownerMatches('o.owner', bindOwner)}))`
      : `EXISTS (${sub}${this.ownerMatches('o.owner', bindOwner)})`;
  }

  /**
   * The condition of an owner-checked statement whose own first `taken` placeholders are bound, and
   * what its placeholders hold, in order (numbered placeholders reuse `$1` for the id).
   */
  private ownedCondition(unowned: OwnerFilter['unowned'], taken: number): { sql: string; roles: ('id' | 'owner')[] } {
    const roles: ('id' | 'owner')[] = [];
    let n = taken;
    const numbered = this.placeholder(1) !== this.placeholder(2);
    const bindId = () => {
      if (numbered) return this.placeholder(1);
      roles.push('id');
      return this.placeholder(++n);
    };
    const bindOwner = () => {
      roles.push('owner');
      return this.placeholder(++n);
    };
    return { sql: this.ownerCondition(unowned, bindId, bindOwner), roles };
  }

  private readonly ownedReadCache = new Map<string, { sql: SqlSessionStore['reads']; roles: ('id' | 'owner')[] }>();

  /** The reads of `reads`, each carrying the owner condition (after the conversation's own placeholders). */
  private ownedReads(filter: OwnerFilter): SqlSessionStore['reads'] {
    return this.ownedReadsOf(filter.unowned).sql;
  }

  private ownedReadsOf(unowned: OwnerFilter['unowned']): { sql: SqlSessionStore['reads']; roles: ('id' | 'owner')[] } {
    let found = this.ownedReadCache.get(unowned);
    if (found) return found;
    const { where: own, params: k } = this.oneSession;
    const { sql: condition, roles } = this.ownedCondition(unowned, k);
    const where = `${own} AND ${condition}`;
    const param = this.placeholder;
    const c = k + roles.length;
    const { messages } = this.names;
    found = {
      roles,
      sql: {
        all: `SELECT id, message_data FROM ${messages} WHERE ${where} ${OLDEST_FIRST}`,
        newest: `SELECT id, message_data FROM ${messages} WHERE ${where} ${NEWEST_FIRST} LIMIT ${param(c + 1)}`,
        newestBefore: `SELECT id, message_data FROM ${messages} WHERE ${where} AND id < ${param(c + 1)} ${NEWEST_FIRST} LIMIT ${param(c + 2)}`,
        allData: `SELECT message_data FROM ${messages} WHERE ${where} ${OLDEST_FIRST}`,
        newestData: `SELECT message_data FROM ${messages} WHERE ${where} ${NEWEST_FIRST} LIMIT ${param(c + 1)}`,
      },
    };
    this.ownedReadCache.set(unowned, found);
    return found;
  }

  /** The values of an owned read: the conversation's, the owner condition's, then `rest`. */
  private ownedArgs(sessionId: string, filter: OwnerFilter, ...rest: unknown[]): unknown[] {
    const { roles } = this.ownedReadsOf(filter.unowned);
    return this.sessionArgs(sessionId, ...roles.map((r) => (r === 'id' ? sessionId : filter.owner)), ...rest);
  }

  async readOwnership(sessionId: string): Promise<Ownership> {
    const { sessions, owners } = this.names;
    const param = this.placeholder;
    const numbered = param(1) !== param(2);
    // Both tables pinned to the id (Citus routes the join to the conversation's shard).
    const rows = await this.query<{ owner: string | null }>(
      `SELECT o.owner AS owner FROM ${sessions} s LEFT JOIN ${owners} o ON o.session_id = s.session_id ` +
        `AND o.session_id = ${param(1)} WHERE s.session_id = ${numbered ? param(1) : param(2)}`,
      [sessionId, sessionId].slice(0, numbered ? 1 : 2),
    );
    if (rows.length === 0) return { exists: false };
    const owner = rows[0].owner;
    return owner === null || owner === undefined ? { exists: true } : { exists: true, owner };
  }

  claimOwner(sessionId: string, owner: string, create: boolean): Promise<string | undefined> {
    return this.runLocked(
      sessionId,
      () => this.claimSteps(sessionId, owner),
      create ? {} : { ifMissing: () => undefined },
    );
  }

  private *claimSteps(sessionId: string, owner: string): Generator<SqlStep, string, unknown[]> {
    const param = this.placeholder;
    const { owners } = this.names;
    const [found] = (yield {
      sql: `SELECT owner FROM ${owners} WHERE session_id = ${param(1)}`,
      params: [sessionId],
      returnsRows: true,
    }) as { owner: string }[];
    if (found) return found.owner;
    yield {
      sql: `INSERT INTO ${owners} (session_id, owner) VALUES (${param(1)}, ${param(2)})`,
      params: [sessionId, owner],
      returnsRows: false,
    };
    return owner;
  }

  assignOwner(sessionId: string, owner: string): Promise<boolean> {
    return this.runLocked(sessionId, () => this.assignSteps(sessionId, owner), { ifMissing: () => false });
  }

  private *assignSteps(sessionId: string, owner: string): Generator<SqlStep, boolean, unknown[]> {
    const param = this.placeholder;
    const { owners } = this.names;
    const found = (yield {
      sql: `SELECT owner FROM ${owners} WHERE session_id = ${param(1)}`,
      params: [sessionId],
      returnsRows: true,
    }) as { owner: string }[];
    yield found.length > 0
      ? {
          sql: `UPDATE ${owners} SET owner = ${param(1)} WHERE session_id = ${param(2)}`,
          params: [owner, sessionId],
          returnsRows: false,
        }
      : {
          sql: `INSERT INTO ${owners} (session_id, owner) VALUES (${param(1)}, ${param(2)})`,
          params: [sessionId, owner],
          returnsRows: false,
        };
    return true;
  }

  async readMetadata(sessionId: string, filter?: OwnerFilter): Promise<unknown> {
    const select = `SELECT metadata FROM ${this.names.metadata} WHERE session_id = ${this.placeholder(1)}`;
    if (filter) {
      const { sql, roles } = this.ownedCondition(filter.unowned, 1);
      const values = roles.map((r) => (r === 'id' ? sessionId : filter.owner));
      const owned = await this.query<{ metadata: unknown }>(`${select} AND ${sql}`, [sessionId, ...values]);
      return owned[0]?.metadata;
    }
    const rows = await this.query<{ metadata: unknown }>(select, [sessionId]);
    return rows[0]?.metadata;
  }

  // ---- multi-statement operations, one program each for every dialect ---------------------------

  applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome> {
    const inserts = plan.append.length > 0 ? this.insertMessages(sessionId, plan.append) : []; // refused here, before any I/O
    return this.runLocked(sessionId, () => this.historySteps(sessionId, plan, inserts), {
      keep: isApplied,
      // No session row: nothing to replay or to replace (an append creates it).
      ifMissing: plan.replace && plan.replace.count > 0 ? () => ({ status: 'mismatch' }) : undefined,
    });
  }

  replaceItems(sessionId: string, data: string[], keep: (rows: StoredRow[]) => string[]): Promise<ReplaceOutcome> {
    const inserts = data.length > 0 ? this.insertMessages(sessionId, data) : []; // refused here, before any I/O
    return this.runLocked(sessionId, () => this.replaceSteps(sessionId, data, inserts, keep));
  }

  rewriteItems(
    sessionId: string,
    rewrite: (rows: StoredRow[]) => ItemRewrite | undefined,
  ): Promise<ItemRewrite | undefined> {
    return this.runLocked(sessionId, () => this.rewriteSteps(sessionId, rewrite), {
      ifMissing: () => undefined,
      keep: (change) => change !== undefined,
    });
  }

  popNewest<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    _options?: PopOptions,
  ): Promise<PopOutcome<T>> {
    return this.runLocked(sessionId, () => this.popSteps(sessionId, decode), {
      ifMissing: () => ({ skipped: { count: 0 } }),
      keep: popCommits,
    });
  }

  clearItems(sessionId: string): Promise<void> {
    return this.runLocked(sessionId, () => this.clearSteps(sessionId), { ifMissing: () => undefined });
  }

  /** Every row of the conversation, oldest first, locked where the dialect locks rows. */
  private lockedRows(sessionId: string): SqlStep {
    return {
      sql: `SELECT id, message_data FROM ${this.names.messages} WHERE session_id = ${this.placeholder(1)} ORDER BY id${this.lockRowsSuffix}`,
      params: [sessionId],
      returnsRows: true,
    };
  }

  private deleteAllMessages(sessionId: string): SqlStep {
    return {
      sql: `DELETE FROM ${this.names.messages} WHERE session_id = ${this.placeholder(1)}`,
      params: [sessionId],
      returnsRows: false,
    };
  }

  private touch(sessionId: string): SqlStep {
    return { sql: this.touchSession, params: [sessionId], returnsRows: false };
  }

  /**
   * The history-transaction algorithm: check the operation log, check and delete the expected suffix,
   * append, touch, record the operation. It writes nothing unless the outcome is `applied` (the
   * caller rolls back otherwise).
   */
  protected *historySteps(
    sessionId: string,
    plan: HistoryPlan,
    inserts: SqlStep[],
  ): Generator<SqlStep, HistoryOutcome, unknown[]> {
    const param = this.placeholder;
    const { messages, operations } = this.names;
    const existing = (yield {
      sql: `SELECT transaction_hash FROM ${operations} WHERE session_id = ${param(1)} AND operation_id = ${param(2)}`,
      params: [sessionId, plan.operationId],
      returnsRows: true,
    }) as { transaction_hash: string }[];
    if (existing.length > 0) {
      return plan.accepts(String(existing[0].transaction_hash).trim())
        ? { status: 'replayed' }
        : { status: 'conflict' };
    }
    let removed: StoredRow[] = [];
    if (plan.replace && plan.replace.count > 0) {
      const rows = (yield {
        sql: `SELECT id, message_data FROM ${messages} WHERE session_id = ${param(1)} ORDER BY id DESC LIMIT ${param(2)}${this.lockRowsSuffix}`,
        params: [sessionId, plan.replace.count],
        returnsRows: true,
      }) as StoredRow[];
      if (rows.length !== plan.replace.count || !plan.replace.matches(rows)) return { status: 'mismatch' };
      yield this.deleteMessageIds(
        sessionId,
        rows.map((r) => r.id),
      );
      removed = rows;
    }
    yield* inserts;
    yield this.touch(sessionId);
    yield {
      sql: `INSERT INTO ${operations} (session_id, operation_id, transaction_hash) VALUES (${param(1)}, ${param(2)}, ${param(3)})`,
      params: [sessionId, plan.operationId, plan.hash],
      returnsRows: false,
    };
    return { status: 'applied', removed };
  }

  /** Compaction: every row out, `data` in, and the rows `keep` names back in after it. */
  private *replaceSteps(
    sessionId: string,
    data: string[],
    inserts: SqlStep[],
    keep: (rows: StoredRow[]) => string[],
  ): Generator<SqlStep, ReplaceOutcome, unknown[]> {
    const rows = (yield this.lockedRows(sessionId)) as StoredRow[];
    const kept = keep(rows);
    if (rows.length > 0) yield this.deleteAllMessages(sessionId);
    yield* kept.length > 0 ? this.insertMessages(sessionId, [...data, ...kept]) : inserts;
    yield this.touch(sessionId);
    return { removed: rows, kept };
  }

  private *rewriteSteps(
    sessionId: string,
    rewrite: (rows: StoredRow[]) => ItemRewrite | undefined,
  ): Generator<SqlStep, ItemRewrite | undefined, unknown[]> {
    const change = rewrite((yield this.lockedRows(sessionId)) as StoredRow[]);
    if (!change || (change.updates.length === 0 && change.deletes.length === 0)) return undefined;
    const param = this.placeholder;
    const update = this.pinSessionId
      ? `UPDATE ${this.names.messages} SET message_data = ${param(1)} WHERE session_id = ${param(3)} AND id = ${param(2)}`
      : `UPDATE ${this.names.messages} SET message_data = ${param(1)} WHERE id = ${param(2)}`;
    for (const { id, data } of change.updates) {
      yield { sql: update, params: this.pinSessionId ? [data, id, sessionId] : [data, id], returnsRows: false };
    }
    if (change.deletes.length > 0) yield this.deleteMessageIds(sessionId, change.deletes);
    yield this.touch(sessionId);
    return change;
  }

  /**
   * The newest row, or, when it is corrupt, the newest valid one below it: read newest first (one
   * row, then batches of up to `POP_BATCH_MAX`), deleting each corrupt batch and, finally, the valid
   * row with the corrupt ones above it in one statement. Under the session-row lock, so the newest
   * row is the newest committed one. A row `decode` keeps (no configured key opens it) ends the pop:
   * the rows to be kept down to the next valid one are counted and nothing is deleted (`popCommits`
   * rolls back what the earlier batches removed).
   */
  protected *popSteps<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    alreadySkipped: StoredRow[] = [],
  ): Generator<SqlStep, PopOutcome<T>, unknown[]> {
    const param = this.placeholder;
    const skipped = { count: 0 } as PopOutcome<T>['skipped'];
    const skip = (rows: StoredRow[]) => {
      if (rows.length === 0) return;
      skipped.newestId ??= rows[0].id;
      skipped.oldestId = rows[rows.length - 1].id;
      skipped.count += rows.length;
    };
    skip(alreadySkipped);
    const { where, params: k } = this.oneSession;
    const newest = `SELECT id, message_data FROM ${this.names.messages} WHERE ${where} ${NEWEST_FIRST} LIMIT ${param(k + 1)}${this.lockRowsSuffix}`;
    for (let batch = 1; ; batch = Math.min(batch * 10, POP_BATCH_MAX)) {
      const rows = (yield {
        sql: newest,
        params: this.sessionArgs(sessionId, batch),
        returnsRows: true,
      }) as StoredRow[];
      for (let i = 0; i < rows.length; i++) {
        const decision = decode(rows[i].message_data);
        if (decision === 'skip') continue;
        if (decision === 'keep') {
          return { skipped: { count: 0 }, unopenable: yield* this.countKept(sessionId, decode, rows, i) };
        }
        yield this.deleteMessageIds(
          sessionId,
          rows.slice(0, i + 1).map((r) => r.id),
        );
        skip(rows.slice(0, i));
        return { row: rows[i], value: decision.value, skipped };
      }
      if (rows.length > 0)
        yield this.deleteMessageIds(
          sessionId,
          rows.map((r) => r.id),
        );
      skip(rows);
      if (rows.length < batch) return { skipped };
    }
  }

  /**
   * A refused pop: the rows `decode` keeps from `rows[from]` down to the next valid row (or the
   * oldest), read in batches below the last one seen. Only counts: the caller rolls back.
   */
  private *countKept<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    rows: StoredRow[],
    from: number,
  ): Generator<SqlStep, number, unknown[]> {
    let kept = 0;
    let batch = rows;
    for (let i = from; ;) {
      for (; i < batch.length; i++) {
        const decision = decode(batch[i].message_data);
        if (decision === 'keep') kept++;
        else if (decision !== 'skip') return kept;
      }
      if (batch.length === 0) return kept;
      const before = batch[batch.length - 1].id;
      batch = (yield {
        sql: this.reads.newestBefore,
        params: this.sessionArgs(sessionId, before, POP_BATCH_MAX),
        returnsRows: true,
      }) as StoredRow[];
      i = 0;
    }
  }

  private *clearSteps(sessionId: string): Generator<SqlStep, void, unknown[]> {
    yield this.deleteAllMessages(sessionId);
    yield this.touch(sessionId);
  }
}

/** Most corrupt rows a pop reads and deletes in one statement. */
const POP_BATCH_MAX = 1000;

/** Whether a pop is to be committed: not when it was refused (rows no key opens stood first). @internal */
export const popCommits = (outcome: PopOutcome<unknown>): boolean => outcome.unopenable === undefined;

/** Whether a history outcome is to be committed. @internal */
export const isApplied = (outcome: HistoryOutcome): boolean => outcome.status === 'applied';
