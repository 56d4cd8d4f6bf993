import { DialectSyntax, plainOwnerMatch } from '../dialect-syntax';
import { postgresPlaceholder, quotePostgres } from './postgres.connection';

/**
 * PostgreSQL's part of the shared SQL: `$n` placeholders, `to_char` / `EXTRACT(EPOCH ...)` times,
 * `jsonb` metadata, one `unnest` insert per batch, deletes by `id = ANY($1)`. (Citus: citus.syntax.ts.)
 * @internal
 */
export const postgresSyntax: DialectSyntax = {
  quote: quotePostgres,
  placeholder: postgresPlaceholder,
  sessionPlaceholder: postgresPlaceholder,
  pinSessionId: false,
  now: 'CURRENT_TIMESTAMP',
  lockRowsSuffix: ' FOR UPDATE',
  timeKey: (column) => `to_char(${column}, 'YYYY-MM-DD HH24:MI:SS.US')`,
  timeKeyParam: (placeholder) => `${placeholder}::timestamp`,
  epochMs: (column) => `(EXTRACT(EPOCH FROM ${column}::timestamptz) * 1000)::float8`,
  epochMsParam: (placeholder) => `to_timestamp(${placeholder}::float8 / 1000)::timestamp`,
  epochMsValue: (ms) => ms,
  metadataEquals: (key, json) => `md.metadata -> ${key}::text = ${json}::jsonb`,
  metadataKeyValue: (key) => key,
  ownerMatches: plainOwnerMatch,
  // The ORDER BY keeps the batch's order, so the batch gets consecutive ids in order.
  insertMessages: (messages, sessionId, data) => [
    {
      sql:
        `INSERT INTO ${messages} (session_id, message_data) ` +
        `SELECT $1, d.data FROM unnest($2::text[]) WITH ORDINALITY AS d(data, n) ORDER BY d.n`,
      params: [sessionId, data],
      returnsRows: false,
    },
  ],
  deleteMessageIds: (messages, _sessionId, ids) => ({
    sql: `DELETE FROM ${messages} WHERE id = ANY($1::bigint[])`,
    params: [ids.map(String)],
    returnsRows: false,
  }),
};
