import { mainIsCurrent, noBranches } from '../branches/branch-conditions';
import type { DialectSyntax } from '../dialect-syntax';
import { LockedOptions, LockedProgram, driveProgram } from '../program/statement-program';
import { NEWEST_FIRST, ReadSql, arraysToColumns } from '../session-reads';
import type {
  AppendOptions,
  PopDecision,
  PopOptions,
  PopOutcome,
  ResolvedTables,
  StoredColumns,
  StoredRow,
} from '../session-store';
import { SqlSessionStore } from '../sql-session.store';
import { PipelinedStatement, PostgresConnection } from './postgres.connection';
import { postgresSchemaDdl } from './postgres.ddl';
import { postgresSyntax } from './postgres.syntax';

/** Row ids as `RETURNING id` gives them (bigint texts), in ascending order: the order of the batch (ids follow `ORDER BY d.n`). */
function idsInOrder(rows: { id: string }[]): string[] {
  const ids = rows.map((r) => String(r.id));
  // Texts of whole numbers without leading zeros: shorter is smaller, then by character. Usually in order already.
  const before = (a: string, b: string) => a.length < b.length || (a.length === b.length && a < b);
  for (let i = 1; i < ids.length; i++)
    if (!before(ids[i - 1], ids[i])) return ids.sort((a, b) => (before(a, b) ? -1 : 1));
  return ids;
}

/**
 * PostgreSQL (one node): its connection and its one-statement writes. Appends, deletes, metadata
 * writes and purges are one statement each (one round trip, atomic by itself), built around the
 * session upsert that every writer of a conversation queues behind; the multi-statement operations
 * (history transactions, compactions, rewrites, pops, clears, claims) run as statement programs in a
 * transaction that locks the session row first. Statements are prepared once per connection.
 * (Citus: lib/storage/citus/, a thin subclass.)
 * @internal
 */
export class PostgresSessionStore extends SqlSessionStore {
  readonly dialect = 'postgres' as const;
  readonly notifications: PostgresConnection;
  private readonly sql: {
    append: string;
    /** `append` and `appendIfMainIsCurrent`, also returning the new rows' ids (`AppendOptions.rowIds`). */
    appendReturningIds: string;
    appendIfMainIsCurrentReturningIds: string;
    deleteConversation: string;
    purge: string;
    ensureSession: string;
    lockSession: string;
    /** `s AS (...)`: creates the session row or touches it, locking it; every writer of the conversation queues there. */
    upsertSession: string;
    /** The final part of an append: the texts of `$2`, in order, into the conversation of `s`. */
    insertFromUpsert: string;
    /** The delete-first pop's second statement (after `lockSession`): the newest row deleted, returning it. */
    popDelete: string;
    /** `append`, inserting only while main is the current branch. */
    appendIfMainIsCurrent: string;
    /** `popDelete`, deleting only while the conversation has no branch (`noBranches`). */
    popDeleteIfNoBranches: string;
  };
  /** The delete-first pop's statements, named once for the pipeline. */
  private readonly pop: {
    lock: PipelinedStatement;
    delete: PipelinedStatement;
    deleteIfNoBranches: PipelinedStatement;
  };

  /** @param syntax the dialect's part of the shared SQL (Citus passes its own). */
  constructor(
    protected readonly connection: PostgresConnection,
    tables: ResolvedTables,
    syntax: DialectSyntax = postgresSyntax,
  ) {
    super(tables, syntax);
    this.notifications = connection;
    const { sessions, messages } = this.names;
    const upsertSession =
      `s AS (INSERT INTO ${sessions} (session_id) VALUES ($1) ` +
      `ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP RETURNING session_id)`;
    // The ORDER BY keeps the batch's order, so each batch gets consecutive ids in order.
    const insertFromUpsert =
      `INSERT INTO ${messages} (session_id, message_data) ` +
      `SELECT s.session_id, d.data FROM s CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS d(data, n) ORDER BY d.n`;
    this.sql = {
      append: `WITH ${upsertSession} ${insertFromUpsert}`,
      appendIfMainIsCurrent:
        `WITH ${upsertSession} ${insertFromUpsert.replace(' ORDER BY d.n', '')} ` +
        `WHERE ${mainIsCurrent(this.names, '$1')} ORDER BY d.n`,
      // The optional tables go by their foreign keys' ON DELETE CASCADE.
      deleteConversation: `WITH m AS (DELETE FROM ${messages} WHERE session_id = $1) DELETE FROM ${sessions} WHERE session_id = $1`,
      // SKIP LOCKED: a conversation being written right now is left for the next run; the row lock and
      // the re-checked `updated_at` mean a conversation touched meanwhile is never deleted.
      purge:
        `WITH victims AS (SELECT session_id FROM ${sessions} ` +
        `WHERE updated_at < LOCALTIMESTAMP - ($1::float8 * interval '1 millisecond') ` +
        `ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED), ` +
        `m AS (DELETE FROM ${messages} WHERE session_id IN (SELECT session_id FROM victims)) ` +
        `DELETE FROM ${sessions} WHERE session_id IN (SELECT session_id FROM victims) RETURNING session_id`,
      ensureSession: `INSERT INTO ${sessions} (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING`,
      lockSession: `SELECT session_id FROM ${sessions} WHERE session_id = $1 FOR UPDATE`,
      upsertSession,
      insertFromUpsert,
      // Runs after lockSession, in the same transaction but as a statement of its own, so with a snapshot
      // of its own (READ COMMITTED), taken once the lock is held, after every writer that held it before
      // has committed: it sees their rows (docs/storage.md).
      popDelete:
        `DELETE FROM ${messages} WHERE ${syntax.pinSessionId ? 'session_id = $1 AND ' : ''}id = ` +
        `(SELECT id FROM ${messages} WHERE ${this.reads.where} ${NEWEST_FIRST} LIMIT 1) RETURNING id, message_data`,
      popDeleteIfNoBranches: '',
      appendReturningIds: '',
      appendIfMainIsCurrentReturningIds: '',
    };
    this.sql.appendReturningIds = `${this.sql.append} RETURNING id`;
    this.sql.appendIfMainIsCurrentReturningIds = `${this.sql.appendIfMainIsCurrent} RETURNING id`;
    this.sql.popDeleteIfNoBranches = this.sql.popDelete.replace(
      ' RETURNING id, message_data',
      ` AND ${noBranches(this.names, '$1')} RETURNING id, message_data`,
    );
    this.pop = {
      lock: connection.pipelined(this.sql.lockSession),
      delete: connection.pipelined(this.sql.popDelete),
      deleteIfNoBranches: connection.pipelined(this.sql.popDeleteIfNoBranches),
    };
  }

