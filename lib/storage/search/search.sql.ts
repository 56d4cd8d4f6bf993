import type { SearchPosition } from '../../search/search-cursor';
import { Binder, MAIN_BRANCH, SearchDialect } from './search-dialect';
import type { SearchFilter, SearchSql } from './search-statements';

/**
 * One page of hits, best first: the full-text match joined to the live message row (and, with an
 * owner, to the owners row: the ownership check is part of the statement), ordered by
 * (score, item id, conversation, branch) descending, after the cursor position. Every hit is joined
 * back to its live row (same id, same byte length) of its own table: a removed or rewritten row is
 * never returned, whatever the index still holds.
 * @internal
 */
export function searchSql(d: SearchDialect, filter: SearchFilter): SearchSql {
  const { syntax } = d;
  const b = new Binder(syntax);
  // One member per table the hits come from: main's rows, and (with branches) the branch rows; each
  // joins its hits back to the live row (same id, same byte length) of its own table.
  const member = (branches: boolean) => {
    const match = d.match(filter.query, filter.owner !== undefined);
    const score = match.score(b);
    const row = branches ? 'i' : 'm';
    // The owners join first: it keeps few of the matches, before each is joined to its row.
    let sql =
      `SELECT s.session_id AS session_id, s.branch_id AS branch_id, s.item_id AS item_id, s.role AS role, ` +
      `s.body AS body, ${syntax.epochMs(`${row}.created_at`)} AS created_ms, ${score} AS score FROM ${match.from}`;
    if (filter.owner !== undefined) {
      const owner = filter.owner;
      sql += ` JOIN ${d.names.owners} o ON o.session_id = s.session_id AND ${syntax.ownerMatches('o.owner', () => b.bind(owner))}`;
    }
    sql += branches
      ? ` JOIN ${d.names.branchItems} i ON i.session_id = s.session_id AND i.branch_id = s.branch_id AND i.id = s.item_id ` +
        `AND ${d.byteLength('i.message_data')} = s.data_length`
      : ` JOIN ${d.names.messages} m ON m.session_id = s.session_id AND m.id = s.item_id ` +
        `AND ${d.byteLength('m.message_data')} = s.data_length`;
    sql += ` WHERE ${match.where(b)} AND s.branch_id ${branches ? '<>' : '='} '${MAIN_BRANCH}'`;
    if (filter.sinceMs !== undefined)
      sql += ` AND ${row}.created_at >= ${syntax.epochMsParam(b.bind(syntax.epochMsValue(filter.sinceMs)))}`;
    if (filter.untilMs !== undefined)
      sql += ` AND ${row}.created_at < ${syntax.epochMsParam(b.bind(syntax.epochMsValue(filter.untilMs)))}`;
    return sql;
  };
  const inner = filter.branches
    ? `SELECT * FROM (${member(false)}) xm UNION ALL SELECT * FROM (${member(true)}) xb`
    : member(false);
  let outer = `SELECT * FROM (${inner}) x`;
  if (filter.after) outer += ` WHERE ${after(d, filter.after, b)}`;
  outer += ` ORDER BY x.score DESC, x.item_id DESC, x.session_id DESC, x.branch_id DESC LIMIT ${b.bind(filter.limit)}`;
  return { sql: outer, params: b.params };
}

/** Strictly after `p` in (score, item_id, session_id, branch_id) descending order. */
function after(d: SearchDialect, p: SearchPosition, b: Binder): string {
  const id = (v: string) => d.idParam(b.bind(v));
  const score = () => d.idParam(b.bind(p.score));
  return (
    `(x.score < ${score()} OR (x.score = ${score()} AND (x.item_id < ${id(p.itemId)} OR (x.item_id = ${id(p.itemId)} ` +
    `AND (x.session_id < ${b.bind(p.conversationId)} OR (x.session_id = ${b.bind(p.conversationId)} ` +
    `AND x.branch_id < ${b.bind(p.branchId)}))))))`
  );
}
