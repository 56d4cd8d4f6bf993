import { clientQueryTimeoutMs } from '../../options/resolved-options';

/** MySQL identifier quoting. @internal */
export const quoteMysql = (identifier: string): string => `\`${identifier}\``;

/** `?`. @internal */
export const mysqlPlaceholder = (): string => '?';

/** A query runner inside one transaction. @internal */
export type MysqlTransaction = <T = any>(sql: string, values: unknown[]) => Promise<T>;

/** A `mysql2` query with its own client-side time limit (ms; `undefined` = none). */
interface MysqlQueryOptions {
  sql: string;
  values: unknown[];
  timeout?: number;
  /** Each row an array of its columns' values, in the order selected. */
  rowsAsArray?: boolean;
}
/** mysql2's query command; its timer is not cleared when the connection breaks under it. */
interface MysqlQueryCommand {
  queryTimeout?: ReturnType<typeof setTimeout> | null;
}
/** The subset of a callback-style pooled `mysql2` connection used here. @internal */
export interface MysqlPooledConnection {
  query(options: MysqlQueryOptions, cb: (err: Error | null, result: any) => void): MysqlQueryCommand | undefined;
  release(): void;
  destroy(): void;
  on?(event: 'error', fn: () => void): void;
  /** The socket, destroyed to fail the commands queued behind a query that timed out. */
  stream?: { destroy(err?: Error): void };
}
/** The subset of a callback-style `mysql2` pool used here. @internal */
export interface MysqlPool {
  getConnection(cb: (err: Error | null, conn: MysqlPooledConnection) => void): void;
  on(event: 'acquire', fn: (conn: MysqlPooledConnection) => void): void;
  /** Closes every connection (TypeORM calls it when the DataSource is destroyed). */
  end(cb?: (err?: Error | null) => void): void;
}

/** MySQL / MariaDB error numbers this package acts on. @internal */
export const MYSQL_ERRNO = {
  /** ER_LOCK_DEADLOCK: the transaction was chosen as a deadlock victim; retry it. */
  deadlock: 1213,
  /** ER_PARSE_ERROR: e.g. `SKIP LOCKED` on a server older than MySQL 8.0 / MariaDB 10.6. */
  parseError: 1064,
  /** ER_DUP_KEYNAME: the index exists already. */
  duplicateKeyName: 1061,
} as const;
/** `err.code` of a query that outlived its client-side `timeout`. */
const QUERY_TIMEOUT = 'PROTOCOL_SEQUENCE_TIMEOUT';
/** `err.code` with which a query still running when the module's pool ends is failed. */
const POOL_ENDED = 'NSM_POOL_ENDED';
/** A read-only server (a failover in progress): mysql2's own `pool.query` drops such connections too. */
const READ_ONLY_ERRNOS = new Set([1290, 1792, 1836]);
const MAX_DEADLOCK_ATTEMPTS = 10;

/**
 * The `mysql2` pool TypeORM opened, as the MySQL store uses it: every query bounded by a client-side
 * time limit on a connection of its own, transactions retried on deadlock, per-connection session
 * time limits. A connection a query timed out on, or that broke, is destroyed, never reused.
 * @internal
 */
export class MysqlConnection {
  /**
   * Client-side limit of every query in ms (0 = none), set by `useSessionTimeouts`: a call on a
   * connection whose server went silent (a network partition: no answer, no reset) fails with
   * `PROTOCOL_SEQUENCE_TIMEOUT` instead of waiting for the OS TCP timeout.
   */
  private queryTimeoutMs = 0;
  /** The connections handed out and not yet given back or destroyed. */
  private readonly checkedOut = new Set<BoundedConnection>();

  constructor(private readonly pool: MysqlPool) {}

  /**
   * One query on a connection taken from the pool for it alone. Same round trips as `pool.query`,
   * which cannot destroy a connection its query timed out on.
   */
  query<T = any>(sql: string, values: unknown[]): Promise<T> {
    return this.acquire().then((conn) => conn.query<T>(sql, values).finally(() => conn.release()));
  }

