import { createHash } from 'crypto';
import { inlinePostgresParameters } from '../citus/postgres.literals';
import type { NotificationChannel } from '../session-store';
import { PipelineStep, StatementPipeline } from './statement-pipeline';

/** PostgreSQL identifier quoting. @internal */
export const quotePostgres = (identifier: string): string => `"${identifier}"`;

/** `$n`. @internal */
export const postgresPlaceholder = (n: number): string => `$${n}`;

/** What one query returns. @internal */
export interface PgResult {
  rows: any[];
  rowCount: number | null;
}

/** A `pg` client, pooled or dedicated, as used here. @internal */
export interface PgClient {
  query(config: { text: string; values?: unknown[]; name?: string; rowMode?: 'array' }): Promise<PgResult>;
  query(text: string, values?: unknown[]): Promise<PgResult>;
}

/** The subset of `pg.Pool` used here. @internal */
export interface PgPool extends PgClient {
  connect(): Promise<PgClient & { release(err?: unknown): void }>;
  /** The options the pool was built with (used to open the dedicated LISTEN connection). */
  options?: Record<string, unknown>;
  /** The client class of the pool. */
  Client?: new (options: any) => PgClient & {
    connect(): Promise<void>;
    end(): Promise<void>;
    on(event: string, listener: (...args: any[]) => void): unknown;
    removeAllListeners(event?: string): unknown;
  };
}

/** A statement and its name in pipelines (`PostgresConnection.pipelined`). @internal */
export type PipelinedStatement = Omit<PipelineStep, 'values'>;

/** A query runner inside one transaction. @internal */
export type PgTransaction = (text: string, values?: unknown[]) => Promise<PgResult>;

/**
 * The `pg` pool TypeORM opened, as the PostgreSQL store uses it: statements prepared once per
 * connection (named statements), transactions on one pooled connection, the DDL lock, and
 * LISTEN/NOTIFY on a connection of its own.
 * @internal
 */
export class PostgresConnection implements NotificationChannel {
  private readonly statementNames = new Map<string, string>();

  constructor(private readonly pool: PgPool) {}

  /** Runs one statement on the pool, prepared once per connection when it has parameters. */
  execute(text: string, values: unknown[]): Promise<PgResult> {
    return this.pool.query({ text, values, name: this.statementName(text) });
  }

  /**
   * Runs `script`, several statements with their values inlined (citus/postgres.literals.ts), in one round
   * trip (the simple query protocol, never prepared). PostgreSQL runs it as one transaction, statement
   * after statement, each seeing what the previous ones did (and, in READ COMMITTED, each with a
   * snapshot of its own, taken when it starts).
   */
  async executeScript(script: string): Promise<void> {
    await this.pool.query(script);
  }

  /**
   * `text` with the name it has in pipelines (`pipeline`), computed once: a store keeps the result for
   * each statement it pipelines. The names differ from `execute`'s, which `pg` itself tracks.
   */
  pipelined(text: string): PipelinedStatement {
    return { text, name: this.statementName(text, 'nsmp_') };
  }

  /**
   * Runs `steps` (each a `pipelined` statement with its values) in one round trip and one transaction,
   * each statement prepared once per connection (statement-pipeline.ts); returns the last one's rows as
   * arrays of texts. Only `pg`'s JavaScript client takes such a query, and not in its own pipeline mode
   * (`pipeline: true`); elsewhere (that mode, `pg-native`) the steps go as one script of inlined values:
   * the simple protocol, one round trip and one transaction too, parsed and planned at every call.
   * Like `pool.query`, a connection whose query failed is not returned to the pool.
   */
  async pipeline(steps: readonly PipelineStep[]): Promise<unknown[][]> {
    const client = await this.pool.connect();
    let failed: unknown;
    try {
      const { connection, pipeline } = client as { connection?: { parse?: unknown }; pipeline?: boolean };
      if (typeof connection?.parse === 'function' && !pipeline) {
        return await new Promise<unknown[][]>((resolve, reject) => {
          const query = new StatementPipeline(steps);
          query.callback = (err, rows) => (err ? reject(err) : resolve(rows!));
          client.query(query as never);
        });
      }
      const script = steps.map((step) => inlinePostgresParameters(step.text, [...step.values])).join(';\n');
      const results = (await client.query({ text: script, rowMode: 'array' })) as PgResult | PgResult[];
      return (Array.isArray(results) ? results[results.length - 1] : results).rows;
    } catch (err) {
      failed = err ?? new Error('pipeline failed');
      throw err;
    } finally {
      client.release(failed);
    }
  }

