import type { DialectSyntax } from '../dialect-syntax';
import type { SqlStep } from '../program/statement-program';
import { postgresSyntax } from '../postgres/postgres.syntax';

/** Most rows of one multi-row `INSERT ... VALUES` (one parameter a row, far below the protocol's 65,535). */
const INSERT_CHUNK = 1000;

/** `($1, $2), ($1, $3), ...`: `count` rows of the conversation `$1`, their texts from placeholder `$first` on. */
function valuesRows(count: number, first: number): string {
  const rows = new Array<string>(count);
  for (let i = 0; i < count; i++) rows[i] = `($1, $${first + i})`;
  return rows.join(', ');
}

/**
 * Citus: PostgreSQL's syntax with every per-conversation statement pinned to `session_id = $1`
 * (routed to the conversation's shard; the single-node `sessionIdRange` form would not be), deletes
 * by id pinned the same way, and rows inserted with multi-row `VALUES` (an `INSERT ... SELECT` from
 * an array would go through the coordinator).
 * @internal
 */
export const citusSyntax: DialectSyntax = {
  ...postgresSyntax,
  pinSessionId: true,
  insertMessages: (messages, sessionId, data) => {
    const steps: SqlStep[] = [];
    for (let at = 0; at < data.length; at += INSERT_CHUNK) {
      const chunk = data.slice(at, at + INSERT_CHUNK);
      steps.push({
        sql: `INSERT INTO ${messages} (session_id, message_data) VALUES ${valuesRows(chunk.length, 2)}`,
        params: [sessionId, ...chunk],
        returnsRows: false,
      });
    }
    return steps;
  },
  deleteMessageIds: (messages, sessionId, ids) => ({
    sql: `DELETE FROM ${messages} WHERE session_id = $1 AND id = ANY($2::bigint[])`,
    params: [sessionId, ids.map(String)],
    returnsRows: false,
  }),
};
