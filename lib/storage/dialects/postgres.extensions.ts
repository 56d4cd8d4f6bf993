import type { ResolvedTables } from '../session-store';
import type { ExtensionTables, HistoryOutcome, HistoryPlan } from '../store-extensions';
import { ExtensionsBase, RollbackWith, SqlStep, extensionNames, portableExtensionDdl } from './extensions.base';

const q = (id: string) => `"${id}"`;

/** A `pg` client (pooled or dedicated) as used here. */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}
/** The subset of `pg.Pool` used here. */
export interface PgPoolLike extends PgClientLike {
  connect(): Promise<PgClientLike & { release(err?: unknown): void }>;
  /** The options the pool was built with (used to open the dedicated LISTEN connection). */
  options?: Record<string, unknown>;
  /** The client class of the pool. */
  Client?: new (options: any) => PgClientLike & {
    connect(): Promise<void>;
    end(): Promise<void>;
    on(event: string, listener: (...args: any[]) => void): unknown;
    removeAllListeners(event?: string): unknown;
  };
}

/**
 * PostgreSQL DDL of the optional tables: metadata as `jsonb`, the operation log, and the
 * `(updated_at, session_id)` index used by listing and retention. Python's SQLAlchemySession never
 * reads these; the foreign keys cascade, so its `clear_session` removes them too.
 * @internal
 */
export function postgresExtensionDdl(tables: ResolvedTables): string[] {
  return portableExtensionDdl(tables, q, 'JSONB');
}

/**
 * PostgreSQL management SQL. History transactions run in one transaction on one pooled connection,
 * after locking the session row; metadata writes and purges are single statements.
 * @internal
 */
export class PostgresStoreExtensions extends ExtensionsBase {
  readonly ddl: string[];

  constructor(
    private readonly pool: PgPoolLike,
    tables: ResolvedTables,
  ) {
    super(tables, q, (n) => `$${n}`);
    this.ddl = postgresExtensionDdl(tables);
  }

  protected async select<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.pool.query(sql, params)).rows as T[];
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
  protected insertSteps(sessionId: string, data: string[]): SqlStep[] {
    return [
      {
        sql:
          `INSERT INTO ${this.M} (session_id, message_data) ` +
          `SELECT $1, d.data FROM unnest($2::text[]) WITH ORDINALITY AS d(data, n) ORDER BY d.n`,
        params: [sessionId, data],
        select: false,
      },
    ];
  }
  protected deleteIdsStep(ids: (number | string)[]): SqlStep {
    return { sql: `DELETE FROM ${this.M} WHERE id = ANY($1::bigint[])`, params: [ids.map(String)], select: false };
  }
  protected touchSql(): string {
    return `UPDATE ${this.S} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = $1`;
  }

  async createTables(): Promise<void> {
    await this.inTransaction(async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('nestjs-session-memory:ddl'))`);
      for (const statement of this.ddl) await client.query(statement);
    });
  }

  async purgeBatch(idleForMs: number, batchSize: number): Promise<string[]> {
    // SKIP LOCKED: a conversation being written right now is left for the next run; the row lock and
    // the re-checked `updated_at` mean a conversation touched meanwhile is never deleted.
    const rows = await this.select<{ session_id: string }>(
      `WITH victims AS (SELECT session_id FROM ${this.S} ` +
        `WHERE updated_at < LOCALTIMESTAMP - ($1::float8 * interval '1 millisecond') ` +
        `ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED), ` +
        `m AS (DELETE FROM ${this.M} WHERE session_id IN (SELECT session_id FROM victims)) ` +
        `DELETE FROM ${this.S} WHERE session_id IN (SELECT session_id FROM victims) RETURNING session_id`,
      [idleForMs, batchSize],
    );
    return rows.map((r) => r.session_id);
  }

  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    const session =
      `s AS (INSERT INTO ${this.S} (session_id) VALUES ($1) ` +
      `ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP RETURNING session_id)`;
    const metadata =
      json === null
        ? `md AS (DELETE FROM ${this.MD} WHERE session_id = (SELECT session_id FROM s))`
        : `md AS (INSERT INTO ${this.MD} (session_id, metadata) SELECT session_id, $3::jsonb FROM s ` +
          `ON CONFLICT (session_id) DO UPDATE SET metadata = EXCLUDED.metadata, updated_at = CURRENT_TIMESTAMP)`;
    const params: unknown[] = [sessionId, items];
    if (json !== null) params.push(json);
    await this.select(
      `WITH ${session}, ${metadata} INSERT INTO ${this.M} (session_id, message_data) ` +
        `SELECT s.session_id, d.data FROM s CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS d(data, n) ORDER BY d.n`,
      params,
    );
  }

  async applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome> {
    return this.inTransaction(async (client) => {
      // Create the session row if needed, then lock it: every writer of the conversation queues here.
      await client.query(`INSERT INTO ${this.S} (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING`, [sessionId]);
      await client.query(`SELECT session_id FROM ${this.S} WHERE session_id = $1 FOR UPDATE`, [sessionId]);
      const outcome = await this.runHistorySteps(sessionId, plan, async (step) => (await client.query(step.sql, step.params)).rows);
      if (outcome.status !== 'applied') throw new RollbackWith(outcome);
      return outcome;
    }).catch((err) => {
      if (err instanceof RollbackWith) return err.outcome;
      throw err;
    });
  }

  /** Sends a NOTIFY on `channel` (delivered when no transaction is open: immediately). */
  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /**
   * Opens a dedicated connection (same settings as the pool, outside it) that LISTENs on `channel`.
   * `onError` is called once if the connection fails later; `close()` ends it.
   */
  async listen(
    channel: string,
    onNotification: (payload: string) => void,
    onError: (err: Error) => void,
  ): Promise<{ close(): Promise<void> }> {
    const ClientClass = this.pool.Client;
    if (!ClientClass) throw new Error('this pg pool does not expose its Client class');
    const client = new ClientClass(this.pool.options ?? {});
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      onError(err);
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('the LISTEN connection ended')));
    client.on('notification', (msg: { channel: string; payload?: string }) => {
      if (msg.channel === channel && msg.payload !== undefined) onNotification(msg.payload);
    });
    const close = async () => {
      failed = true; // a deliberate close is not a failure
      client.removeAllListeners('notification');
      await client.end().catch(() => undefined);
    };
    try {
      await client.connect();
      await client.query(`LISTEN ${q(channel)}`);
    } catch (err) {
      await close();
      throw err;
    }
    return { close };
  }

  private async inTransaction<T>(work: (client: PgClientLike) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError) => {
        broken = rollbackError;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

export type { ExtensionTables };