  /** `query` of a SELECT, each row an array of its columns' values in the order selected (no object per row). */
  queryArrays(sql: string, values: unknown[]): Promise<unknown[][]> {
    return this.acquire().then((conn) => conn.query<unknown[][]>(sql, values, true).finally(() => conn.release()));
  }

  /**
   * Runs `work` in a transaction on one pooled connection; commits when `keep(result)` (default:
   * always), rolls back otherwise. The whole of it is retried, with jittered backoff, when InnoDB
   * reports a deadlock. A connection that timed out or broke is destroyed without a ROLLBACK (the
   * server rolls back when it goes).
   */
  transaction<T>(work: (tx: MysqlTransaction) => Promise<T>, keep: (result: T) => boolean = () => true): Promise<T> {
    return this.retryingDeadlocks(async (conn) => {
      await conn.query('START TRANSACTION', []);
      const result = await work((sql, values) => conn.query(sql, values));
      await conn.query(keep(result) ? 'COMMIT' : 'ROLLBACK', []);
      return result;
    });
  }

  /**
   * One statement that is a whole transaction (a MariaDB block that starts and commits its own, see
   * `lockedBlock`): one round trip. When it fails part-way, the transaction it left open is rolled back;
   * a deadlock is retried as in `transaction`.
   */
  block<T = unknown>(sql: string, values: unknown[]): Promise<T> {
    return this.retryingDeadlocks((conn) => conn.query<T>(sql, values));
  }

  /** Runs `attempt` on one pooled connection, rolling back what it left open when it fails; retries deadlocks. */
  private async retryingDeadlocks<T>(attempt: (conn: BoundedConnection) => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      const conn = await this.acquire();
      try {
        return await attempt(conn);
      } catch (err) {
        if (!conn.discarded) await conn.query('ROLLBACK', []).catch((e: Error) => conn.discard(e));
        if ((err as { errno?: number }).errno === MYSQL_ERRNO.deadlock && n < MAX_DEADLOCK_ATTEMPTS) {
          await sleep(2 + Math.random() * 10 * n);
          continue;
        }
        throw err;
      } finally {
        conn.release();
      }
    }
  }

  /**
   * Applies statement and lock time limits (ms; 0 = leave the server's) to every connection of the
   * pool, those open now and those opened later, before their first query. Only for a pool the module
   * owns: the application's own connections keep their settings. Fails when the server refuses them.
   * With `statementMs`, every query also gets a client-side limit (see `clientQueryTimeoutMs`). The
   * pool's end (at shutdown) then no longer waits for queries their callers gave up on
   * (`endWithoutAbandonedQueries`).
   */
  async useSessionTimeouts(timeouts: { statementMs: number; lockMs: number; connectMs?: number }): Promise<void> {
    this.endWithoutAbandonedQueries();
    this.queryTimeoutMs = clientQueryTimeoutMs(timeouts);
    const [{ v }] = await this.query<{ v: string }[]>('SELECT VERSION() AS v', []);
    const settings: string[] = [];
    if (timeouts.statementMs > 0) {
      // MariaDB bounds every statement (seconds); MySQL only bounds SELECTs (ms).
      settings.push(
        /mariadb/i.test(String(v))
          ? `max_statement_time = ${timeouts.statementMs / 1000}`
          : `max_execution_time = ${Math.ceil(timeouts.statementMs)}`,
      );
    }
    if (timeouts.lockMs > 0)
      settings.push(`innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(timeouts.lockMs / 1000))}`);
    if (settings.length === 0) return;
    const sql = `SET SESSION ${settings.join(', ')}`;
    const configured = new WeakSet<object>();
    // 'acquire' is emitted before the caller gets the connection, so the SET is queued ahead of its query
    // (and bounded like it: when the SET times out, its connection is destroyed and the query fails too).
    this.pool.on('acquire', (conn) => {
      if (configured.has(conn)) return;
      configured.add(conn);
      new BoundedConnection(conn, this.queryTimeoutMs).query(sql, []).catch(() => configured.delete(conn));
    });
    await this.query(sql, []); // the server accepts the settings, or startup fails here
  }

  /**
   * The module's own pool ends at shutdown once the operation gate has drained, so a query still
   * running then is one its caller gave up on (a health check's ping that timed out during a network
   * stall). mysql2's `end` queues each connection's QUIT behind its running query and fails when that
   * query's client-side timeout fires (up to statementMs + connectMs later: `app.close()` waited that
   * long, then rejected with the raw PROTOCOL_SEQUENCE_TIMEOUT, which ends the process under Nest's
   * shutdown hooks). Here those connections are destroyed at once (their queries fail with
   * NSM_POOL_ENDED, their timers cleared), and an error while ending the others (a connection still
   * handshaking through the stall fails after connectMs) no longer fails the shutdown: the pool is
   * closed either way.
   */
  private endWithoutAbandonedQueries(): void {
    const pool = this.pool;
    const end = pool.end.bind(pool);
    pool.end = (cb) => {
      const ended = Object.assign(new Error('the pool was closed (shutdown) while this query was running'), {
        code: POOL_ENDED,
      });
      for (const conn of [...this.checkedOut]) conn.discard(ended);
      end(() => cb?.(null));
    };
  }

  private acquire(): Promise<BoundedConnection> {
    return new Promise((resolve, reject) =>
      this.pool.getConnection((err, conn) => {
        if (err) return reject(err);
        const bounded = new BoundedConnection(conn, this.queryTimeoutMs, (c) => this.checkedOut.delete(c));
        this.checkedOut.add(bounded);
        resolve(bounded);
      }),
    );
  }
}

