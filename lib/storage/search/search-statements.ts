import type { ParsedQuery } from '../../search/search-query';
import type { SearchPosition } from '../../search/search-cursor';
import { Binder, MAIN_BRANCH, SearchDialect } from './search-dialect';
import { searchSql } from './search.sql';

/** One statement and its values. @internal */
export interface SearchSql {
  sql: string;
  params: unknown[];
}

/** A search row to write: the message row it stands for and what is indexed of it. @internal */
export interface SearchRowWrite {
  sessionId: string;
  /** `'main'` for a row of the messages table, else the branch of a `<messages>_branch_items` row. */
  branchId: string;
  itemId: string;
  /** `''` (with an empty body) for a row nothing of which is indexed: the row is known, not missing. */
  role: string;
  body: string;
  dataLength: number;
}

/** What one index pass reads (`SearchStatements.missingRowsIn`). @internal */
export interface MissingRowLists {
  /** Conversations only added to: their main rows without an entry. */
  added: string[];
  /** Conversations only added to, each with a row id: their main rows after it without an entry. */
  after?: [string, string][];
  /** Conversations whose rows may have changed: their main rows without an up-to-date entry. */
  changed: string[];
  /** Conversations whose branch rows are read (all of the pass's, when the branch tables exist). */
  branches: string[];
}

/** A search, validated. @internal */
export interface SearchFilter {
  query: ParsedQuery;
  /** Whether the branch tables exist: hits may then also come from branch rows. */
  branches?: boolean;
  owner?: string;
  sinceMs?: number;
  untilMs?: number;
  after?: SearchPosition;
  limit: number;
}

export { MAIN_BRANCH } from './search-dialect';

/** Most search rows per multi-row insert (7 values a row: far below every dialect's bound). */
const UPSERT_CHUNK = 200;

/**
 * The search SQL every dialect shares, built from its `SearchDialect`: the per-conversation sync (rows
 * without an up-to-date entry, the upsert, the removal of entries whose row is gone or changed), the
 * bounded reindex scan, and the search itself, which joins every hit back to its live message row
 * (same id, same byte length): a removed or rewritten row is never returned, whatever the index
 * still holds. Per-conversation statements pin `session_id` in every table (Citus routes them).
 * @internal
 */
export class SearchStatements {
  constructor(private readonly d: SearchDialect) {}

  private get m() {
    return this.d.names.messages;
  }

  private get s() {
    return this.d.names.search;
  }

  /** The rows of branches other than main (and of private lines `~...`, whose entries hold their role only). */
  private get bi() {
    return this.d.names.branchItems;
  }

  /**
   * Up to `limit` branch rows (of branches other than main, and of private lines) of these conversations
   * with no entry, or a stale one, by conversation and line, oldest first (rows also carry `branch_id`). Pinned to one conversation
   * where the dialect asks (Citus: one id).
   */
  missingBranchRows(sessionIds: string[], limit: number): SearchSql {
    const b = new Binder(this.d.syntax);
    return { sql: this.branchMissing(b, sessionIds, limit), params: b.params };
  }

  private branchMissing(b: Binder, sessionIds: string[], limit: number): string {
    const len = this.d.byteLength('i.message_data');
    // The conversations named on both sides: the planner then reads only their entries (it does not
    // carry an IN list across the join; without it PostgreSQL read every entry of the table).
    const ids = () => sessionIds.map((id) => b.bind(id)).join(', ');
    return (
      `SELECT i.session_id AS session_id, i.branch_id AS branch_id, i.id AS id, i.message_data AS data, ${len} AS data_length ` +
      `FROM ${this.bi} i LEFT JOIN ${this.s} s ON s.session_id = i.session_id AND s.session_id IN (${ids()}) ` +
      `AND s.branch_id = i.branch_id AND s.item_id = i.id ` +
      `WHERE i.session_id IN (${ids()}) AND (s.item_id IS NULL OR s.data_length <> ${len}) ` +
      `ORDER BY i.session_id, i.branch_id, i.id LIMIT ${b.bind(limit)}`
    );
  }

  /**
   * What one index pass reads, in one statement: main's rows that have no entry (of the conversations
   * only added to: `added`; `after`: only their rows after the given id) or no up-to-date one
   * (`changed`: rows may have been rewritten, their byte length is compared), and the branch rows of
   * `branches` without an up-to-date entry; each part bounded by `limit` (undefined when there is
   * nothing to read). Where the dialect pins statements (Citus) every list names the same conversation.
   */
  missingRowsIn(lists: MissingRowLists, limit: number): SearchSql | undefined {
    const b = new Binder(this.d.syntax);
    const parts: string[] = [];
    if (lists.added.length > 0) parts.push(this.mainMissing(b, lists.added, limit, false));
    if (lists.after && lists.after.length > 0) parts.push(this.mainMissing(b, lists.after, limit, false));
    if (lists.changed.length > 0) parts.push(this.mainMissing(b, lists.changed, limit, true));
    if (lists.branches.length > 0) parts.push(this.branchMissing(b, lists.branches, limit));
    if (parts.length === 0) return undefined;
    const sql = parts.length === 1 ? parts[0] : parts.map((p, i) => `SELECT * FROM (${p}) r${i}`).join(' UNION ALL ');
    return { sql, params: b.params };
  }

