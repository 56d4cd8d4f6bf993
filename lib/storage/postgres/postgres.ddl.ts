import { SchemaDdl, portableSchemaDdl, withUsageTable } from '../portable.ddl';
import { postgresUsageDdl } from '../usage/usage.ddl';
import type { ResolvedTables } from '../session-store';
import { quotePostgres } from './postgres.connection';

/**
 * PostgreSQL DDL for one pair of tables: the Python SQLAlchemySession layout with a 64-bit id and the
 * `(session_id, id)` index, the optional tables (metadata as `jsonb`) and the listing index. Used by
 * `createTables` and by the migrations. Python's SQLAlchemySession never reads the optional tables;
 * their foreign keys cascade, so its `clear_session` removes them too. (Citus: citus/citus.ddl.ts.)
 * @internal
 */
export function postgresSchemaDdl(tables: ResolvedTables): SchemaDdl {
  return withUsageTable(
    portableSchemaDdl(tables, quotePostgres, { idColumn: 'id BIGSERIAL PRIMARY KEY', metadata: 'JSONB' }),
    postgresUsageDdl(tables),
  );
}
