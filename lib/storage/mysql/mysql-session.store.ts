import { KeyedMutex } from '../keyed-mutex';
import { InvalidSessionItemsError } from '../../exceptions';
import { LockedOptions, LockedProgram, SqlSessionStore, SqlStep, driveProgram } from '../sql-session.store';
import type { OptionalTables, ResolvedTables } from '../session-store';
import { MYSQL_ERRNO, MysqlConnection, MysqlTransaction, mysqlPlaceholder, quoteMysql } from './mysql.connection';
import { mysqlSchemaDdl } from './mysql.ddl';

const MISSING = Symbol('missing session row');

/** Bytes of a statement kept free of values: the packet header and anything the driver adds. */
const PACKET_MARGIN = 1024;
/** `('', ''), ` around the two values of one row. */
const ROW_OVERHEAD = 10;

/**
 * UTF-8 bytes of a string once `mysql2` has escaped it into a statement: NUL, backspace, tab, newline,
 * carriage return, Ctrl-Z, both quotes and the backslash take two bytes. Exact only when it matters:
 * a text whose worst case (every unit 3 bytes, escaped) is small is counted at that worst case.
 */
function escapedBytes(text: string): number {
  if (text.length <= 4096) return text.length * 3;
  let extra = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 39 || c === 92 || c === 0 || c === 8 || c === 9 || c === 10 || c === 13 || c === 26) extra++;
  }
  return Buffer.byteLength(text, 'utf8') + extra;
}

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
  // (6): the same precision as the column default.
  protected readonly touchSession: string;
  private readonly sql: {
    ensureSession: string;
    lockSession: string;
    deleteMessages: string;
    deleteSession: string;
    deleteMetadata: string;
    upsertMetadata: string;
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
    super(tables, { quote: quoteMysql, placeholder: mysqlPlaceholder });
    const { sessions, messages, metadata } = this.names;
    this.touchSession = `UPDATE ${sessions} SET updated_at = CURRENT_TIMESTAMP(6) WHERE session_id = ?`;
    this.sql = {
      ensureSession: `INSERT INTO ${sessions} (session_id) VALUES (?) ON DUPLICATE KEY UPDATE session_id = session_id`,
      lockSession: `SELECT session_id FROM ${sessions} WHERE session_id = ? FOR UPDATE`,
      deleteMessages: `DELETE FROM ${messages} WHERE session_id = ?`,
      deleteSession: `DELETE FROM ${sessions} WHERE session_id = ?`,
      deleteMetadata: `DELETE FROM ${metadata} WHERE session_id = ?`,
      upsertMetadata:
        `INSERT INTO ${metadata} (session_id, metadata) VALUES (?, ?) ` +
        `ON DUPLICATE KEY UPDATE metadata = VALUES(metadata), updated_at = CURRENT_TIMESTAMP(6)`,
    };
  }

  protected query<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.connection.query<T[]>(sql, params);
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
  /**
   * Epoch ms as a DATETIME in the session's time zone, as the timestamp columns hold it.
   * `FROM_UNIXTIME` returns NULL after 2038-01-19 on MariaDB before 11.5 (a listing bounded by a later
   * date then matched nothing): add the milliseconds to the epoch instead, then convert from UTC
   * (exact within TIMESTAMP's range; beyond it, where no row can be yet, the UTC value is kept).
   */
  protected epochMsParam(placeholder: string): string {
    return `CONVERT_TZ(TIMESTAMPADD(MICROSECOND, ${placeholder} * 1000, '1970-01-01 00:00:00'), '+00:00', @@session.time_zone)`;
  }
  /**
   * Owners byte for byte: the owners table takes `session_id`'s collation, and on tables Python made
   * that is `utf8mb4_bin`, a PAD SPACE collation under which 'bob' = 'bob '. The plain `=` stays first
   * so that the `(owner, session_id)` index still finds the candidates; the binary comparison decides.
   */
  protected ownerMatches(column: string, bindOwner: () => string): string {
    return `${column} = ${bindOwner()} AND CAST(${column} AS BINARY) = CAST(${bindOwner()} AS BINARY)`;
  }
  protected metadataEquals(keyPlaceholder: string, jsonPlaceholder: string): string {
    // Both sides through the server's own JSON formatting, compared byte for byte: MariaDB compares
    // JSON_EXTRACT results with odd rules (and case-insensitively once compacted).
    const text = (e: string) => `CAST(${e} AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin`;
    return `${text(`JSON_EXTRACT(md.metadata, ${keyPlaceholder})`)} = ${text(`JSON_EXTRACT(${jsonPlaceholder}, '$')`)}`;
  }
  /**
   * One multi-row INSERT, or several when the batch would exceed the server's `max_allowed_packet`
   * (values are inlined, escaped, into the statement text). Each row must fit in a statement of its own.
   * @throws InvalidSessionItemsError naming `max_allowed_packet` for an item the server cannot take.
   */
  protected insertMessages(sessionId: string, data: string[]): SqlStep[] {
    const head = `INSERT INTO ${this.names.messages} (session_id, message_data) VALUES `;
    const budget = this.maxPacketBytes - PACKET_MARGIN - head.length;
    const idBytes = escapedBytes(sessionId) + ROW_OVERHEAD;
    const steps: SqlStep[] = [];
    let params: unknown[] = [];
    let size = 0;
    const flush = () => {
      const rows = params.length / 2;
      steps.push({ sql: head + Array.from({ length: rows }, () => '(?, ?)').join(', '), params, returnsRows: false });
      params = [];
      size = 0;
    };
    for (let i = 0; i < data.length; i++) {
      const rowBytes = idBytes + escapedBytes(data[i]);
      if (rowBytes > budget) {
        throw new InvalidSessionItemsError(
          `items[${i}] takes ${rowBytes} bytes in a MySQL statement, more than this server's max_allowed_packet ` +
            `(${this.maxPacketBytes} bytes) allows. Raise max_allowed_packet on the server (SET GLOBAL max_allowed_packet, ` +
            'and in its configuration file), or set limits.maxItemBytes below it so that such items are refused up front.',
        );
      }
      if (size + rowBytes > budget && params.length > 0) flush();
      params.push(sessionId, data[i]);
      size += rowBytes;
    }
    if (params.length > 0) flush();
    return steps;
  }
  protected deleteMessageIds(_sessionId: string, ids: (number | string)[]): SqlStep {
    return {
      sql: `DELETE FROM ${this.names.messages} WHERE id IN (${ids.map(() => '?').join(', ')})`,
      params: ids,
      returnsRows: false,
    };
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

  append(sessionId: string, data: string[]): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    const inserts = this.insertMessages(sessionId, data); // refused here, before any I/O
    return this.withSessionLock(sessionId, async (tx) => {
      await tx(this.touchSession, [sessionId]);
      for (const insert of inserts) await tx(insert.sql, insert.params);
    });
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
    const inserts = items.length > 0 ? this.insertMessages(sessionId, items) : []; // refused here, before any I/O
    await this.withSessionLock(sessionId, async (tx) => {
      await tx(this.touchSession, [sessionId]);
      if (json === null) await tx(this.sql.deleteMetadata, [sessionId]);
      else await tx(this.sql.upsertMetadata, [sessionId, json]);
      for (const step of inserts) await tx(step.sql, step.params);
    });
  }

  protected runLocked<T>(sessionId: string, program: LockedProgram<T>, options: LockedOptions<T> = {}): Promise<T> {
    return this.withSessionLock(
      sessionId,
      (tx) => driveProgram(program(), (step) => tx<unknown[]>(step.sql, step.params)),
      options.ifMissing,
      options.keep,
    );
  }

  /**
   * Runs `work` in a transaction holding the session-row lock, queued behind this process's writers
   * of the conversation. A missing session row is created outside the transaction (so that no
   * transaction holds gap locks on the sessions key) and the transaction run again, unless
   * `ifMissing` answers instead. Commits when `keep(result)`.
   */
  private withSessionLock<T>(
    sessionId: string,
    work: (tx: MysqlTransaction) => Promise<T>,
    ifMissing?: () => T,
    keep: (result: T) => boolean = () => true,
  ): Promise<T> {
    return this.writers.exclusive(sessionId, async () => {
      for (;;) {
        const result = await this.connection.transaction<T | typeof MISSING>(
          async (tx) => ((await tx<unknown[]>(this.sql.lockSession, [sessionId])).length === 0 ? MISSING : work(tx)),
          (r) => r !== MISSING && keep(r),
        );
        if (result !== MISSING) return result;
        if (ifMissing) return ifMissing();
        await this.connection.query(this.sql.ensureSession, [sessionId]);
      }
    });
  }
}
