import { LockedOptions, LockedProgram, SqlSessionStore, SqlStep, driveProgram } from '../sql-session.store';
import type { ResolvedTables } from '../session-store';
import { citusDistributionError } from './citus';
import { PostgresConnection, postgresPlaceholder, quotePostgres } from './postgres.connection';
import { postgresSchemaDdl } from './postgres.ddl';
import { inlinePostgresParameters } from './postgres.literals';

/** Citus: most rows of one multi-row `INSERT ... VALUES` (one parameter a row, far below the protocol's 65,535). */
const CITUS_INSERT_CHUNK = 1000;
/** Citus: most rounds of candidates one purge call reads when others hold some of them. */
const CITUS_PURGE_ROUNDS = 4;

/** `($1, $2), ($1, $3), ...`: `count` rows of the conversation `$1`, their texts from placeholder `$first` on. */
function valuesRows(count: number, first: number): string {
  const rows = new Array<string>(count);
  for (let i = 0; i < count; i++) rows[i] = `($1, $${first + i})`;
  return rows.join(', ');
}

/**
 * PostgreSQL: all of its SQL. Appends, pops, deletes, metadata writes and purges are one statement
 * each (one round trip, atomic by itself); the multi-statement operations (history transactions,
 * compaction, rewrites, clears) lock the session row in a transaction. Statements are prepared once per connection.
 *
 * With `distributed` (a Citus coordinator, tables distributed by `session_id`), every statement of
 * one conversation pins `session_id = $1` in every table it touches, so that Citus routes it to that
 * conversation's shard (the single-node `sessionIdRange` form would not be routed); times in
 * `ON CONFLICT ... DO UPDATE` come from `EXCLUDED` (Citus refuses `CURRENT_TIMESTAMP` there); rows are
 * inserted with multi-row `VALUES` (an `INSERT ... SELECT` from an array would go through the
 * coordinator). An append (and a metadata write) is the session upsert, then the inserts: Citus takes
 * the ids from the coordinator's sequence when it plans an insert, so the insert must come after the
 * upsert has locked the session row, as its own statement, or concurrent batches would get
 * interleaved ids; both go in one round trip as a script (one implicit transaction). A purge picks the
 * idle conversations across shards, then deletes them shard by shard.
 * @internal
 */
export class PostgresSessionStore extends SqlSessionStore {
  readonly dialect = 'postgres' as const;
  readonly notifications: PostgresConnection;
  protected readonly touchSession: string;
  /** Whether the tables are (to be) distributed by Citus: see the class comment. */
  readonly distributed: boolean;
  private readonly sql: {
    append: string;
    deleteConversation: string;
    purge: string;
    ensureSession: string;
    lockSession: string;
    /** Citus: the idle conversations, across shards, each with its shard. */
    purgeCandidates: string;
    /** Citus: deletes the idle, unlocked ones among `$1` (all of one shard). */
    purgeShard: string;
    /** Citus: the session upsert on its own, locking the row. */
    upsertSession: string;
    /** Citus: the metadata upsert of `$1`, `$2`. */
    upsertMetadata: string;
    /** Citus: deletes the metadata of `$1`. */
    deleteMetadata: string;
  };
  /** `s AS (...)`: creates the session row or touches it, locking it; every writer of the conversation queues there. */
  private readonly upsertSession: string;
  /** The final part of an append: the texts of `$2`, in order, into the conversation of `s`. */
  private readonly insertFromUpsert: string;

