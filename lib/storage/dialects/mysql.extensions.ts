import type { KeyedMutex } from '../keyed-mutex';
import type { ResolvedTables } from '../session-store';
import type { ExtensionTables, HistoryOutcome, HistoryPlan } from '../store-extensions';
import { ExtensionsBase, SqlStep, extensionNames } from './extensions.base';
import { MysqlPool, MysqlQueryable, pooledQuery } from './mysql.store';

const q = (id: string) => `\`${id}\``;

/**
 * What the MySQL session store lends: its per-conversation mutex, its deadlock-retrying transaction
 * and the client-side limit of every query (ms; 0 = none).
 */
export interface MysqlTransactionHost {
  readonly writers: KeyedMutex;
  readonly queryTimeoutMs: number;
  transaction<T>(work: (conn: MysqlQueryable) => Promise<T>): Promise<T>;
}

/**
 * MySQL / MariaDB DDL of the optional tables (metadata as JSON text in a binary collation, the
 * operation log) and the `(updated_at, session_id)` listing index. The foreign keys cascade, so
 * deleting a conversation removes them too.
 * @internal
 */
export function mysqlExtensionDdl(tables: ResolvedTables, idCollation: string): string[] {
  const { S, MD, OPS, updatedIndex } = extensionNames(tables, q);
  const idType = `VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${idCollation} NOT NULL`;
  return [
    `CREATE TABLE IF NOT EXISTS ${MD} (` +
      `session_id ${idType}, ` +
      `metadata LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ` +
      `updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
      `PRIMARY KEY (session_id), ` +
      `CONSTRAINT ${q(`fk_${tables.sessions}_metadata`)} FOREIGN KEY (session_id) REFERENCES ${S} (session_id) ON DELETE CASCADE` +
      `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE IF NOT EXISTS ${OPS} (` +
      `session_id ${idType}, ` +
      // Exact like session_id (a NO PAD binary collation where the server has one): 'op' and 'op ' differ.
      `operation_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${idCollation} NOT NULL, ` +
      `transaction_hash CHAR(64) CHARACTER SET ascii NOT NULL, ` +
      `created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ` +
      `PRIMARY KEY (session_id, operation_id), ` +
      `CONSTRAINT ${q(`fk_${tables.messages}_operations`)} FOREIGN KEY (session_id) REFERENCES ${S} (session_id) ON DELETE CASCADE` +
      `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    // Last, and without IF NOT EXISTS (MySQL has none): `createTables` probes for it first.
    `CREATE INDEX ${q(updatedIndex)} ON ${S} (updated_at, session_id)`,
  ];
}

/**
 * MySQL / MariaDB management SQL. Every write takes the session-row lock first (the session store's
 * lock order) inside the store's deadlock-retrying transaction, queued behind this process's other
 * writers of the conversation.
 * @internal
 */
export class MysqlStoreExtensions extends ExtensionsBase {
  readonly ddl: string[];

  constructor(
    private readonly pool: MysqlPool,
    private readonly host: MysqlTransactionHost,
    tables: ResolvedTables,
    idCollation: string,
  ) {
    super(tables, q, () => '?');
    this.ddl = mysqlExtensionDdl(tables, idCollation);
  }

  protected select<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.pooled<T[]>(sql, params);
  }

  /** One query on a pooled connection of its own, bounded like the session store's. */
  private pooled<T = unknown>(sql: string, params: unknown[]): Promise<T> {
    return pooledQuery<T>(this.pool, sql, params, this.host.queryTimeoutMs);
  }

  protected timeKey(column: string): string {
    return `DATE_FORMAT(${column}, '%Y-%m-%d %H:%i:%s.%f')`;
  }
  protected timeKeyParam(placeholder: string): string {
    return `CAST(${placeholder} AS DATETIME(6))`;
  }
  protected epochMs(column: string): string {
    return `UNIX_TIMESTAMP(${column}) * 1000`;
  }
  protected epochMsParam(placeholder: string): string {
    return `FROM_UNIXTIME(${placeholder} / 1000)`;
  }
  protected metadataEquals(keyPlaceholder: string, jsonPlaceholder: string): string {
    // Both sides through the server's own JSON formatting, compared byte for byte: MariaDB compares
    // JSON_EXTRACT results with odd rules (and case-insensitively once compacted).
    const text = (e: string) => `CAST(${e} AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin`;
    return `${text(`JSON_EXTRACT(md.metadata, ${keyPlaceholder})`)} = ${text(`JSON_EXTRACT(${jsonPlaceholder}, '$')`)}`;
  }
  protected insertSteps(sessionId: string, data: string[]): SqlStep[] {
    const params: unknown[] = [];
    for (const d of data) params.push(sessionId, d);
    return [{ sql: `INSERT INTO ${this.M} (session_id, message_data) VALUES ${data.map(() => '(?, ?)').join(', ')}`, params, select: false }];
  }
  protected deleteIdsStep(ids: (number | string)[]): SqlStep {
    return { sql: `DELETE FROM ${this.M} WHERE id IN (${ids.map(() => '?').join(', ')})`, params: ids, select: false };
  }
  protected touchSql(): string {
    return `UPDATE ${this.S} SET updated_at = CURRENT_TIMESTAMP(6) WHERE session_id = ?`;
  }

  async createTables(): Promise<void> {
    const [create, createIndex] = [this.ddl.slice(0, -1), this.ddl[this.ddl.length - 1]];
    for (const statement of create) await this.pooled(statement, []);
    // MySQL has no CREATE INDEX IF NOT EXISTS: look first, and accept losing a race to another process.
    const found = await this.pooled<any[]>(
      'SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?',
      [this.tables.sessions, this.updatedIndex],
    );
    if (found.length === 0) {
      await this.pooled(createIndex, []).catch((err: { errno?: number }) => {
        if (err.errno !== 1061) throw err; // ER_DUP_KEYNAME
      });
    }
  }

  /** Whether the server knows `SKIP LOCKED` (MySQL >= 8.0, MariaDB >= 10.6); found out on first use. */
  private skipLocked = true;

  async purgeBatch(idleForMs: number, batchSize: number): Promise<string[]> {
    try {
      return await this.purgeOnce(idleForMs, batchSize);
    } catch (err) {
      if (!this.skipLocked || (err as { errno?: number }).errno !== 1064) throw err; // ER_PARSE_ERROR
      // Older server: concurrent purgers wait for each other's row locks instead of skipping them.
      this.skipLocked = false;
      return this.purgeOnce(idleForMs, batchSize);
    }
  }

  private purgeOnce(idleForMs: number, batchSize: number): Promise<string[]> {
    return this.host.transaction(async (conn) => {
      const victims = await run<{ session_id: string }[]>(
        conn,
        `SELECT session_id FROM ${this.S} WHERE updated_at < NOW(6) - INTERVAL ? MICROSECOND ` +
          `ORDER BY updated_at LIMIT ? FOR UPDATE${this.skipLocked ? ' SKIP LOCKED' : ''}`,
        [Math.round(idleForMs * 1000), batchSize],
      );
      if (victims.length === 0) return [];
      const ids = victims.map((v) => v.session_id);
      const list = ids.map(() => '?').join(', ');
      await run(conn, `DELETE FROM ${this.M} WHERE session_id IN (${list})`, ids);
      await run(conn, `DELETE FROM ${this.S} WHERE session_id IN (${list})`, ids);
      return ids;
    });
  }

  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    if (json === null && items.length === 0) {
      await this.pooled(`DELETE FROM ${this.MD} WHERE session_id = ?`, [sessionId]);
      return;
    }
    await this.withSessionLock(sessionId, async (conn) => {
      await run(conn, this.touchSql(), [sessionId]);
      if (json === null) await run(conn, `DELETE FROM ${this.MD} WHERE session_id = ?`, [sessionId]);
      else {
        await run(
          conn,
          `INSERT INTO ${this.MD} (session_id, metadata) VALUES (?, ?) ` +
            `ON DUPLICATE KEY UPDATE metadata = VALUES(metadata), updated_at = CURRENT_TIMESTAMP(6)`,
          [sessionId, json],
        );
      }
      if (items.length > 0) for (const step of this.insertSteps(sessionId, items)) await run(conn, step.sql, step.params);
      return true;
    });
  }

  async applyHistory(sessionId: string, plan: HistoryPlan): Promise<HistoryOutcome> {
    return this.withSessionLock<HistoryOutcome>(
      sessionId,
      (conn) => this.runHistorySteps(sessionId, plan, (step) => run<any[]>(conn, step.sql, step.params)),
      // No session row: nothing to replay or replace; create it only to append.
      () => (plan.replace && plan.replace.count > 0 ? { status: 'mismatch' } : undefined),
    );
  }

  /**
   * Runs `work` in a transaction holding the session-row lock, queued behind this process's writers
   * of the conversation. A missing session row is created outside the transaction (so that no
   * transaction holds gap locks on the sessions key) unless `whenMissing` answers instead.
   */
  private withSessionLock<T>(
    sessionId: string,
    work: (conn: MysqlQueryable) => Promise<T>,
    whenMissing?: () => T | undefined,
  ): Promise<T> {
    const missing = Symbol('missing');
    return this.host.writers.run(sessionId, async () => {
      for (;;) {
        const result = await this.host.transaction(async (conn) => {
          const locked = await run<any[]>(conn, `SELECT session_id FROM ${this.S} WHERE session_id = ? FOR UPDATE`, [sessionId]);
          if (locked.length === 0) return missing;
          return work(conn);
        });
        if (result !== missing) return result as T;
        const answer = whenMissing?.();
        if (answer !== undefined) return answer;
        await this.pooled(`INSERT INTO ${this.S} (session_id) VALUES (?) ON DUPLICATE KEY UPDATE session_id = session_id`, [sessionId]);
      }
    });
  }
}

function run<T = unknown>(target: MysqlQueryable, sql: string, values: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => target.query(sql, values, (err, result) => (err ? reject(err) : resolve(result))));
}

export type { ExtensionTables };
