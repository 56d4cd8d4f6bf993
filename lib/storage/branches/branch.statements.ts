import type { DialectSyntax } from '../dialect-syntax';
import type { SqlStep } from '../program/statement-program';
import type { TableNames } from '../table-names';
import { MAIN_BRANCH } from './branch-view.sql';

/** Most rows one multi-row insert of branch items carries (placeholders and packet size stay small). */
const INSERT_ROWS_MAX = 200;
/** Most text one multi-row insert of branch items carries. */
const INSERT_BYTES_MAX = 1 << 20;
/** Most ids one delete names. */
const DELETE_IDS_MAX = 500;

/** A branch row as read (`created_ms`: epoch milliseconds by the database clock). @internal */
export interface BranchRow {
  branch_id: string;
  name: string | null;
  parent_branch_id: string | null;
  from_turn: number | string | null;
  is_current: number | string;
  deleted: number | string;
  created_ms: number | string;
}

/** A segment row: branch `branch_id` inherits line `source_id`'s rows with `id <= up_to`, at `position`. @internal */
export interface SegmentRow {
  branch_id: string;
  position: number | string;
  source_id: string;
  up_to: number | string;
}

/**
 * The statements of the branch programs (`branch.programs.ts`) and of the branch reads that are not a
 * view (`branch-view.sql.ts`): branch rows, segments and the rows of lines other than main. Every
 * statement pins `session_id` by equality (Citus routes it to the conversation's shard).
 * @internal
 */
export class BranchStatements {
  private readonly p: (n: number) => string;
  /**
   * Copies go through the client (a read, then inserts) rather than `INSERT ... SELECT`: on Citus, whose
   * `INSERT ... SELECT` takes ids from the coordinator's sequence and so is not routed to one shard.
   */
  readonly copyThroughClient: boolean;

  constructor(
    private readonly names: TableNames,
    private readonly syntax: DialectSyntax,
  ) {
    this.p = syntax.placeholder;
    this.copyThroughClient = syntax.pinSessionId;
  }

  private step(sql: string, params: unknown[], returnsRows = false): SqlStep {
    return { sql, params, returnsRows };
  }

  /** Every branch row of the conversation. */
  branches(sessionId: string): SqlStep {
    const { p } = this;
    return this.step(
      `SELECT branch_id, name, parent_branch_id, from_turn, is_current, deleted, ` +
        `${this.syntax.epochMs('created_at')} AS created_ms FROM ${this.names.branches} WHERE session_id = ${p(1)}`,
      [sessionId],
      true,
    );
  }

  /** When each main row of the conversation was stored (rows `{ id, created_ms }`). */
  mainTimes(sessionId: string): SqlStep {
    return this.step(
      `SELECT id, ${this.syntax.epochMs('created_at')} AS created_ms FROM ${this.names.messages} WHERE session_id = ${this.p(1)}`,
      [sessionId],
      true,
    );
  }

  /**
   * The current branch's id (no row: main). Only with the session row: branch rows a deleted
   * conversation left behind (SQLite without foreign keys, Python's `clear_session`) mean nothing.
   */
  current(sessionId: string): SqlStep {
    const { p } = this;
    return this.step(
      `SELECT c.branch_id FROM ${this.names.branches} c JOIN ${this.names.sessions} s ON s.session_id = c.session_id ` +
        `WHERE c.session_id = ${p(1)} AND s.session_id = ${p(2)} AND c.is_current = 1 AND c.deleted = 0`,
      [sessionId, sessionId],
      true,
    );
  }

  /** Every segment of the conversation, by branch and position. */
  segments(sessionId: string): SqlStep {
    return this.step(
      `SELECT branch_id, position, source_id, up_to FROM ${this.names.branchSegments} ` +
        `WHERE session_id = ${this.p(1)} ORDER BY branch_id, position`,
      [sessionId],
      true,
    );
  }