  /** Removes the conversation's entries of branch rows that are gone or changed. */
  deleteStaleBranchRows(sessionId: string): SearchSql {
    const b = new Binder(this.d.syntax);
    const sql =
      `DELETE FROM ${this.s} WHERE session_id = ${b.bind(sessionId)} AND branch_id <> '${MAIN_BRANCH}' ` +
      `AND NOT EXISTS (SELECT 1 FROM ${this.bi} i WHERE i.session_id = ${b.bind(sessionId)} ` +
      `AND i.branch_id = ${this.s}.branch_id AND i.id = ${this.s}.item_id ` +
      `AND ${this.d.byteLength('i.message_data')} = ${this.s}.data_length)`;
    return { sql, params: b.params };
  }

  /** Whether the search table is usable (no rows read). */
  probe(): SearchSql {
    return { sql: `SELECT item_id FROM ${this.s} WHERE 1 = 0`, params: [] };
  }

  /**
   * Up to `limit` rows of the conversation with no entry, or a stale one, oldest first (pinned to it).
   * Ordered by (session_id, id), as the `(session_id, id)` index reads them: ordered by id alone, the
   * planner may walk the primary key of the whole table to avoid a sort, hoping the limit stops it early.
   */
  missingRows(sessionId: string, limit: number): SearchSql {
    const b = new Binder(this.d.syntax);
    return { sql: this.mainMissing(b, [sessionId], limit, true), params: b.params };
  }

  /** `missingRows` of several conversations in one statement (where statements need not be pinned to one). */
  missingRowsOf(sessionIds: string[], limit: number): SearchSql {
    const b = new Binder(this.d.syntax);
    return { sql: this.mainMissing(b, sessionIds, limit, true), params: b.params };
  }

  /**
   * Main's rows of these conversations with no entry, or (`checkLength`) a stale one. Without the length
   * check the anti-join needs no row's text (only the missing rows' are read): after writes that only
   * added rows, no row of this process's changed in place (other processes bring their own rewrites in
   * step; a search never returns a changed row's old text, see `search`).
   */
  private mainMissing(
    b: Binder,
    conversations: (string | [string, string])[],
    limit: number,
    checkLength: boolean,
  ): string {
    const len = this.d.byteLength('m.message_data');
    const sessionIds = conversations.map((c) => (typeof c === 'string' ? c : c[0]));
    // The conversations named on both sides (see branchMissing); one id by equality (Citus routes it).
    const ids = () =>
      sessionIds.length === 1 ? `= ${b.bind(sessionIds[0])}` : `IN (${sessionIds.map((id) => b.bind(id)).join(', ')})`;
    const rows = () =>
      conversations.every((c) => typeof c === 'string')
        ? `m.session_id ${ids()}`
        : `(${conversations
            .map((c) => `(m.session_id = ${b.bind(c[0])} AND m.id > ${this.d.idParam(b.bind(c[1]))})`)
            .join(' OR ')})`;
    const missing = checkLength ? `(s.item_id IS NULL OR s.data_length <> ${len})` : 's.item_id IS NULL';
    return (
      `SELECT m.session_id AS session_id, '${MAIN_BRANCH}' AS branch_id, m.id AS id, m.message_data AS data, ${len} AS data_length ` +
      `FROM ${this.m} m LEFT JOIN ${this.s} s ON s.session_id = m.session_id AND s.session_id ${ids()} ` +
      `AND s.branch_id = '${MAIN_BRANCH}' AND s.item_id = m.id ` +
      `WHERE ${rows()} AND ${missing} ORDER BY m.session_id, m.id LIMIT ${b.bind(limit)}`
    );
  }

  /** Whether each statement must name one conversation only (Citus). */
  get pinned(): boolean {
    return this.d.syntax.pinSessionId;
  }

  /** Up to `limit` message rows of every conversation after `afterId`, with their entry's byte length. */
  scan(afterId: string, limit: number): SearchSql {
    const b = new Binder(this.d.syntax);
    const sql =
      `SELECT m.id AS id, m.session_id AS session_id, m.message_data AS data, ` +
      `${this.d.byteLength('m.message_data')} AS data_length, s.data_length AS indexed_length FROM ${this.m} m ` +
      `LEFT JOIN ${this.s} s ON s.session_id = m.session_id AND s.branch_id = '${MAIN_BRANCH}' AND s.item_id = m.id ` +
      `WHERE m.id > ${this.d.idParam(b.bind(afterId))} ORDER BY m.id LIMIT ${b.bind(limit)}`;
    return { sql, params: b.params };
  }