  constructor(
    private readonly connection: PostgresConnection,
    tables: ResolvedTables,
    options: { distributed?: boolean } = {},
  ) {
    const distributed = options.distributed === true;
    super(tables, { quote: quotePostgres, placeholder: postgresPlaceholder, pinSessionId: distributed });
    this.distributed = distributed;
    this.notifications = connection;
    const { sessions, messages } = this.names;
    this.touchSession = `UPDATE ${sessions} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = $1`;
    // EXCLUDED.updated_at is the column default, CURRENT_TIMESTAMP: the same time, in a form Citus accepts.
    const upsert =
      `INSERT INTO ${sessions} (session_id) VALUES ($1) ON CONFLICT (session_id) DO UPDATE SET updated_at = ` +
      (distributed ? 'EXCLUDED.updated_at' : 'CURRENT_TIMESTAMP');
    this.upsertSession = `s AS (${upsert} RETURNING session_id)`;
    // The ORDER BY keeps the batch's order, so each batch gets consecutive ids in order.
    this.insertFromUpsert =
      `INSERT INTO ${messages} (session_id, message_data) ` +
      `SELECT s.session_id, d.data FROM s CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS d(data, n) ORDER BY d.n`;
    this.sql = {
      append: `WITH ${this.upsertSession} ${this.insertFromUpsert}`,
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
      // Citus refuses FOR UPDATE across shards: the candidates are read without locks (at most $2 rows
      // from each shard, by the listing index), then each shard's are locked and deleted by purgeShard.
      purgeCandidates:
        `SELECT v.session_id, get_shard_id_for_distribution_column('${sessions}', v.session_id) AS shard ` +
        `FROM (SELECT session_id FROM ${sessions} WHERE updated_at < LOCALTIMESTAMP - ($1::float8 * interval '1 millisecond') ` +
        `AND session_id <> ALL($3::varchar[]) ORDER BY updated_at LIMIT $2) v`,
      // Every table pinned to the ids of one shard, so that Citus routes it there whole. SKIP LOCKED and
      // the re-checked `updated_at`, as on one node: a conversation written meanwhile is left alone.
      purgeShard:
        `WITH victims AS (SELECT session_id FROM ${sessions} WHERE session_id = ANY($1::varchar[]) ` +
        `AND updated_at < LOCALTIMESTAMP - ($2::float8 * interval '1 millisecond') FOR UPDATE SKIP LOCKED), ` +
        `m AS (DELETE FROM ${messages} WHERE session_id = ANY($1::varchar[]) AND session_id IN (SELECT session_id FROM victims)) ` +
        `DELETE FROM ${sessions} WHERE session_id = ANY($1::varchar[]) AND session_id IN (SELECT session_id FROM victims) ` +
        `RETURNING session_id`,
      upsertSession: upsert,
      upsertMetadata:
        `INSERT INTO ${this.names.metadata} (session_id, metadata) VALUES ($1, $2::jsonb) ` +
        `ON CONFLICT (session_id) DO UPDATE SET metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at`,
      deleteMetadata: `DELETE FROM ${this.names.metadata} WHERE session_id = $1`,
    };
  }

  protected query<T>(text: string, values: unknown[]): Promise<T[]> {
    return this.connection.query<T>(text, values);
  }

  /** A pool's end waits for its checked-out connections: an abandoned ping gives its own up at once. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.connection.ping(signal);
  }

  protected timeKey(column: string): string {
    return `to_char(${column}, 'YYYY-MM-DD HH24:MI:SS.US')`;
  }
  protected timeKeyParam(placeholder: string): string {
    return `${placeholder}::timestamp`;
  }
  protected epochMs(column: string): string {
    return `(EXTRACT(EPOCH FROM ${column}::timestamptz) * 1000)::float8`;
  }
  protected epochMsParam(placeholder: string): string {
    return `to_timestamp(${placeholder}::float8 / 1000)::timestamp`;
  }
  protected metadataEquals(keyPlaceholder: string, jsonPlaceholder: string): string {
    return `md.metadata -> ${keyPlaceholder}::text = ${jsonPlaceholder}::jsonb`;
  }
  protected metadataKeyValue(key: string): unknown {
    return key;
  }
  protected insertMessages(sessionId: string, data: string[]): SqlStep[] {
    if (this.distributed) {
      const steps: SqlStep[] = [];
      for (let at = 0; at < data.length; at += CITUS_INSERT_CHUNK) {
        const chunk = data.slice(at, at + CITUS_INSERT_CHUNK);
        steps.push({
          sql: `INSERT INTO ${this.names.messages} (session_id, message_data) VALUES ${valuesRows(chunk.length, 2)}`,
          params: [sessionId, ...chunk],
          returnsRows: false,
        });
      }
      return steps;
    }
    const sql =
      `INSERT INTO ${this.names.messages} (session_id, message_data) ` +
      `SELECT $1, d.data FROM unnest($2::text[]) WITH ORDINALITY AS d(data, n) ORDER BY d.n`;
    return [{ sql, params: [sessionId, data], returnsRows: false }];
  }
  protected deleteMessageIds(sessionId: string, ids: (number | string)[]): SqlStep {
    const { messages } = this.names;
    return this.distributed
      ? {
          sql: `DELETE FROM ${messages} WHERE session_id = $1 AND id = ANY($2::bigint[])`,
          params: [sessionId, ids.map(String)],
          returnsRows: false,
        }
      : { sql: `DELETE FROM ${messages} WHERE id = ANY($1::bigint[])`, params: [ids.map(String)], returnsRows: false };
  }

  async createTables(): Promise<void> {
    const ddl = postgresSchemaDdl(this.tables, { distributed: this.distributed });
    const create = [...ddl.createCoreTables, ...ddl.createOptionalTables, ddl.createUpdatedIndex];
    if (!this.distributed) return this.connection.runDdl(create);
    try {
      await this.connection.runDdl([
        ...create,
        ...(ddl.distributeCoreTables ?? []),
        ...(ddl.distributeOptionalTables ?? []),
      ]);
    } catch (err) {
      throw citusDistributionError(err, this.names);
    }
  }

  async append(sessionId: string, data: string[]): Promise<void> {
    if (data.length === 0) return;
    if (this.distributed) await this.citusScript(sessionId, data);
    else await this.connection.execute(this.sql.append, [sessionId, data]);
  }

  /**
   * Citus: the session upsert (creating or touching the row, and locking it), the inserts of `data`
   * and then `last`, in one round trip and one transaction, each statement routed to the
   * conversation's shard. The values are inlined (the simple query protocol has no parameters).
   */
  private async citusScript(sessionId: string, data: string[], last?: SqlStep): Promise<void> {
    const steps = [{ sql: this.sql.upsertSession, params: [sessionId] }, ...this.insertMessages(sessionId, data)];
    if (last) steps.push(last);
    await this.connection.executeScript(steps.map((s) => inlinePostgresParameters(s.sql, s.params)).join(';\n'));
  }

