import { DialectSyntax, jsonPathKey, plainOwnerMatch } from '../dialect-syntax';
import { quoteSqlite, sqlitePlaceholder } from './sqlite.connection';

/**
 * The conversation id's placeholder in reads and pops: `(? || '')`, the same text, but an expression
 * the planner does not evaluate, so that better-sqlite3's STAT4 build plans the statement once
 * instead of at every bind once the database is ANALYZEd (why and figures: docs/storage.md, "SQLite").
 * @internal
 */
export const SQLITE_SESSION_PARAM = "(? || '')";

/**
 * SQLite's part of the shared SQL: `?` placeholders, text timestamps (`CURRENT_TIMESTAMP` writes
 * `YYYY-MM-DD HH:MM:SS`, UTC), JSON text metadata, one insert per row, no row locks (the IMMEDIATE
 * transaction already holds the database's write lock).
 * @internal
 */
export const sqliteSyntax: DialectSyntax = {
  quote: quoteSqlite,
  placeholder: sqlitePlaceholder,
  sessionPlaceholder: () => SQLITE_SESSION_PARAM,
  pinSessionId: false,
  now: 'CURRENT_TIMESTAMP',
  lockRowsSuffix: '',
  timeKey: (column) => `CAST(${column} AS TEXT)`,
  timeKeyParam: (placeholder) => placeholder,
  epochMs: (column) => `ROUND((julianday(${column}) - 2440587.5) * 86400000.0)`,
  epochMsParam: (placeholder) => placeholder,
  /** Compared as text in `CURRENT_TIMESTAMP`'s form. */
  epochMsValue: (ms) => {
    const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
    const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
    return ms % 1000 === 0 ? text : `${text}${iso.slice(19, 23)}`;
  },
  metadataEquals: (key, json) => `md.metadata -> ${key} = json(${json})`,
  metadataKeyValue: jsonPathKey,
  ownerMatches: plainOwnerMatch,
  insertMessages: (messages, sessionId, data) =>
    data.map((d) => ({
      sql: `INSERT INTO ${messages} (session_id, message_data) VALUES (?, ?)`,
      params: [sessionId, d],
      returnsRows: false,
    })),
  deleteMessageIds: (messages, _sessionId, ids) => ({
    sql: `DELETE FROM ${messages} WHERE id IN (SELECT value FROM json_each(?))`,
    params: [JSON.stringify(ids.map(Number))],
    returnsRows: false,
  }),
};
