import { SchemaDdl, portableSchemaDdl, withUsageTable } from '../portable.ddl';
import { citusUsageDdl } from '../usage/usage.ddl';
import { quotePostgres } from '../postgres/postgres.connection';
import type { ResolvedTables } from '../session-store';
import { tableNames } from '../table-names';

/**
 * Citus DDL for one pair of tables: PostgreSQL's tables with the keys Citus asks for (every key must
 * hold the distribution column: the messages table's primary key is `(session_id, id)` instead of
 * `id`, and it serves the per-conversation reads), and `distributeCoreTables` /
 * `distributeOptionalTables` distributing every table by `session_id`, colocated with the sessions
 * table, so that one conversation's rows of every table live in one shard on one worker and its
 * foreign keys and statements stay on that shard. Used by `createTables` and by the migrations.
 * @internal
 */
export function citusSchemaDdl(tables: ResolvedTables): SchemaDdl {
  const ddl = portableSchemaDdl(tables, quotePostgres, {
    idColumn: 'id BIGSERIAL',
    messagesKey: 'PRIMARY KEY (session_id, id)',
    metadata: 'JSONB',
  });
  const { sessions, messages, metadata, operations, owners, branches, branchSegments, branchItems } = tableNames(
    tables,
    quotePostgres,
  );
  return withUsageTable(
    {
      ...ddl,
      distributeCoreTables: [distributeBySessionId(sessions), distributeBySessionId(messages, sessions)],
      distributeOptionalTables: [metadata, operations, owners, branches, branchSegments, branchItems].map((table) =>
        distributeBySessionId(table, sessions),
      ),
    },
    citusUsageDdl(tables),
  );
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
