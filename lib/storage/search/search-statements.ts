import type { ParsedQuery } from '../../search/search-query';
import type { SearchPosition } from '../../search/search-cursor';
import { Binder, SearchDialect } from './search-dialect';

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

/** The branch of the messages table's own rows. */
export const MAIN_BRANCH = 'main';

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
   * with no entry, or a stale one, oldest first (rows also carry `branch_id`). Pinned to one conversation where the dialect
   * asks (Citus: one id).
   */
  missingBranchRows(sessionIds: string[], limit: number): SearchSql {
    const b = new Binder(this.d.syntax);
    const len = this.d.byteLength('i.message_data');
    const ids = sessionIds.map((id) => b.bind(id)).join(', ');
    const sql =
      `SELECT i.session_id AS session_id, i.branch_id AS branch_id, i.id AS id, i.message_data AS data, ${len} AS data_length ` +
      `FROM ${this.bi} i LEFT JOIN ${this.s} s ON s.session_id = i.session_id AND s.branch_id = i.branch_id AND s.item_id = i.id ` +
      `WHERE i.session_id IN (${ids}) AND (s.item_id IS NULL OR s.data_length <> ${len}) ` +
      `ORDER BY i.id LIMIT ${b.bind(limit)}`;
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

  /** Up to `limit` rows of the conversation with no entry, or a stale one, oldest first (pinned to it). */
  missingRows(sessionId: string, limit: number): SearchSql {
    const b = new Binder(this.d.syntax);
    const len = this.d.byteLength('m.message_data');
    const sql =
      `SELECT m.session_id AS session_id, m.id AS id, m.message_data AS data, ${len} AS data_length FROM ${this.m} m ` +
      `LEFT JOIN ${this.s} s ON s.session_id = m.session_id AND s.session_id = ${b.bind(sessionId)} ` +
      `AND s.branch_id = '${MAIN_BRANCH}' AND s.item_id = m.id ` +
      `WHERE m.session_id = ${b.bind(sessionId)} AND (s.item_id IS NULL OR s.data_length <> ${len}) ` +
      `ORDER BY m.id LIMIT ${b.bind(limit)}`;
    return { sql, params: b.params };
  }

  /** `missingRows` of several conversations in one statement (where statements need not be pinned to one). */
  missingRowsOf(sessionIds: string[], limit: number): SearchSql {
    const b = new Binder(this.d.syntax);
    const len = this.d.byteLength('m.message_data');
    const ids = sessionIds.map((id) => b.bind(id)).join(', ');
    const sql =
      `SELECT m.session_id AS session_id, m.id AS id, m.message_data AS data, ${len} AS data_length FROM ${this.m} m ` +
      `LEFT JOIN ${this.s} s ON s.session_id = m.session_id AND s.branch_id = '${MAIN_BRANCH}' AND s.item_id = m.id ` +
      `WHERE m.session_id IN (${ids}) AND (s.item_id IS NULL OR s.data_length <> ${len}) ` +
      `ORDER BY m.id LIMIT ${b.bind(limit)}`;
    return { sql, params: b.params };
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

  /** Writes (inserts or replaces) search rows; all of one conversation where the dialect pins it. */
  upsert(rows: SearchRowWrite[]): SearchSql[] {
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
   * (score, item id, conversation, branch) descending, after the cursor position.
   */
  search(filter: SearchFilter): SearchSql {
    const { syntax } = this.d;
    const b = new Binder(syntax);
    // One member per table the hits come from: main's rows, and (with branches) the branch rows; each
    // joins its hits back to the live row (same id, same byte length) of its own table.
    const member = (branches: boolean) => {
      const match = this.d.match(filter.query, filter.owner !== undefined);
      const score = match.score(b);
      const row = branches ? 'i' : 'm';
      // The owners join first: it keeps few of the matches, before each is joined to its row.
      let sql =
        `SELECT s.session_id AS session_id, s.branch_id AS branch_id, s.item_id AS item_id, s.role AS role, ` +
        `s.body AS body, ${syntax.epochMs(`${row}.created_at`)} AS created_ms, ${score} AS score FROM ${match.from}`;
      if (filter.owner !== undefined) {
        const owner = filter.owner;
        sql += ` JOIN ${this.d.names.owners} o ON o.session_id = s.session_id AND ${syntax.ownerMatches('o.owner', () => b.bind(owner))}`;
      }
      sql += branches
        ? ` JOIN ${this.bi} i ON i.session_id = s.session_id AND i.branch_id = s.branch_id AND i.id = s.item_id ` +
          `AND ${this.d.byteLength('i.message_data')} = s.data_length`
        : ` JOIN ${this.m} m ON m.session_id = s.session_id AND m.id = s.item_id ` +
          `AND ${this.d.byteLength('m.message_data')} = s.data_length`;
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
    if (filter.after) outer += ` WHERE ${this.after(filter.after, b)}`;
    outer += ` ORDER BY x.score DESC, x.item_id DESC, x.session_id DESC, x.branch_id DESC LIMIT ${b.bind(filter.limit)}`;
    return { sql: outer, params: b.params };
  }

  /** Strictly after `p` in (score, item_id, session_id, branch_id) descending order. */
  private after(p: SearchPosition, b: Binder): string {
    const id = (v: string) => this.d.idParam(b.bind(v));
    const score = () => this.d.idParam(b.bind(p.score));
    return (
      `(x.score < ${score()} OR (x.score = ${score()} AND (x.item_id < ${id(p.itemId)} OR (x.item_id = ${id(p.itemId)} ` +
      `AND (x.session_id < ${b.bind(p.conversationId)} OR (x.session_id = ${b.bind(p.conversationId)} ` +
      `AND x.branch_id < ${b.bind(p.branchId)}))))))`
    );
  }
}
