import { clientQueryTimeoutMs } from '../data-source.factory';
import { KeyedMutex } from '../keyed-mutex';
import type { ResolvedTables, StoredRow } from '../session-store';
import { NEWEST_FIRST, SessionSchemaDdl, SqlStoreBase, oneSession, schemaNames } from './sql-store.base';

const quoteMysql = (id: string) => `\`${id}\``;

/** Lists which binary NO PAD utf8mb4 collations the server has. @internal */
export const MYSQL_ID_COLLATION_PROBE =
  "SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')";

/** The collation of `session_id` in an existing sessions table (parameter: the table name). @internal */
export const MYSQL_ID_COLUMN_COLLATION =
  "SELECT COLLATION_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'session_id'";

/**
 * The collation of `session_id` in tables we create, from what the server has (`MYSQL_ID_COLLATION_PROBE`):
 * binary (case-, accent-sensitive) and NO PAD (trailing spaces count) where the server has one —
 * `utf8mb4_nopad_bin` on MariaDB ≥ 10.2, `utf8mb4_0900_bin` on MySQL ≥ 8.0. MySQL 5.7 has neither:
 * there it is `utf8mb4_bin`, binary but PAD SPACE (`'a'` and `'a '` are the same key).
 * @internal
 */
export function chooseMysqlIdCollation(available: readonly string[]): string {
  if (available.includes('utf8mb4_nopad_bin')) return 'utf8mb4_nopad_bin';
  if (available.includes('utf8mb4_0900_bin')) return 'utf8mb4_0900_bin';
  return 'utf8mb4_bin';
}

/**
 * MySQL / MariaDB DDL for one pair of tables. `session_id` is `VARCHAR(255)` (a key needs a length;
 * 255 utf8mb4 characters = 1020 bytes fits InnoDB's 3072-byte key limit) in utf8mb4 with the binary
 * collation `idCollation` (see `chooseMysqlIdCollation`). Used by `createTables` and the migrations.
 * @internal
 */
export function mysqlSchemaDdl(tables: ResolvedTables, idCollation: string): SessionSchemaDdl {
  const q = quoteMysql;
  const { S, M, index } = schemaNames(tables, q);
  const idType = `VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${idCollation} NOT NULL`;
  return {
    createTables: [
      `CREATE TABLE IF NOT EXISTS ${S} (` +
        `session_id ${idType}, ` +
        `created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
        `updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
        `PRIMARY KEY (session_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS ${M} (` +
        `id BIGINT NOT NULL AUTO_INCREMENT, ` +
        `session_id ${idType}, ` +
        `message_data LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ` +
        `created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
        `PRIMARY KEY (id), ` +
        `KEY ${q(index.sessionTime)} (session_id, created_at), ` +
        `KEY ${q(index.sessionId)} (session_id, id), ` +
        `CONSTRAINT ${q(`fk_${tables.messages}_session`)} FOREIGN KEY (session_id) REFERENCES ${S} (session_id) ON DELETE CASCADE` +
        `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ],
    dropTables: [`DROP TABLE IF EXISTS ${M}`, `DROP TABLE IF EXISTS ${S}`],
    // In place and without blocking writes, or not at all: the server refuses instead of copying the table.
    addIdIndex: [`ALTER TABLE ${M} ADD INDEX ${q(index.sessionId)} (session_id, id), ALGORITHM=INPLACE, LOCK=NONE`],
    dropIdIndex: [`ALTER TABLE ${M} DROP INDEX ${q(index.sessionId)}`],
  };
}

