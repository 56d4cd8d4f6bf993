import { SchemaDdl, portableSchemaDdl, withUsageTable } from '../portable.ddl';
import { sqliteUsageDdl } from '../usage/usage.ddl';
import type { ResolvedTables } from '../session-store';
import { quoteSqlite } from './sqlite.connection';

/**
 * SQLite DDL for one pair of tables: the Python SQLAlchemySession layout (AUTOINCREMENT ids, never
 * reused) with the `(session_id, id)` index, the optional tables (metadata as JSON text) and the
 * listing index. Used by `createTables` and by the migrations.
 * @internal
 */
export function sqliteSchemaDdl(tables: ResolvedTables): SchemaDdl {
  return withUsageTable(
    portableSchemaDdl(tables, quoteSqlite, {
      idColumn: 'id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT',
      metadata: 'TEXT',
    }),
    sqliteUsageDdl(tables),
  );
}
