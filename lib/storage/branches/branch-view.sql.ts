import type { DialectSyntax } from '../dialect-syntax';
import type { SqlStep } from '../program/statement-program';
import type { TableNames } from '../table-names';

/** The main branch's id: its rows are the messages table's. @internal */
export const MAIN_BRANCH = 'main';

/** The position of a branch's own rows in its view, after every inherited segment (positions 0, 1, ...). @internal */
export const OWN_POSITION = 9000;

/** Row ids of a branch view: `position * VIEW_ID_SCALE + id` (monotone in the view's order). @internal */
const VIEW_ID_SCALE = 1_000_000_000_000_000n;

/** A row of a branch view as read: its position (segment), its id in its line, its text. @internal */
export interface ViewRow {
  pos: number | string;
  id: number | string;
  message_data: string;
  /** With `ViewReadShape.withTime`. */
  created_ms?: number | string;
}

/** Whether a view row is one of the branch's own rows (not inherited). @internal */
export function isOwnRow(row: ViewRow): boolean {
  return Number(row.pos) === OWN_POSITION;
}

/** The id a branch view gives a row: one integer, ordered as the view (see `VIEW_ID_SCALE`). @internal */
export function viewRowId(pos: number | string, id: number | string): string {
  return (BigInt(pos) * VIEW_ID_SCALE + BigInt(id)).toString();
}

/** The position and line id of a view row id. @internal */
export function splitViewRowId(viewId: number | string): { pos: number; id: bigint } {
  const value = BigInt(viewId);
  return { pos: Number(value / VIEW_ID_SCALE), id: value % VIEW_ID_SCALE };
}

/** A read of a branch's view: whole (oldest first) or the newest `limit` (newest first, below `before` when given). @internal */
export interface ViewReadShape {
  newest: boolean;
  /** Only while the branch is the conversation's current one (a read that follows the pointer). */
  whileCurrent: boolean;
  /** Only the branch's own rows (the newest N of a branch with N own rows are all its own). */
  ownOnly?: boolean;
  /** With `ownOnly`: `message_data` alone (the texts, as main's data reads; no `pos`, `id`, `created_ms`). */
  dataOnly?: boolean;
  /** Also `created_ms`: each row's `created_at` in epoch milliseconds (by the database clock). */
  withTime?: boolean;
  /** An owner condition (see `OwnershipSql.ownerCondition`), given how to bind the conversation id and the owner. */
  filter?: (bindId: () => string, bindOwner: () => string) => string;
}

/**
 * The SQL of a branch's view (what its history is: the inherited segments, then its own rows), one
 * statement however deep the branch: three members (the main prefix; inherited rows of other lines,
 * joined to the segments; its own rows), each pinned to the conversation id, so Citus routes it to the
 * conversation's shard. The newest-N form limits the main and own members by their indexes.
 * @internal
 */
export class BranchViewSql {
  private readonly numbered: boolean;

  constructor(
    private readonly names: TableNames,
    private readonly syntax: DialectSyntax,
  ) {
    this.numbered = syntax.placeholder(1) !== syntax.placeholder(2);
  }

  /** The statement reading `branchId`'s view of `sessionId` in `shape`. */
  read(
    sessionId: string,
    branchId: string,
    shape: ViewReadShape,
    limit?: number,
    before?: number | string,
    owner?: string,
  ): SqlStep {
    const params: unknown[] = [];
    const sql = this.build(shape, this.binder(params), sessionId, branchId, limit, before, owner);
    return { sql, params, returnsRows: true };
  }

  /** Binds values in statement order, the conversation id once where placeholders are numbered. */
  private binder(params: unknown[]) {
    let sessionPlaceholder: string | undefined;
    const bind = (value: unknown) => {
      params.push(value);
      return this.syntax.placeholder(params.length);
    };
    const text = (value: string) => {
      params.push(value);
      return this.syntax.sessionPlaceholder(params.length);
    };
    return {
      value: bind,
      // The dialect's conversation-id placeholder (SQLite: an expression, planned once; see sqlite.syntax.ts).
      session: (sessionId: string) => {
        if (this.numbered) return (sessionPlaceholder ??= bind(sessionId));
        return text(sessionId);
      },
      /** A text compared with an indexed column (the branch id): as the conversation id's placeholder. */
      text,
    };
  }

