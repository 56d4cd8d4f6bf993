import { mainIsCurrent, noBranches } from '../branches/branch-conditions';
import { KeyedMutex } from '../keyed-mutex';
import { LockedOptions, LockedProgram, SqlStep, driveProgram } from '../program/statement-program';
import { NEWEST_FIRST, ReadSql, arraysToColumns } from '../session-reads';
import type {
  AppendOptions,
  OptionalTables,
  PopDecision,
  PopOptions,
  PopOutcome,
  ResolvedTables,
  StoredColumns,
  StoredRow,
} from '../session-store';
import { SqlSessionStore } from '../sql-session.store';
import { BlockAnswer, BlockCondition, appendFitsInBlock, blockAnswer, lockedBlock } from './mariadb-block';
import { MYSQL_ERRNO, MysqlConnection, MysqlTransaction } from './mysql.connection';
import { mysqlSchemaDdl } from './mysql.ddl';
import { mysqlSyntax } from './mysql.syntax';

const MISSING = Symbol('missing session row');
const noRow = (): undefined => undefined;

/**
 * MySQL / MariaDB: all of its SQL. Writers of one conversation are serialised twice over: in this
 * process by a keyed mutex, across processes by locking the session row first in every write
 * transaction (one lock order, so no deadlock cycle between our own statements). Deadlocks InnoDB
 * still reports (gap locks around a brand-new key) are retried by the connection.
 * @internal
 */
export class MysqlSessionStore extends SqlSessionStore {
  readonly dialect = 'mysql' as const;
  /** Serialises this process's writers per conversation. */
  private readonly writers = new KeyedMutex();
  /** Whether the server knows `SKIP LOCKED` (MySQL >= 8.0, MariaDB >= 10.6); found out on first use. */
  private skipLocked = true;
  /** Whether the server knows `DELETE ... RETURNING` (MariaDB, not MySQL); found out on first use. */
  private deleteReturning = true;
  /** Whether the server runs `BEGIN NOT ATOMIC` blocks (MariaDB, not MySQL); found out on first use. */
  private blocks = true;
  private readonly sql: {
    ensureSession: string;
    lockSession: string;
    deleteMessages: string;
    deleteSession: string;
    deleteMetadata: string;
    upsertMetadata: string;
    popNewest: string;
    /** `popNewest`, deleting only while the conversation has no branch (`noBranches`). */
    popNewestIfNoBranches: string;
  };

  /**
   * @param idCollation the `session_id` collation of tables this store creates (see `probeMysqlIdCollation`).
   * @param maxPacketBytes the server's `max_allowed_packet`: the largest statement it accepts.
   */
  constructor(
    private readonly connection: MysqlConnection,
    tables: ResolvedTables,
    private readonly idCollation: string,
    private readonly maxPacketBytes: number,
  ) {
    super(tables, mysqlSyntax(maxPacketBytes));
    const { sessions, messages, metadata } = this.names;
    this.sql = {
      ensureSession: `INSERT INTO ${sessions} (session_id) VALUES (?) ON DUPLICATE KEY UPDATE session_id = session_id`,
      lockSession: `SELECT session_id FROM ${sessions} WHERE session_id = ? FOR UPDATE`,
      deleteMessages: `DELETE FROM ${messages} WHERE session_id = ?`,
      deleteSession: `DELETE FROM ${sessions} WHERE session_id = ?`,
      deleteMetadata: `DELETE FROM ${metadata} WHERE session_id = ?`,
      upsertMetadata:
        `INSERT INTO ${metadata} (session_id, metadata) VALUES (?, ?) ` +
        `ON DUPLICATE KEY UPDATE metadata = VALUES(metadata), updated_at = CURRENT_TIMESTAMP(6)`,
      popNewest: `DELETE FROM ${messages} WHERE ${this.reads.where} ${NEWEST_FIRST} LIMIT 1 RETURNING id, message_data`,
      popNewestIfNoBranches:
        `DELETE FROM ${messages} WHERE ${this.reads.where} AND ${noBranches(this.names, '?')} ` +
        `${NEWEST_FIRST} LIMIT 1 RETURNING id, message_data`,
    };
  }

