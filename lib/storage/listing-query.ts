import type { DialectSyntax } from './dialect-syntax';
import type { OwnershipSql } from './ownership.sql';
import type { OptionalTables, SessionListQuery } from './session-store';
import type { TableNames } from './table-names';

/**
 * The `listSessions` statement: one page of conversations in `updated_at, session_id` order (the
 * listing index), after the keyset cursor, with the filters of `q`; the values in placeholder order.
 * @internal
 */
export function listingQuery(
  q: SessionListQuery,
  tables: OptionalTables,
  names: TableNames,
  syntax: DialectSyntax,
  ownership: OwnershipSql,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return syntax.placeholder(params.length);
  };
  const { sessions, messages, metadata, owners } = names;
  const cmp = q.order === 'desc' ? '<' : '>';
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const columns = [
    's.session_id AS session_id',
    `${syntax.epochMs('s.created_at')} AS created_ms`,
    `${syntax.epochMs('s.updated_at')} AS updated_ms`,
    `${syntax.timeKey('s.updated_at')} AS time_key`,
  ];
  if (tables.metadata) columns.push('md.metadata AS metadata');
  if (q.includeItemCount) {
    // Pinned to the one conversation when there is one, so that Citus routes the count with the rest.
    const count = syntax.pinSessionId && q.sessionId !== undefined ? bind(q.sessionId) : 's.session_id';
    columns.push(`(SELECT COUNT(*) FROM ${messages} m WHERE m.session_id = ${count}) AS item_count`);
  }
  let sql = `SELECT ${columns.join(', ')} FROM ${sessions} s`;
  if (tables.metadata)
    sql += ` ${q.metadata.length > 0 ? 'JOIN' : 'LEFT JOIN'} ${metadata} md ON md.session_id = s.session_id`;
  if (q.owner !== undefined)
    sql += ` JOIN ${owners} ow ON ow.session_id = s.session_id AND ${syntax.ownerMatches('ow.owner', () => bind(q.owner))}`;
  const where: string[] = [];
  if (q.after) {
    const key1 = syntax.timeKeyParam(bind(q.after.key));
    const key2 = syntax.timeKeyParam(bind(q.after.key));
    where.push(`(s.updated_at ${cmp} ${key1} OR (s.updated_at = ${key2} AND s.session_id ${cmp} ${bind(q.after.id)}))`);
  }
  if (q.updatedBeforeMs !== undefined)
    where.push(`s.updated_at < ${syntax.epochMsParam(bind(syntax.epochMsValue(q.updatedBeforeMs)))}`);
  if (q.updatedAfterMs !== undefined)
    where.push(`s.updated_at > ${syntax.epochMsParam(bind(syntax.epochMsValue(q.updatedAfterMs)))}`);
  if (q.sessionId !== undefined) where.push(`s.session_id = ${bind(q.sessionId)}`);
  if (q.sessionId !== undefined && q.visibleTo) {
    const { sessionId, visibleTo } = q;
    where.push(
      ownership.ownerCondition(
        visibleTo.unowned,
        () => bind(sessionId),
        () => bind(visibleTo.owner),
      ),
    );
  }
  for (const c of q.metadata) where.push(syntax.metadataEquals(bind(syntax.metadataKeyValue(c.key)), bind(c.json)));
  if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
  sql += ` ORDER BY s.updated_at ${dir}, s.session_id ${dir} LIMIT ${bind(q.limit)}`;
  return { sql, params };
}