  /** `execute`, returning the rows. */
  async query<T>(text: string, values: unknown[]): Promise<T[]> {
    return (await this.execute(text, values)).rows as T[];
  }

  /** `query` with each row an array of its columns' values, in the order selected (no object per row). */
  async queryArrays(text: string, values: unknown[]): Promise<unknown[][]> {
    return (await this.pool.query({ text, values, name: this.statementName(text), rowMode: 'array' })).rows;
  }

  /**
   * Runs `work` in a transaction on one pooled connection; commits when `keep(result)` (default: always),
   * rolls back otherwise or on error. A connection whose ROLLBACK failed is not returned to the pool.
   */
  async transaction<T>(work: (tx: PgTransaction) => Promise<T>, keep: (result: T) => boolean = () => true): Promise<T> {
    const client = await this.pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await work((text, values) => client.query(text, values));
      await client.query(keep(result) ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** Runs DDL in one transaction under a cluster-wide advisory lock, so that processes starting together take turns. */
  runDdl(statements: string[]): Promise<void> {
    return this.transaction(async (tx) => {
      await tx(`SELECT pg_advisory_xact_lock(hashtext('nestjs-session-memory:ddl'))`);
      for (const statement of statements) await tx(statement);
    });
  }

  /**
   * `SELECT 1` on a pooled connection. When `signal` aborts before the answer (the caller gave up, e.g.
   * a health check that timed out during a network partition), that connection is destroyed at once
   * rather than waiting for an answer that may come only after the client-side query timeout: an
   * abandoned ping then holds neither a pooled connection nor the pool's end at shutdown. (A ping still
   * waiting for a free connection holds none; it gives up after `connectMs`.)
   */
  async ping(signal?: AbortSignal): Promise<void> {
    if (!signal) {
      await this.pool.query('SELECT 1');
      return;
    }
    const abandoned = () => new Error('ping abandoned: the caller gave up waiting for the database');
    if (signal.aborted) throw abandoned();
    const client = await this.pool.connect();
    let released = false;
    const release = (err?: Error) => {
      if (released) return;
      released = true;
      client.release(err); // with an error, pg-pool ends the connection (destroying it mid-query) instead of keeping it
    };
    if (signal.aborted) {
      release();
      throw abandoned();
    }
    const onAbort = () => release(abandoned());
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.query('SELECT 1');
      release();
    } catch (err) {
      release(err as Error); // as pg-pool's own query does: a connection that failed is not kept
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /** Opens a dedicated connection (same settings as the pool, outside it) that LISTENs on `channel`. */
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
      if (msg.channel !== channel || msg.payload === undefined) return;
      try {
        onNotification(msg.payload);
      } catch {
        // A throw here would break the driver's message loop (and the connection): the caller handles its own errors.
      }
    });
    const close = async () => {
      failed = true; // a deliberate close is not a failure
      client.removeAllListeners('notification');
      await client.end().catch(() => undefined);
    };
    try {
      await client.connect();
      await client.query(`LISTEN ${quotePostgres(channel)}`);
    } catch (err) {
      await close();
      throw err;
    }
    return { close };
  }

  private statementName(text: string): string | undefined;
  private statementName(text: string, prefix: string): string;
  private statementName(text: string, prefix?: string): string | undefined {
    if (!prefix && !text.includes('$1')) return undefined;
    const key = prefix ? prefix + text : text;
    let name = this.statementNames.get(key);
    if (!name) {
      name = (prefix ?? 'nsm_') + createHash('sha1').update(text).digest('hex').slice(0, 24);
      this.statementNames.set(key, name);
    }
    return name;
  }
}