  /**
   * Without rows to keep (no encryption), on MariaDB: the lock-first transaction, its newest row deleted
   * and returned by one `DELETE ... RETURNING` (InnoDB deletes what is committed now, under the lock),
   * all of it one block (`lockedBlock`): one round trip instead of 5. Only a corrupt newest row leads on
   * to the batched pop. MySQL (no `RETURNING`) and pops that may keep rows: the batched pop, which
   * decides before it deletes.
   */
  async popNewest<T>(
    sessionId: string,
    decode: (text: string) => PopDecision<T>,
    options: PopOptions = {},
  ): Promise<PopOutcome<T>> {
    if (options.mayKeep || !this.deleteReturning) return super.popNewest(sessionId, decode, options);
    const guarded = this.branchesInUse;
    const pop = guarded
      ? { sql: this.sql.popNewestIfNoBranches, params: [...this.reads.args(sessionId), sessionId] }
      : { sql: this.sql.popNewest, params: this.reads.args(sessionId) };
    let row: StoredRow | undefined;
    try {
      row = this.blocks
        ? await this.inBlock(sessionId, [{ ...pop, returnsRows: true }], (a) => a.rowSets[0]?.[0] as StoredRow, noRow)
        : await this.withSessionLock(sessionId, async (tx) => (await tx<StoredRow[]>(pop.sql, pop.params))[0], noRow);
    } catch (err) {
      if ((err as { errno?: number }).errno !== MYSQL_ERRNO.parseError) throw err;
      this.deleteReturning = false; // MySQL, MariaDB < 10.5: refused or rolled back, nothing deleted
      return super.popNewest(sessionId, decode, options);
    }
    // Nothing: an empty conversation, or one with branches: the locked pop (freezes what they inherit first).
    if (guarded && !row) return super.popNewest(sessionId, decode, options);
    return this.finishDeleteFirstPop(sessionId, decode, row);
  }