  protected async swapRow(sql: string, params: unknown[]): Promise<boolean> {
    return ((await this.connection.execute(sql, params)).rowCount ?? 0) > 0;
  }

  async deleteConversation(sessionId: string): Promise<boolean> {
    const result = await this.connection.execute(this.sql.deleteConversation, [sessionId]);
    return (result.rowCount ?? 0) > 0;
  }

  async purgeIdle(idleForMs: number, batchSize: number): Promise<string[]> {
    if (this.distributed) return this.purgeIdleShards(idleForMs, batchSize);
    const rows = await this.connection.query<{ session_id: string }>(this.sql.purge, [idleForMs, batchSize]);
    return rows.map((r) => r.session_id);
  }

  /**
   * Citus: the `batchSize` longest-idle conversations across shards (each shard reads at most
   * `batchSize` rows of its listing index), then one statement per shard holding some of them, each
   * routed to that shard and atomic there (one transaction per shard, not one for the batch).
   */
  private async purgeIdleShards(idleForMs: number, batchSize: number): Promise<string[]> {
    const deleted: string[] = [];
    // Candidates another purge holds are skipped, not waited for: read again past them (a few rounds at
    // most), so that a full batch still means "there may be more" to the caller, as on one node.
    const tried: string[] = [];
    for (let round = 0; round < CITUS_PURGE_ROUNDS && deleted.length < batchSize; round++) {
      const candidates = await this.connection.query<{ session_id: string; shard: string | number }>(
        this.sql.purgeCandidates,
        [idleForMs, batchSize - deleted.length, tried],
      );
      if (candidates.length === 0) break;
      const byShard = new Map<string, string[]>();
      for (const { session_id, shard } of candidates) {
        tried.push(session_id);
        const ids = byShard.get(String(shard));
        if (ids) ids.push(session_id);
        else byShard.set(String(shard), [session_id]);
      }
      for (const ids of byShard.values()) {
        const rows = await this.connection.query<{ session_id: string }>(this.sql.purgeShard, [ids, idleForMs]);
        for (const row of rows) deleted.push(row.session_id);
      }
    }
    return deleted;
  }

  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    const { metadata } = this.names;
    if (this.distributed) {
      const write =
        json === null
          ? { sql: this.sql.deleteMetadata, params: [sessionId], returnsRows: false }
          : { sql: this.sql.upsertMetadata, params: [sessionId, json], returnsRows: false };
      return this.citusScript(sessionId, items, write);
    }
    const writeMetadata =
      json === null
        ? `md AS (DELETE FROM ${metadata} WHERE session_id = (SELECT session_id FROM s))`
        : `md AS (INSERT INTO ${metadata} (session_id, metadata) SELECT session_id, $3::jsonb FROM s ` +
          `ON CONFLICT (session_id) DO UPDATE SET metadata = EXCLUDED.metadata, updated_at = CURRENT_TIMESTAMP)`;
    const params: unknown[] = [sessionId, items];
    if (json !== null) params.push(json);
    await this.connection.execute(`WITH ${this.upsertSession}, ${writeMetadata} ${this.insertFromUpsert}`, params);
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