  /**
   * Writes (inserts or replaces) search rows; all of one conversation where the dialect pins it. A row
   * given twice (same conversation, branch and item) is written once, as given last: one statement
   * cannot update a row twice.
   */
  upsert(given: SearchRowWrite[]): SearchSql[] {
    const rows = uniqueRows(given);
    if (this.d.upsertRows) return this.d.upsertRows(rows);
    const out: SearchSql[] = [];
    const columns = ['session_id', 'branch_id', 'item_id', 'role', 'body', 'data_length', ...this.d.indexColumns.names];
    for (let at = 0; at < rows.length; at += UPSERT_CHUNK) {
      const b = new Binder(this.d.syntax);
      const values = rows.slice(at, at + UPSERT_CHUNK).map((r) => {
        // Bound in the order of the text (positional placeholders); the index columns may name the
        // body's placeholder again (numbered placeholders only).
        const cells = [b.bind(r.sessionId), b.bind(r.branchId), this.d.idParam(b.bind(r.itemId)), b.bind(r.role)];
        const body = b.bind(r.body);
        cells.push(body, b.bind(r.dataLength), ...this.d.indexColumns.values(body, b));
        return `(${cells.join(', ')})`;
      });
      out.push({
        sql: `INSERT INTO ${this.s} (${columns.join(', ')}) VALUES ${values.join(', ')} ${this.d.upsertTail}`,
        params: b.params,
      });
    }
    return out;
  }

  /** Removes the conversation's entries whose message row is gone or changed. */
  deleteStale(sessionId: string): SearchSql {
    const b = new Binder(this.d.syntax);
    const sql =
      `DELETE FROM ${this.s} WHERE session_id = ${b.bind(sessionId)} AND branch_id = '${MAIN_BRANCH}' ` +
      `AND NOT EXISTS (SELECT 1 FROM ${this.m} m WHERE m.session_id = ${b.bind(sessionId)} ` +
      `AND m.id = ${this.s}.item_id AND ${this.d.byteLength('m.message_data')} = ${this.s}.data_length)`;
    return { sql, params: b.params };
  }

  /** Removes the entries of these rows of the conversation (rewritten in place: indexed again next). */
  deleteItems(sessionId: string, ids: string[]): SearchSql {
    const b = new Binder(this.d.syntax);
    const conversation = b.bind(sessionId);
    const list = ids.map((id) => this.d.idParam(b.bind(id))).join(', ');
    const sql = `DELETE FROM ${this.s} WHERE session_id = ${conversation} AND branch_id = '${MAIN_BRANCH}' AND item_id IN (${list})`;
    return { sql, params: b.params };
  }

  /** Removes entries of rows with ids in (afterId, throughId] (no upper bound when undefined) whose row is gone or changed. */
  deleteStaleRange(afterId: string, throughId: string | undefined): SearchSql {
    const b = new Binder(this.d.syntax);
    const upper = throughId === undefined ? '' : ` AND item_id <= ${this.d.idParam(b.bind(throughId))}`;
    const sql =
      `DELETE FROM ${this.s} WHERE branch_id = '${MAIN_BRANCH}' AND item_id > ${this.d.idParam(b.bind(afterId))}${upper} ` +
      `AND NOT EXISTS (SELECT 1 FROM ${this.m} m WHERE m.session_id = ${this.s}.session_id ` +
      `AND m.id = ${this.s}.item_id AND ${this.d.byteLength('m.message_data')} = ${this.s}.data_length)`;
    return { sql, params: b.params };
  }

  /**
   * One page of hits, best first: the full-text match joined to the live message row (and, with an
   * owner, to the owners row: the ownership check is part of the statement), ordered by
   * (score, item id, conversation, branch) descending, after the cursor position (search.sql.ts).
   */
  search(filter: SearchFilter): SearchSql {
    return searchSql(this.d, filter);
  }
}

/** The rows with each (conversation, branch, item) once, its last occurrence kept, in their order. */
function uniqueRows(rows: SearchRowWrite[]): SearchRowWrite[] {
  const last = new Map<string, number>();
  rows.forEach((r, i) => last.set(`${r.itemId}\0${r.branchId}\0${r.sessionId}`, i));
  return last.size === rows.length
    ? rows
    : rows.filter((r, i) => last.get(`${r.itemId}\0${r.branchId}\0${r.sessionId}`) === i);
}