  /**
   * Without rows to keep (no encryption): one round trip, a pipeline of two prepared statements in one
   * implicit transaction (statement-pipeline.ts): the session row locked, then the newest row deleted and
   * returned. Only a corrupt newest row leads on to the batched pop. With rows to keep: the lock-first
   * transaction, which decides before it deletes (`SqlSessionStore.popNewest`).
   */
  async popNewest<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    options: PopOptions = {},
  ): Promise<PopOutcome<T>> {
    if (options.mayKeep) return super.popNewest(sessionId, decode, options);
    const guarded = this.branchesInUse;
    const { lock, delete: remove, deleteIfNoBranches } = this.pop;
    const newest = guarded ? deleteIfNoBranches : remove;
    const [found] = await this.connection.pipeline([
      { name: lock.name, text: lock.text, values: [sessionId] },
      { name: newest.name, text: newest.text, values: this.reads.args(sessionId) as string[] },
    ]);
    const row: StoredRow | undefined = found && { id: found[0] as string | number, message_data: found[1] as string };
    // Nothing: an empty conversation, or one with branches: the locked pop (freezes what they inherit first).
    if (guarded && !row) return super.popNewest(sessionId, decode, options);
    return this.finishDeleteFirstPop(sessionId, decode, row);
  }

  protected query<T>(text: string, values: unknown[]): Promise<T[]> {
    return this.connection.query<T>(text, values);
  }

  /** The whole read with rows as arrays (`rowMode: 'array'`): no object per row; ids as pg gives them. */
  protected async queryColumns(sql: ReadSql, params: unknown[]): Promise<StoredColumns> {
    return arraysToColumns(await this.connection.queryArrays(sql.all, params));
  }

  /** A pool's end waits for its checked-out connections: an abandoned ping gives its own up at once. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.connection.ping(signal);
  }

  async createTables(): Promise<void> {
    const ddl = postgresSchemaDdl(this.tables);
    await this.connection.runDdl([...ddl.createCoreTables, ...ddl.createOptionalTables, ddl.createUpdatedIndex]);
  }

  async append(sessionId: string, data: string[], options?: AppendOptions): Promise<boolean> {
    if (data.length === 0) return true;
    const conditional = options?.ifMainIsCurrent && this.branchesInUse;
    const sql = options?.rowIds
      ? conditional
        ? this.sql.appendIfMainIsCurrentReturningIds
        : this.sql.appendReturningIds
      : conditional
        ? this.sql.appendIfMainIsCurrent
        : this.sql.append;
    const result = await this.connection.execute(sql, [sessionId, data]);
    const appended = !conditional || (result.rowCount ?? 0) > 0;
    if (appended && options?.rowIds) options.rowIds(idsInOrder(result.rows as { id: string }[]));
    return appended;
  }

  protected async swapRow(sql: string, params: unknown[]): Promise<boolean> {
    return ((await this.connection.execute(sql, params)).rowCount ?? 0) > 0;
  }

  async deleteConversation(sessionId: string): Promise<boolean> {
    const result = await this.connection.execute(this.sql.deleteConversation, [sessionId]);
    return (result.rowCount ?? 0) > 0;
  }

  async purgeIdle(idleForMs: number, batchSize: number): Promise<string[]> {
    const rows = await this.connection.query<{ session_id: string }>(this.sql.purge, [idleForMs, batchSize]);
    return rows.map((r) => r.session_id);
  }

  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    const { metadata } = this.names;
    const writeMetadata =
      json === null
        ? `md AS (DELETE FROM ${metadata} WHERE session_id = (SELECT session_id FROM s))`
        : `md AS (INSERT INTO ${metadata} (session_id, metadata) SELECT session_id, $3::jsonb FROM s ` +
          `ON CONFLICT (session_id) DO UPDATE SET metadata = EXCLUDED.metadata, updated_at = CURRENT_TIMESTAMP)`;
    const params: unknown[] = [sessionId, items];
    if (json !== null) params.push(json);
    await this.connection.execute(
      `WITH ${this.sql.upsertSession}, ${writeMetadata} ${this.sql.insertFromUpsert}`,
      params,
    );
  }

  protected runLocked<T>(sessionId: string, program: LockedProgram<T>, options: LockedOptions<T> = {}): Promise<T> {
    return this.connection.transaction(async (tx) => {
      if ((await tx(this.sql.lockSession, [sessionId])).rows.length === 0) {
        if (options.ifMissing) return options.ifMissing();
        // Created here, or by a concurrent first writer (then DO NOTHING, and the lock waits for it).
        await tx(this.sql.ensureSession, [sessionId]);
        await tx(this.sql.lockSession, [sessionId]);
      }
      return driveProgram(program(), async (step) => (await tx(step.sql, step.params)).rows);
    }, options.keep);
  }
}