  protected query<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.connection.query<T[]>(sql, params);
  }

  /** The whole read with rows as arrays (`rowsAsArray`): no object per row. */
  protected async queryColumns(sql: ReadSql, params: unknown[]): Promise<StoredColumns> {
    return arraysToColumns(await this.connection.queryArrays(sql.all, params));
  }

  async createTables(): Promise<void> {
    const ddl = mysqlSchemaDdl(this.tables, this.idCollation);
    for (const statement of [...ddl.createCoreTables, ...ddl.createOptionalTables])
      await this.connection.query(statement, []);
    const found = await this.connection.query<unknown[]>(
      'SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?',
      [this.tables.sessions, this.names.index.updated],
    );
    if (found.length > 0) return;
    // Another process may create it between the look and the CREATE: that race is lost gracefully.
    await this.connection.query(ddl.createUpdatedIndex, []).catch((err: { errno?: number }) => {
      if (err.errno !== MYSQL_ERRNO.duplicateKeyName) throw err;
    });
  }

  append(sessionId: string, data: string[], options?: AppendOptions): Promise<boolean> {
    if (data.length === 0) return Promise.resolve(true);
    const inserts = this.statements.insert(sessionId, data); // refused here, before any I/O
    const following = options?.ifMainIsCurrent === true && this.branchesInUse;
    if (this.blocks && inserts.length === 1 && appendFitsInBlock(this.maxPacketBytes, sessionId, data)) {
      // Following the current branch: the steps run only while main is current (read under the lock).
      const condition = following ? { sql: mainIsCurrent(this.names, '?'), params: [sessionId] } : undefined;
      const steps = [this.statements.touch(sessionId), inserts[0]];
      return this.inBlock(sessionId, steps, (answer) => answer.ran, undefined, condition).catch((err) => {
        if ((err as { errno?: number }).errno !== MYSQL_ERRNO.parseError) throw err;
        this.blocks = false; // MySQL refused the block before any of it ran: statement by statement
        return this.append(sessionId, data, options);
      });
    }
    return this.withSessionLock(sessionId, async (tx) => {
      // Following the current branch, the touch is also the check (no round trip more): it matches the
      // (locked, existing) session row only while main is current.
      const touch = following ? this.touchIfMainIsCurrent(sessionId) : this.statements.touch(sessionId);
      const touched = await tx<{ affectedRows: number }>(touch.sql, touch.params);
      if (following && touched.affectedRows === 0) return false;
      for (const insert of inserts) await tx(insert.sql, insert.params);
      return true;
    });
  }

  private touchIfMainIsCurrent(sessionId: string): { sql: string; params: unknown[] } {
    return {
      sql:
        `UPDATE ${this.names.sessions} SET updated_at = CURRENT_TIMESTAMP(6) WHERE session_id = ? ` +
        `AND ${mainIsCurrent(this.names, '?')}`,
      params: [sessionId, sessionId],
    };
  }

  protected async swapRow(sql: string, params: unknown[]): Promise<boolean> {
    return (await this.connection.query<{ affectedRows: number }>(sql, params)).affectedRows > 0;
  }

  deleteConversation(sessionId: string): Promise<boolean> {
    return this.writers.exclusive(sessionId, () =>
      this.connection.transaction(async (tx) => {
        const locked = await tx<unknown[]>(this.sql.lockSession, [sessionId]);
        await tx(this.sql.deleteMessages, [sessionId]);
        if (locked.length === 0) return false;
        await tx(this.sql.deleteSession, [sessionId]); // the optional tables go by ON DELETE CASCADE
        return true;
      }),
    );
  }

  async purgeIdle(idleForMs: number, batchSize: number, _tables: OptionalTables): Promise<string[]> {
    try {
      return await this.purgeOnce(idleForMs, batchSize);
    } catch (err) {
      if (!this.skipLocked || (err as { errno?: number }).errno !== MYSQL_ERRNO.parseError) throw err;
      // Older server: concurrent purgers wait for each other's row locks instead of skipping them.
      this.skipLocked = false;
      return this.purgeOnce(idleForMs, batchSize);
    }
  }

  private purgeOnce(idleForMs: number, batchSize: number): Promise<string[]> {
    const { sessions, messages } = this.names;
    return this.connection.transaction(async (tx) => {
      const victims = await tx<{ session_id: string }[]>(
        `SELECT session_id FROM ${sessions} WHERE updated_at < NOW(6) - INTERVAL ? MICROSECOND ` +
          `ORDER BY updated_at LIMIT ? FOR UPDATE${this.skipLocked ? ' SKIP LOCKED' : ''}`,
        [Math.round(idleForMs * 1000), batchSize],
      );
      if (victims.length === 0) return [];
      const ids = victims.map((v) => v.session_id);
      const list = ids.map(() => '?').join(', ');
      await tx(`DELETE FROM ${messages} WHERE session_id IN (${list})`, ids);
      await tx(`DELETE FROM ${sessions} WHERE session_id IN (${list})`, ids);
      return ids;
    });
  }

  async writeMetadata(sessionId: string, json: string | null, items: string[]): Promise<void> {
    if (json === null && items.length === 0) {
      await this.connection.query(this.sql.deleteMetadata, [sessionId]);
      return;
    }
    const inserts = items.length > 0 ? this.statements.insert(sessionId, items) : []; // refused here, before any I/O
    await this.withSessionLock(sessionId, async (tx) => {
      const touch = this.statements.touch(sessionId);
      await tx(touch.sql, touch.params);
      if (json === null) await tx(this.sql.deleteMetadata, [sessionId]);
      else await tx(this.sql.upsertMetadata, [sessionId, json]);
      for (const step of inserts) await tx(step.sql, step.params);
    });
  }

  /**
   * MariaDB: `steps` under the session-row lock in one round trip (`lockedBlock`), as `withSessionLock`
   * runs a transaction (`onceSessionRowExists`: queued, a missing row created and the block sent again,
   * or `ifMissing`). MySQL refuses the block with a parse error, which reaches the caller (who then goes
   * on statement by statement).
   */
  private inBlock<T>(
    sessionId: string,
    steps: SqlStep[],
    answer: (a: BlockAnswer) => T,
    ifMissing?: () => T,
    condition?: BlockCondition,
  ): Promise<T> {
    const block = lockedBlock(this.names.sessions, sessionId, steps, condition);
    return this.onceSessionRowExists(
      sessionId,
      async () => {
        const got = blockAnswer(await this.connection.block(block.sql, block.params));
        return got.locked ? answer(got) : MISSING;
      },
      ifMissing,
    );
  }

  protected runLocked<T>(sessionId: string, program: LockedProgram<T>, options: LockedOptions<T> = {}): Promise<T> {
    return this.withSessionLock(
      sessionId,
      (tx) => driveProgram(program(), (step) => tx<unknown[]>(step.sql, step.params)),
      options.ifMissing,
      options.keep,
    );
  }

  /** Runs `work` in a transaction holding the session-row lock (`onceSessionRowExists`); commits when `keep(result)`. */
  private withSessionLock<T>(
    sessionId: string,
    work: (tx: MysqlTransaction) => Promise<T>,
    ifMissing?: () => T,
    keep: (result: T) => boolean = () => true,
  ): Promise<T> {
    return this.onceSessionRowExists(
      sessionId,
      () =>
        this.connection.transaction<T | typeof MISSING>(
          async (tx) => ((await tx<unknown[]>(this.sql.lockSession, [sessionId])).length === 0 ? MISSING : work(tx)),
          (r) => r !== MISSING && keep(r),
        ),
      ifMissing,
    );
  }

  /**
   * Runs `attempt` (a locked write that answers MISSING when the session row is not there) queued behind
   * this process's writers of the conversation. MISSING: `ifMissing` answers, or the row is created
   * outside any transaction (so that none holds gap locks on the sessions key) and `attempt` runs again.
   */
  private onceSessionRowExists<T>(
    sessionId: string,
    attempt: () => Promise<T | typeof MISSING>,
    ifMissing?: () => T,
  ): Promise<T> {
    return this.writers.exclusive(sessionId, async () => {
      for (;;) {
        const result = await attempt();
        if (result !== MISSING) return result;
        if (ifMissing) return ifMissing();
        await this.connection.query(this.sql.ensureSession, [sessionId]);
      }
    });
  }
}
