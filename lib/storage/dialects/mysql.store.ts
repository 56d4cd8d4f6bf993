import { KeyedMutex } from '../keyed-mutex';
import type { ResolvedTables, StoredRow } from '../session-store';
import { SqlStoreBase } from './sql-store.base';

/** The subset of a callback-style `mysql2` connection / pool used here. */
interface MysqlQueryable {
  query(sql: string, values: unknown[], cb: (err: Error | null, result: any) => void): void;
}
interface MysqlPool extends MysqlQueryable {
  getConnection(cb: (err: Error | null, conn: MysqlConnection) => void): void;
}
interface MysqlConnection extends MysqlQueryable {
  release(): void;
}

const ER_LOCK_DEADLOCK = 1213;
const MAX_ATTEMPTS = 10;

/**
 * MySQL / MariaDB. Writers of one conversation are serialised twice over: in this process by a keyed
 * mutex, across processes by locking the session row first in every write transaction (one lock
 * order, so no deadlock cycle between our own statements). Deadlocks InnoDB still reports (gap locks
 * around a brand-new key) are retried with jittered backoff.
 * @internal
 */
export class MysqlSessionStore extends SqlStoreBase {
  readonly dialect = 'mysql' as const;
  private readonly writers = new KeyedMutex();
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
   * trailing-space padding (`utf8mb4_nopad_bin` on MariaDB, `utf8mb4_0900_bin` on MySQL 8).
   */
  constructor(
    private readonly pool: MysqlPool,
    tables: ResolvedTables,
    private readonly idCollation: string,
  ) {
    super(tables, (id) => `\`${id}\``, () => '?');
    const { S, M } = this;
    this.write = {
      ensureSession: `INSERT INTO ${S} (session_id) VALUES (?) ON DUPLICATE KEY UPDATE session_id = session_id`,
      touchSession: `UPDATE ${S} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?`,
      lockSession: `SELECT session_id FROM ${S} WHERE session_id = ? FOR UPDATE`,
      newest: `SELECT id, message_data FROM ${M} WHERE session_id = ? ORDER BY id DESC LIMIT 1`,
      deleteOne: `DELETE FROM ${M} WHERE id = ?`,
      deleteMessages: `DELETE FROM ${M} WHERE session_id = ?`,
      deleteSession: `DELETE FROM ${S} WHERE session_id = ?`,
    };
  }

  protected select<T>(sql: string, params: unknown[]): Promise<T[]> {
    return run<T[]>(this.pool, sql, params);
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
        await run(this.pool, this.write.ensureSession, [sessionId]);
      }
    });
  }

  popNewest(sessionId: string): Promise<StoredRow | undefined> {
    return this.writers.run(sessionId, () =>
      this.transaction(async (conn) => {
        const locked = await run<any[]>(conn, this.write.lockSession, [sessionId]);
        if (locked.length === 0) return undefined;
        const [row] = await run<StoredRow[]>(conn, this.write.newest, [sessionId]);
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

  async createTables(): Promise<void> {
    const { S, M, quote, tables, idCollation } = this;
    const idx = this.indexNames;
    const idType = `VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${idCollation} NOT NULL`;
    await run(
      this.pool,
      `CREATE TABLE IF NOT EXISTS ${S} (` +
        `session_id ${idType}, ` +
        `created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
        `updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
        `PRIMARY KEY (session_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      [],
    );
    await run(
      this.pool,
      `CREATE TABLE IF NOT EXISTS ${M} (` +
        `id BIGINT NOT NULL AUTO_INCREMENT, ` +
        `session_id ${idType}, ` +
        `message_data LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ` +
        `created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
        `PRIMARY KEY (id), ` +
        `KEY ${quote(idx.sessionTime)} (session_id, created_at), ` +
        `KEY ${quote(idx.sessionId)} (session_id, id), ` +
        `CONSTRAINT ${quote(`fk_${tables.messages}_session`)} FOREIGN KEY (session_id) REFERENCES ${S} (session_id) ON DELETE CASCADE` +
        `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      [],
    );
  }

  /** Runs `work` in a transaction on one pooled connection, retrying the whole of it on deadlock. */
  private async transaction<T>(work: (conn: MysqlConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = await new Promise<MysqlConnection>((resolve, reject) =>
        this.pool.getConnection((err, c) => (err ? reject(err) : resolve(c))),
      );
      let broken = false;
      try {
        await run(conn, 'START TRANSACTION', []);
        const result = await work(conn);
        await run(conn, 'COMMIT', []);
        return result;
      } catch (err) {
        await run(conn, 'ROLLBACK', []).catch(() => {
          broken = true;
        });
        if ((err as { errno?: number }).errno === ER_LOCK_DEADLOCK && attempt < MAX_ATTEMPTS) {
          await sleep(2 + Math.random() * 10 * attempt);
          continue;
        }
        throw err;
      } finally {
        if (broken) (conn as unknown as { destroy?: () => void }).destroy?.();
        else conn.release();
      }
    }
  }
}

function run<T = unknown>(target: MysqlQueryable, sql: string, values: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => target.query(sql, values, (err, result) => (err ? reject(err) : resolve(result))));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