  insertBranch(
    sessionId: string,
    row: { id: string; name: string | null; parent: string | null; fromTurn: number | null },
  ): SqlStep {
    const { p } = this;
    return this.step(
      `INSERT INTO ${this.names.branches} (session_id, branch_id, name, parent_branch_id, from_turn) ` +
        `VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`,
      [sessionId, row.id, row.name, row.parent, row.fromTurn],
    );
  }

  /** Marks `branchId` current (main: the main row, when there is one) and every other branch not. */
  setCurrent(sessionId: string, branchId: string): SqlStep {
    const { p } = this;
    return this.step(
      `UPDATE ${this.names.branches} SET is_current = CASE WHEN branch_id = ${p(1)} THEN 1 ELSE 0 END ` +
        `WHERE session_id = ${p(2)}`,
      [branchId, sessionId],
    );
  }

  markDeleted(sessionId: string, branchId: string): SqlStep {
    const { p } = this;
    return this.step(
      `UPDATE ${this.names.branches} SET deleted = 1, is_current = 0 WHERE session_id = ${p(1)} AND branch_id = ${p(2)}`,
      [sessionId, branchId],
    );
  }

  insertSegment(sessionId: string, branchId: string, position: number, sourceId: string, upTo: string): SqlStep {
    const { p } = this;
    return this.step(
      `INSERT INTO ${this.names.branchSegments} (session_id, branch_id, position, source_id, up_to) ` +
        `VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`,
      [sessionId, branchId, position, sourceId, upTo],
    );
  }

  /** Deletes the branch's segments from `fromPosition` on (all when left out). */
  deleteSegments(sessionId: string, branchId: string, fromPosition = 0): SqlStep {
    const { p } = this;
    return this.step(
      `DELETE FROM ${this.names.branchSegments} WHERE session_id = ${p(1)} AND branch_id = ${p(2)} AND position >= ${p(3)}`,
      [sessionId, branchId, fromPosition],
    );
  }

  setSegmentUpTo(sessionId: string, branchId: string, position: number, upTo: string): SqlStep {
    const { p } = this;
    return this.step(
      `UPDATE ${this.names.branchSegments} SET up_to = ${p(1)} ` +
        `WHERE session_id = ${p(2)} AND branch_id = ${p(3)} AND position = ${p(4)}`,
      [upTo, sessionId, branchId, position],
    );
  }

  /** Line `sourceId`'s rows with `id <= upTo`, oldest first (rows `{ message_data, created_at }`), for a copy. */
  lineRows(sessionId: string, sourceId: string, upTo: string): SqlStep {
    const { p } = this;
    const { messages, branchItems } = this.names;
    return sourceId === MAIN_BRANCH
      ? this.step(
          `SELECT message_data, created_at FROM ${messages} WHERE session_id = ${p(1)} AND id <= ${p(2)} ORDER BY id`,
          [sessionId, upTo],
          true,
        )
      : this.step(
          `SELECT message_data, created_at FROM ${branchItems} WHERE session_id = ${p(1)} AND branch_id = ${p(2)} ` +
            `AND id <= ${p(3)} ORDER BY id`,
          [sessionId, sourceId, upTo],
          true,
        );
  }

  /**
   * Appends `texts` to line `lineId`, in order (several statements when large); with `createdAt`, each
   * row's `created_at` (a copy keeps the original times).
   */
  insertRows(sessionId: string, lineId: string, texts: readonly string[], createdAt?: readonly unknown[]): SqlStep[] {
    const steps: SqlStep[] = [];
    for (let start = 0; start < texts.length;) {
      let end = start;
      let bytes = 0;
      while (end < texts.length && end - start < INSERT_ROWS_MAX && (end === start || bytes < INSERT_BYTES_MAX)) {
        bytes += texts[end].length;
        end++;
      }
      const params: unknown[] = [];
      const values: string[] = [];
      for (let i = start; i < end; i++) {
        params.push(sessionId, lineId, texts[i]);
        if (createdAt) params.push(createdAt[i]);
        const first = params.length - (createdAt ? 3 : 2);
        const row = Array.from({ length: createdAt ? 4 : 3 }, (_, k) => this.p(first + k));
        values.push(`(${row.join(', ')})`);
      }
      const columns = `session_id, branch_id, message_data${createdAt ? ', created_at' : ''}`;
      steps.push(this.step(`INSERT INTO ${this.names.branchItems} (${columns}) VALUES ${values.join(', ')}`, params));
      start = end;
    }
    return steps;
  }