/**
 * A pooled connection whose queries carry mysql2's client-side `timeout` (ms; 0 = none). A connection
 * a query timed out on, or that broke, is destroyed and never goes back to the pool: the server may
 * still answer the abandoned query, and the next caller would read that late answer as its own.
 */
class BoundedConnection {
  /** Set once the connection is destroyed. */
  discarded = false;

  constructor(
    private readonly conn: MysqlPooledConnection,
    private readonly timeoutMs: number,
    /** Called once, when the connection goes back to the pool or is destroyed. */
    private readonly onDone: (conn: BoundedConnection) => void = () => undefined,
  ) {}

  query<T = any>(sql: string, values: unknown[], rowsAsArray?: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let answered = false;
      // `command` is still unset when a closed connection fails the query at once, inside query().
      const sent: { command?: MysqlQueryCommand } = {};
      sent.command = this.conn.query(
        { sql, values, timeout: this.timeoutMs > 0 ? this.timeoutMs : undefined, rowsAsArray },
        (err, result) => {
          if (answered) return; // a timed-out query is failed a second time when discard() destroys its socket
          answered = true;
          if (!err) return resolve(result as T);
          // A lost connection fails its query without stopping the query's timer, which would keep the
          // process alive (and fire later) for up to timeoutMs.
          if (sent.command?.queryTimeout) clearTimeout(sent.command.queryTimeout);
          if (mustDiscard(err)) this.discard(err);
          reject(err);
        },
      );
    });
  }

  /**
   * Takes the connection out of the pool and closes its socket now (not after a FIN a silent server
   * never acknowledges). Commands queued behind the one in flight (the pool's `SET SESSION` runs ahead
   * of the caller's query) fail with `err`.
   */
  discard(err: Error): void {
    if (this.discarded) return;
    this.discarded = true;
    this.onDone(this);
    this.conn.on?.('error', () => undefined); // a socket error is re-emitted on the connection
    this.conn.destroy();
    // destroy() only half-closes the socket and fails nothing: the query in flight, if any, and those
    // queued behind it fail now with `err` (which clears their timers) through the socket's error.
    const code = (err as { code?: string }).code;
    if (code === QUERY_TIMEOUT || code === POOL_ENDED) this.conn.stream?.destroy(err);
  }

  /** Back to the pool, unless discarded. */
  release(): void {
    if (this.discarded) return;
    this.onDone(this);
    this.conn.release();
  }
}

/** Whether a connection must not be reused after `err`: a client-side timeout, a broken connection, a read-only server. */
function mustDiscard(err: Error & { code?: string; errno?: number; fatal?: boolean }): boolean {
  return (
    err.code === QUERY_TIMEOUT || err.fatal === true || (err.errno !== undefined && READ_ONLY_ERRNOS.has(err.errno))
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