/** The subset of a callback-style `mysql2` connection used here: `query(sql, values, cb)`. */
export interface MysqlQueryable {
  query(sql: string, values: unknown[], cb: (err: Error | null, result: any) => void): void;
}
/** A `mysql2` query with its own client-side time limit (ms; `undefined` = none). */
interface MysqlQueryOptions {
  sql: string;
  values: unknown[];
  timeout?: number;
}
/** mysql2's query command; its timer is not cleared when the connection breaks under it. */
interface MysqlQueryCommand {
  queryTimeout?: ReturnType<typeof setTimeout> | null;
}
interface MysqlConnection {
  query(options: MysqlQueryOptions, cb: (err: Error | null, result: any) => void): MysqlQueryCommand | undefined;
  release(): void;
  destroy(): void;
  /** The socket, destroyed to fail the commands queued behind a query that timed out. */
  stream?: { destroy(err?: Error): void };
}
/** The subset of a callback-style `mysql2` pool used here. */
export interface MysqlPool {
  getConnection(cb: (err: Error | null, conn: MysqlConnection) => void): void;
}

const ER_LOCK_DEADLOCK = 1213;
const MAX_ATTEMPTS = 10;
/** `err.code` of a query that outlived its client-side `timeout`. */
const QUERY_TIMEOUT = 'PROTOCOL_SEQUENCE_TIMEOUT';
/** A read-only server (a failover in progress): mysql2's own `pool.query` drops such connections too. */
const READ_ONLY_ERRNOS = new Set([1290, 1792, 1836]);

/**
 * MySQL / MariaDB. Writers of one conversation are serialised twice over: in this process by a keyed
 * mutex, across processes by locking the session row first in every write transaction (one lock
 * order, so no deadlock cycle between our own statements). Deadlocks InnoDB still reports (gap locks
 * around a brand-new key) are retried with jittered backoff.
 * @internal
 */
export class MysqlSessionStore extends SqlStoreBase {
  readonly dialect = 'mysql' as const;
  /** @internal Serialises this process's writers per conversation (shared with the management extensions). */
  readonly writers = new KeyedMutex();
  /**
   * @internal Client-side limit of every query in ms (0 = none), set by `useSessionTimeouts`: a call on a
   * connection whose server went silent (a network partition: no answer, no reset) fails with
   * `PROTOCOL_SEQUENCE_TIMEOUT` instead of waiting for the OS TCP timeout.
   */
  queryTimeoutMs = 0;
  private readonly write: {
    ensureSession: string;
    touchSession: string;
    lockSession: string;
    newest: string;
    deleteOne: string;
    deleteMessages: string;
    deleteSession: string;
  };

  /**
   * @param idCollation binary collation for `session_id` in tables we create: exact comparison, no
   * trailing-space padding where the server has one (see `chooseMysqlIdCollation`).
   */
  constructor(
    private readonly pool: MysqlPool,
    tables: ResolvedTables,
    private readonly idCollation: string,
  ) {
    super(tables, quoteMysql, () => '?');
    const { S, M } = this;
    this.write = {
      ensureSession: `INSERT INTO ${S} (session_id) VALUES (?) ON DUPLICATE KEY UPDATE session_id = session_id`,
      touchSession: `UPDATE ${S} SET updated_at = CURRENT_TIMESTAMP(6) WHERE session_id = ?`, // (6): same precision as the column default
      lockSession: `SELECT session_id FROM ${S} WHERE session_id = ? FOR UPDATE`,
      newest: `SELECT id, message_data FROM ${M} WHERE ${oneSession('?', '?')} ${NEWEST_FIRST} LIMIT 1`,
      deleteOne: `DELETE FROM ${M} WHERE id = ?`,
      deleteMessages: `DELETE FROM ${M} WHERE session_id = ?`,
      deleteSession: `DELETE FROM ${S} WHERE session_id = ?`,
    };
  }

  protected select<T>(sql: string, params: unknown[]): Promise<T[]> {
    return pooledQuery<T[]>(this.pool, sql, params, this.queryTimeoutMs);
  }