  /** Copies line `sourceId`'s rows with `id <= upTo` to line `targetId` (server-side, in order, no text through the client). */
  copyRows(sessionId: string, targetId: string, sourceId: string, upTo: string): SqlStep {
    const { p } = this;
    const { messages, branchItems } = this.names;
    return sourceId === MAIN_BRANCH
      ? this.step(
          `INSERT INTO ${branchItems} (session_id, branch_id, message_data, created_at) ` +
            `SELECT session_id, ${p(1)}, message_data, created_at FROM ${messages} ` +
            `WHERE session_id = ${p(2)} AND id <= ${p(3)} ORDER BY id`,
          [targetId, sessionId, upTo],
        )
      : this.step(
          `INSERT INTO ${branchItems} (session_id, branch_id, message_data, created_at) ` +
            `SELECT session_id, ${p(1)}, message_data, created_at FROM ${branchItems} ` +
            `WHERE session_id = ${p(2)} AND branch_id = ${p(3)} AND id <= ${p(4)} ORDER BY id`,
          [targetId, sessionId, sourceId, upTo],
        );
  }

  /** The newest id of line `lineId` (rows `{ max_id }`, null when empty). */
  newestId(sessionId: string, lineId: string): SqlStep {
    const { p } = this;
    return this.step(
      `SELECT MAX(id) AS max_id FROM ${this.names.branchItems} WHERE session_id = ${p(1)} AND branch_id = ${p(2)}`,
      [sessionId, lineId],
      true,
    );
  }

  /** Deletes every row of line `lineId`. */
  deleteLine(sessionId: string, lineId: string): SqlStep {
    const { p } = this;
    return this.step(`DELETE FROM ${this.names.branchItems} WHERE session_id = ${p(1)} AND branch_id = ${p(2)}`, [
      sessionId,
      lineId,
    ]);
  }

  /** Deletes rows `ids` of line `lineId`. */
  deleteLineIds(sessionId: string, lineId: string, ids: readonly (number | string | bigint)[]): SqlStep[] {
    const steps: SqlStep[] = [];
    for (let start = 0; start < ids.length; start += DELETE_IDS_MAX) {
      const chunk = ids.slice(start, start + DELETE_IDS_MAX).map(String);
      const list = chunk.map((_, i) => this.p(i + 3)).join(', ');
      steps.push(
        this.step(
          `DELETE FROM ${this.names.branchItems} WHERE session_id = ${this.p(1)} AND branch_id = ${this.p(2)} AND id IN (${list})`,
          [sessionId, lineId, ...chunk],
        ),
      );
    }
    return steps;
  }

  /** Deletes the rows of private lines (`~...`, copies made for a branch) no segment refers to any more. */
  deleteUnreferencedCopies(sessionId: string): SqlStep {
    const { p } = this;
    const { branchItems, branchSegments } = this.names;
    return this.step(
      `DELETE FROM ${branchItems} WHERE session_id = ${p(1)} AND branch_id LIKE '~%' AND branch_id NOT IN ` +
        `(SELECT source_id FROM ${branchSegments} WHERE session_id = ${p(2)})`,
      [sessionId, sessionId],
    );
  }

  /** Sets the session row's `updated_at`. */
  touch(sessionId: string): SqlStep {
    return this.step(
      `UPDATE ${this.names.sessions} SET updated_at = ${this.syntax.now} WHERE session_id = ${this.p(1)}`,
      [sessionId],
    );
  }
}
