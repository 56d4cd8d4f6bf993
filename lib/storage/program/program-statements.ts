import type { DialectSyntax } from '../dialect-syntax';
import { NEWEST_FIRST, SessionReads } from '../session-reads';
import type { TableNames } from '../table-names';
import type { SqlStep } from './statement-program';

/**
 * The statements the locked programs (`*.program.ts`) yield, for one dialect and one pair of tables:
 * every SQL text of a history transaction, a compaction, a rewrite, a pop and a clear is here.
 * @internal
 */
export class ProgramStatements {
  private readonly param: (n: number) => string;
  private readonly popBatchSql: string;

  constructor(
    private readonly names: TableNames,
    private readonly syntax: DialectSyntax,
    private readonly reads: SessionReads,
  ) {
    this.param = syntax.placeholder;
    this.popBatchSql =
      `SELECT id, message_data FROM ${names.messages} WHERE ${reads.where} ${NEWEST_FIRST} ` +
      `LIMIT ${this.param(reads.params + 1)}${syntax.lockRowsSuffix}`;
  }

  /** Statements appending `data` to the conversation (its session row exists). May throw before any I/O. */
  insert(sessionId: string, data: string[]): SqlStep[] {
    return this.syntax.insertMessages(this.names.messages, sessionId, data);
  }

  /** Deletes the conversation's rows `ids`. */
  deleteIds(sessionId: string, ids: (number | string)[]): SqlStep {
    return this.syntax.deleteMessageIds(this.names.messages, sessionId, ids);
  }

  /** Deletes every row of the conversation. */
  deleteAll(sessionId: string): SqlStep {
    const sql = `DELETE FROM ${this.names.messages} WHERE session_id = ${this.param(1)}`;
    return { sql, params: [sessionId], returnsRows: false };
  }

  /** Sets the session row's `updated_at` to now. */
  touch(sessionId: string): SqlStep {
    const sql = `UPDATE ${this.names.sessions} SET updated_at = ${this.syntax.now} WHERE session_id = ${this.param(1)}`;
    return { sql, params: [sessionId], returnsRows: false };
  }

  /** Every row of the conversation, oldest first, locked where the dialect locks rows. */
  allRowsLocked(sessionId: string): SqlStep {
    const sql =
      `SELECT id, message_data FROM ${this.names.messages} WHERE session_id = ${this.param(1)} ` +
      `ORDER BY id${this.syntax.lockRowsSuffix}`;
    return { sql, params: [sessionId], returnsRows: true };
  }

  /** The `count` newest rows, newest first, locked where the dialect locks rows. */
  newestRowsLocked(sessionId: string, count: number): SqlStep {
    const sql =
      `SELECT id, message_data FROM ${this.names.messages} WHERE session_id = ${this.param(1)} ` +
      `ORDER BY id DESC LIMIT ${this.param(2)}${this.syntax.lockRowsSuffix}`;
    return { sql, params: [sessionId, count], returnsRows: true };
  }

  /** A pop's batch: the `limit` newest rows, newest first, in the order of the (session_id, id) index, locked. */
  popBatch(sessionId: string, limit: number): SqlStep {
    return { sql: this.popBatchSql, params: this.reads.args(sessionId, limit), returnsRows: true };
  }

  /** The `limit` newest rows below `beforeId`, newest first. */
  newestBefore(sessionId: string, beforeId: number | string, limit: number): SqlStep {
    return { sql: this.reads.sql.newestBefore, params: this.reads.args(sessionId, beforeId, limit), returnsRows: true };
  }

  /** Replaces the text of row `id` (pinned to the conversation where the dialect routes by it). */
  updateRow(sessionId: string, id: number | string, data: string): SqlStep {
    const { messages } = this.names;
    const param = this.param;
    return this.syntax.pinSessionId
      ? {
          sql: `UPDATE ${messages} SET message_data = ${param(1)} WHERE session_id = ${param(3)} AND id = ${param(2)}`,
          params: [data, id, sessionId],
          returnsRows: false,
        }
      : {
          sql: `UPDATE ${messages} SET message_data = ${param(1)} WHERE id = ${param(2)}`,
          params: [data, id],
          returnsRows: false,
        };
  }

  /** The `transaction_hash` recorded for an operation id (rows: `{ transaction_hash }`). */
  recordedOperation(sessionId: string, operationId: string): SqlStep {
    const sql =
      `SELECT transaction_hash FROM ${this.names.operations} WHERE session_id = ${this.param(1)} ` +
      `AND operation_id = ${this.param(2)}`;
    return { sql, params: [sessionId, operationId], returnsRows: true };
  }

  /** Records an applied operation id with its digest. */
  recordOperation(sessionId: string, operationId: string, hash: string): SqlStep {
    const param = this.param;
    const sql =
      `INSERT INTO ${this.names.operations} (session_id, operation_id, transaction_hash) ` +
      `VALUES (${param(1)}, ${param(2)}, ${param(3)})`;
    return { sql, params: [sessionId, operationId, hash], returnsRows: false };
  }
}