  private build(
    shape: ViewReadShape,
    b: { value(v: unknown): string; session(s: string): string; text(t: string): string },
    sessionId: string,
    branchId: string,
    limit: number | undefined,
    before: number | string | undefined,
    owner: string | undefined,
  ): string {
    const { messages, branchSegments, branchItems, branches } = this.names;
    const cut = before === undefined ? undefined : splitViewRowId(before);
    const beforeCondition = (pos: string, id: string) =>
      cut === undefined
        ? ''
        : ` AND (${pos} < ${b.value(cut.pos)} OR (${pos} = ${b.value(cut.pos)} AND ${id} < ${b.value(cut.id.toString())}))`;
    const inner = (column: string) => (shape.newest ? ` ORDER BY ${column} DESC LIMIT ${b.value(limit)}` : '');
    const s = () => b.session(sessionId);
    const time = (alias: string) =>
      shape.withTime ? `, ${this.syntax.epochMs(`${alias}.created_at`)} AS created_ms` : '';
    // The main prefix's bound as a scalar subquery: the (session_id, id) index then seeks to it.
    // (Placeholders are bound in the order the text is built: each piece is built where it stands.)
    const mainBound = () =>
      `(SELECT g.up_to FROM ${branchSegments} g WHERE g.session_id = ${s()} AND g.branch_id = ${b.text(branchId)} ` +
      `AND g.position = 0 AND g.source_id = '${MAIN_BRANCH}')`;
    const main = () =>
      `SELECT 0 AS pos, m.id AS id, m.message_data AS message_data${time('m')} FROM ${messages} m ` +
      `WHERE m.session_id = ${s()} AND m.id <= ${mainBound()}${beforeCondition('0', 'm.id')}${inner('m.id')}`;
    const inherited = () =>
      `SELECT g.position AS pos, i.id AS id, i.message_data AS message_data${time('i')} FROM ${branchSegments} g ` +
      `JOIN ${branchItems} i ON i.session_id = g.session_id AND i.branch_id = g.source_id AND i.id <= g.up_to ` +
      `WHERE g.session_id = ${s()} AND g.branch_id = ${b.text(branchId)} AND g.source_id <> '${MAIN_BRANCH}' ` +
      `AND i.session_id = ${s()}${beforeCondition('g.position', 'i.id')}` +
      (shape.newest ? ` ORDER BY g.position DESC, i.id DESC LIMIT ${b.value(limit)}` : '');
    // The branch's own rows (below `before`): the view's last member, or, with `ownOnly`, the whole statement.
    const ownColumns = shape.dataOnly
      ? 'o.message_data AS message_data'
      : `${OWN_POSITION} AS pos, o.id AS id, o.message_data AS message_data${time('o')}`;
    const ownRows = () =>
      `SELECT ${ownColumns} FROM ${branchItems} o ` +
      `WHERE o.session_id = ${s()} AND o.branch_id = ${b.text(branchId)}${beforeCondition(String(OWN_POSITION), 'o.id')}`;
    const own = () => `${ownRows()}${inner('o.id')}`;
    const conditions = () => {
      const all: string[] = [];
      if (shape.whileCurrent) {
        // With the conversation's session row: rows a writer left behind when it deleted that row with
        // foreign keys off (Python's clear_session on SQLite) do not count.
        all.push(
          `EXISTS (SELECT 1 FROM ${branches} c JOIN ${this.names.sessions} cs ON cs.session_id = c.session_id ` +
            `WHERE c.session_id = ${s()} AND cs.session_id = ${s()} AND c.branch_id = ${b.text(branchId)} AND c.is_current = 1)`,
        );
      }
      if (shape.filter) all.push(shape.filter(s, () => b.value(owner)));
      return all.map((c) => ` AND ${c}`).join('');
    };
    if (shape.ownOnly) {
      // The branch's own rows alone: one flat statement, as cheap as a read of main.
      return (
        `${ownRows()}${conditions()}` +
        (shape.newest ? ` ORDER BY o.id DESC LIMIT ${b.value(limit)}` : ' ORDER BY o.id')
      );
    }
    const union = [main(), inherited(), own()]
      .map((member, i) => `SELECT * FROM (${member}) v${i}`)
      .join(' UNION ALL ');
    const guard = conditions().replace(/^ AND /, ' WHERE ');
    const order = shape.newest ? ` ORDER BY pos DESC, id DESC LIMIT ${b.value(limit)}` : ' ORDER BY pos, id';
    return `SELECT pos, id, message_data${shape.withTime ? ', created_ms' : ''} FROM (${union}) v${guard}${order}`;
  }
}
