import { Binder, SearchDialect } from './search-dialect';
import { MAIN_BRANCH, SearchSql } from './search-statements';

/** A hit whose turn is asked for: the row `itemId` of line `branchId` of conversation `sessionId`. @internal */
export interface TurnQuestion {
  sessionId: string;
  branchId: string;
  itemId: string;
}

/** The answer row for question `k`: the line's rows up to the hit, those with an entry, the user ones among them. @internal */
export interface TurnCountRow {
  k: number | string;
  n_rows: number | string;
  n_indexed: number | string;
  n_users: number | string | null;
  present: number | string | null;
}

/**
 * The turn of search hits, counted when the search runs (so never stale, whatever changed the
 * conversation meanwhile and whoever did): for each hit, the rows of its line up to the hit's row
 * (main: the messages table's; a branch: its inherited segments, then its own rows, as its view reads
 * them), each joined to its search entry by id; the turn is the number of those entries whose role is
 * `user`. It is known only when every one of those rows has an entry and the hit's row is still there
 * (`turnOf`). One statement for the hits of a page, each member pinned to its conversation's id
 * (Citus: `forConversation`, one statement per conversation, routed to its shard).
 * @internal
 */
export class TurnStatements {
  constructor(private readonly d: SearchDialect) {}

  /** One statement counting the lines of `questions` (numbered by their index). */
  counts(questions: readonly TurnQuestion[]): SearchSql {
    const b = new Binder(this.d.syntax);
    const members = questions.flatMap((q, k) => this.members(q, k, b));
    const sql =
      `SELECT k, SUM(n_rows) AS n_rows, SUM(n_indexed) AS n_indexed, SUM(n_users) AS n_users, SUM(present) AS present ` +
      `FROM (${members.map((m, i) => `SELECT * FROM (${m}) t${i}`).join(' UNION ALL ')}) c GROUP BY k`;
    return { sql, params: b.params };
  }

  /** The counting members of one question: main's rows, or a branch's inherited rows and its own. */
  private members(q: TurnQuestion, k: number, b: Binder): string[] {
    const { messages, branchSegments, branchItems } = this.d.names;
    const sid = () => b.bind(q.sessionId);
    const id = () => this.d.idParam(b.bind(q.itemId));
    const s = this.d.names.search;
    // Each piece is a function called where it stands in the text: values are bound in text order.
    type Piece = () => string;
    /** The aggregate of one member: rows `r` (alias) on `line`, joined to their entry. */
    const count = (r: string, line: string, from: Piece, where: Piece, presentIf: Piece) =>
      `SELECT ${k} AS k, COUNT(*) AS n_rows, COUNT(s.item_id) AS n_indexed, ` +
      `SUM(CASE WHEN s.role = 'user' THEN 1 ELSE 0 END) AS n_users, ` +
      `SUM(CASE WHEN ${presentIf()} THEN 1 ELSE 0 END) AS present FROM ${from()} ` +
      `LEFT JOIN ${s} s ON s.session_id = ${r}.session_id AND s.session_id = ${sid()} AND s.branch_id = ${line} ` +
      `AND s.item_id = ${r}.id WHERE ${where()}`;
    const never = () => '1 = 0';
    if (q.branchId === MAIN_BRANCH) {
      return [
        count(
          'm',
          `'${MAIN_BRANCH}'`,
          () => `${messages} m`,
          () => `m.session_id = ${sid()} AND m.id <= ${id()}`,
          () => `m.id = ${id()}`,
        ),
      ];
    }
    const branch = () => b.bind(q.branchId);
    const mainPrefix = count(
      'm',
      `'${MAIN_BRANCH}'`,
      () => `${messages} m`,
      () =>
        `m.session_id = ${sid()} AND m.id <= (SELECT g.up_to FROM ${branchSegments} g WHERE g.session_id = ${sid()} ` +
        `AND g.branch_id = ${branch()} AND g.position = 0 AND g.source_id = '${MAIN_BRANCH}')`,
      never,
    );
    const inherited = count(
      'i',
      'i.branch_id',
      () =>
        `${branchSegments} g JOIN ${branchItems} i ON i.session_id = g.session_id AND i.branch_id = g.source_id ` +
        `AND i.id <= g.up_to`,
      () =>
        `g.session_id = ${sid()} AND g.branch_id = ${branch()} AND g.source_id <> '${MAIN_BRANCH}' ` +
        `AND i.session_id = ${sid()}`,
      never,
    );
    const own = count(
      'o',
      'o.branch_id',
      () => `${branchItems} o`,
      () => `o.session_id = ${sid()} AND o.branch_id = ${branch()} AND o.id <= ${id()}`,
      () => `o.id = ${id()}`,
    );
    return [mainPrefix, inherited, own];
  }
}

/** The turn a count row gives: the user entries, when every row up to the hit has an entry and the hit is there. @internal */
export function turnOf(row: TurnCountRow | undefined): number | undefined {
  if (!row) return undefined;
  const rows = Number(row.n_rows);
  if (Number(row.present ?? 0) !== 1 || Number(row.n_indexed) !== rows) return undefined;
  return Number(row.n_users ?? 0);
}