  async append(sessionId: string, data: string[]): Promise<void> {
    if (data.length === 0) return;
    const insert = `INSERT INTO ${this.M} (session_id, message_data) VALUES ${data.map(() => '(?, ?)').join(', ')}`;
    const values: unknown[] = [];
    for (const d of data) values.push(sessionId, d);
    await this.writers.run(sessionId, async () => {
      for (;;) {
        // Lock the session row first. A brand-new session row is created outside the transaction
        // (and the transaction retried), so that no transaction holds gap locks on the sessions key.
        const done = await this.transaction(async (conn) => {
          const locked = await run<any[]>(conn, this.write.lockSession, [sessionId]);
          if (locked.length === 0) return false;
          await run(conn, this.write.touchSession, [sessionId]);
          await run(conn, insert, values);
          return true;
        });
        if (done) return;
        await pooledQuery(this.pool, this.write.ensureSession, [sessionId], this.queryTimeoutMs);
      }
    });
  }

  popNewest(sessionId: string): Promise<StoredRow | undefined> {
    return this.writers.run(sessionId, () =>
      this.transaction(async (conn) => {
        const locked = await run<any[]>(conn, this.write.lockSession, [sessionId]);
        if (locked.length === 0) return undefined;
        const [row] = await run<StoredRow[]>(conn, this.write.newest, [sessionId, sessionId]);
        if (!row) return undefined;
        await run(conn, this.write.deleteOne, [row.id]);
        return row;
      }),
    );
  }

  clear(sessionId: string): Promise<boolean> {
    return this.writers.run(sessionId, () =>
      this.transaction(async (conn) => {
        const locked = await run<any[]>(conn, this.write.lockSession, [sessionId]);
        await run(conn, this.write.deleteMessages, [sessionId]);
        if (locked.length === 0) return false;
        await run(conn, this.write.deleteSession, [sessionId]);
        return true;
      }),
    );
  }

  /**
   * Applies statement and lock time limits (ms; 0 = leave the server's) to every connection of the
   * pool, those open now and those opened later, before their first query. Only for a pool the module
   * owns: the application's own connections keep their settings. Fails when the server refuses them.
   * With `statementMs`, every query also gets a client-side limit of `statementMs + max(connectMs, 1000)`
   * (PostgreSQL's `query_timeout` rule) for a server that cannot answer at all.
   */
  async useSessionTimeouts(timeouts: { statementMs: number; lockMs: number; connectMs?: number }): Promise<void> {
    this.queryTimeoutMs = clientQueryTimeoutMs(timeouts);
    const [{ v }] = await pooledQuery<{ v: string }[]>(this.pool, 'SELECT VERSION() AS v', [], this.queryTimeoutMs);
    const settings: string[] = [];
    if (timeouts.statementMs > 0) {
      // MariaDB bounds every statement (seconds); MySQL only bounds SELECTs (ms).
      settings.push(/mariadb/i.test(String(v)) ? `max_statement_time = ${timeouts.statementMs / 1000}` : `max_execution_time = ${Math.ceil(timeouts.statementMs)}`);
    }
    if (timeouts.lockMs > 0) settings.push(`innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(timeouts.lockMs / 1000))}`);
    if (settings.length === 0) return;
    const sql = `SET SESSION ${settings.join(', ')}`;
    const configured = new WeakSet<object>();
    // 'acquire' is emitted before the caller gets the connection, so the SET is queued ahead of its query
    // (and bounded like it: when the SET times out, its connection is destroyed and the query fails too).
    (this.pool as unknown as { on(event: 'acquire', fn: (conn: MysqlConnection) => void): void }).on('acquire', (conn) => {
      if (configured.has(conn)) return;
      configured.add(conn);
      new BoundedConnection(conn, this.queryTimeoutMs).query(sql, [], (err) => {
        if (err) configured.delete(conn);
      });
    });
    await pooledQuery(this.pool, sql, [], this.queryTimeoutMs); // the server accepts the settings, or startup fails here
  }

  async createTables(): Promise<void> {
    for (const statement of mysqlSchemaDdl(this.tables, this.idCollation).createTables) {
      await pooledQuery(this.pool, statement, [], this.queryTimeoutMs);
    }
  }

