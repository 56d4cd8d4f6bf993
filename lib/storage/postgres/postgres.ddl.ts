import { SchemaDdl, portableSchemaDdl } from '../schema-ddl';
import type { ResolvedTables } from '../session-store';
import { tableNames } from '../table-names';
import { quotePostgres } from './postgres.connection';

/**
 * PostgreSQL DDL for one pair of tables: the Python SQLAlchemySession layout with a 64-bit id and the
 * `(session_id, id)` index, the optional tables (metadata as `jsonb`) and the listing index. Used by
 * `createTables` and by the migrations. Python's SQLAlchemySession never reads the optional tables;
 * their foreign keys cascade, so its `clear_session` removes them too.
 *
 * With `distributed` (a Citus cluster, see `citus.ts`), the same tables with the keys Citus asks for
 * (every key must hold the distribution column): the messages table's primary key is
 * `(session_id, id)` instead of `id`, and `distributeCoreTables` / `distributeOptionalTables` distribute
 * every table by `session_id`, colocated with the sessions table, so that one conversation's rows of
 * every table live in one shard on one worker and its foreign keys and statements stay on that shard.
 * @internal
 */
export function postgresSchemaDdl(tables: ResolvedTables, options: { distributed?: boolean } = {}): SchemaDdl {
  if (!options.distributed) {
    return portableSchemaDdl(tables, quotePostgres, { idColumn: 'id BIGSERIAL PRIMARY KEY', metadata: 'JSONB' });
  }
  const ddl = portableSchemaDdl(tables, quotePostgres, {
    idColumn: 'id BIGSERIAL',
    messagesKey: 'PRIMARY KEY (session_id, id)',
    metadata: 'JSONB',
  });
  const { sessions, messages, metadata, operations, owners } = tableNames(tables, quotePostgres);
  return {
    ...ddl,
    distributeCoreTables: [distributeBySessionId(sessions), distributeBySessionId(messages, sessions)],
    distributeOptionalTables: [metadata, operations, owners].map((table) => distributeBySessionId(table, sessions)),
  };
}

/**
 * `create_distributed_table(table, 'session_id')`, colocated with `colocateWith` when given, unless the
 * table is distributed already. `table` is a quoted, qualified name of validated identifiers.
 * @internal
 */
export function distributeBySessionId(table: string, colocateWith?: string): string {
  const colocate = colocateWith ? `, colocate_with => '${colocateWith}'` : '';
  return (
    `SELECT create_distributed_table('${table}', 'session_id'${colocate}) ` +
    `WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = '${table}'::regclass)`
  );
}