  /**
   * @internal Runs `work` in a transaction on one pooled connection (every query bounded by
   * `queryTimeoutMs`), retrying the whole of it on deadlock. A connection that timed out or broke is
   * destroyed without a ROLLBACK (the server rolls back when it goes); the others go back to the pool.
   */
  async transaction<T>(work: (conn: MysqlQueryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = new BoundedConnection(
        await new Promise<MysqlConnection>((resolve, reject) => this.pool.getConnection((err, c) => (err ? reject(err) : resolve(c)))),
        this.queryTimeoutMs,
      );
      try {
        await run(conn, 'START TRANSACTION', []);
        const result = await work(conn);
        await run(conn, 'COMMIT', []);
        return result;
      } catch (err) {
        if (!conn.discarded) await run(conn, 'ROLLBACK', []).catch((e: Error) => conn.discard(e));
        if ((err as { errno?: number }).errno === ER_LOCK_DEADLOCK && attempt < MAX_ATTEMPTS) {
          await sleep(2 + Math.random() * 10 * attempt);
          continue;
        }
        throw err;
      } finally {
        conn.release();
      }
    }
  }
}

/**
 * A pooled connection whose queries carry mysql2's client-side `timeout` (ms; 0 = none). A connection
 * a query timed out on, or that broke, is destroyed and never goes back to the pool: the server may
 * still answer the abandoned query, and the next caller would read that late answer as its own.
 * @internal
 */
export class BoundedConnection implements MysqlQueryable {
  /** Set once the connection is destroyed. */
  discarded = false;

  constructor(
    private readonly conn: MysqlConnection,
    private readonly timeoutMs: number,
  ) {}

  query(sql: string, values: unknown[], cb: (err: Error | null, result: any) => void): void {
    let answered = false;
    let command: MysqlQueryCommand | undefined; // still unset when a closed connection fails the query at once
    command = this.conn.query({ sql, values, timeout: this.timeoutMs > 0 ? this.timeoutMs : undefined }, (err, result) => {
      if (answered) return; // a timed-out query is failed a second time when discard() destroys its socket
      answered = true;
      if (err) {
        // A lost connection fails its query without stopping the query's timer, which would keep the
        // process alive (and fire later) for up to timeoutMs.
        if (command?.queryTimeout) clearTimeout(command.queryTimeout);
        if (mustDiscard(err)) this.discard(err);
      }
      cb(err, result);
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
    const conn = this.conn as MysqlConnection & { on?(event: 'error', fn: () => void): void };
    conn.on?.('error', () => undefined); // a socket error is re-emitted on the connection
    conn.destroy();
    if ((err as { code?: string }).code === QUERY_TIMEOUT) conn.stream?.destroy(err);
  }

  /** Back to the pool, unless discarded. */
  release(): void {
    if (!this.discarded) this.conn.release();
  }
}

/** Whether a connection must not be reused after `err`: a client-side timeout, a broken connection, a read-only server. */
function mustDiscard(err: Error & { code?: string; errno?: number; fatal?: boolean }): boolean {
  return err.code === QUERY_TIMEOUT || err.fatal === true || (err.errno !== undefined && READ_ONLY_ERRNOS.has(err.errno));
}

/**
 * One query on a connection taken from `pool` for it alone, limited to `timeoutMs` (0 = none); the
 * connection goes back to the pool, or is destroyed (see `BoundedConnection`). Same round trips as
 * `pool.query`, which cannot destroy a connection its query timed out on.
 * @internal
 */
export function pooledQuery<T = unknown>(pool: MysqlPool, sql: string, values: unknown[], timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    pool.getConnection((err, c) => {
      if (err) return reject(err);
      const conn = new BoundedConnection(c, timeoutMs);
      conn.query(sql, values, (qerr, result) => {
        conn.release();
        if (qerr) reject(qerr);
        else resolve(result);
      });
    }),
  );
}

function run<T = unknown>(target: MysqlQueryable, sql: string, values: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => target.query(sql, values, (err, result) => (err ? reject(err) : resolve(result))));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
