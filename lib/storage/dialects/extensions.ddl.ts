import type { ResolvedTables, SessionStoreDialect } from '../session-store';
import { extensionNames } from './extensions.base';
import { mysqlExtensionDdl } from './mysql.extensions';
import { postgresExtensionDdl } from './postgres.extensions';
import { sqliteExtensionDdl } from './sqlite.extensions';

/**
 * The DDL of the optional tables this package adds beside the Python SQLAlchemySession pair:
 * `<sessions>_metadata` (conversation metadata), `<messages>_operations` (history-transaction
 * operation ids) and the `idx_<sessions>_updated (updated_at, session_id)` index used by listing and
 * retention. Python never reads them; their foreign keys cascade from the sessions table.
 * For migrations: run `createTables` after the core tables exist, and `dropTables` before dropping
 * the core tables (their foreign keys reference the sessions table).
 * @internal
 */
export function extensionSchemaDdl(
  dialect: SessionStoreDialect,
  tables: ResolvedTables,
  /** MySQL/MariaDB: the `session_id` collation of the core tables (see `chooseMysqlIdCollation`). */
  mysqlIdCollation = 'utf8mb4_bin',
): { createTables: string[]; dropTables: string[] } {
  const quote = dialect === 'mysql' ? (id: string) => `\`${id}\`` : (id: string) => `"${id}"`;
  const { MD, OPS } = extensionNames(tables, quote);
  const createTables =
    dialect === 'postgres'
      ? postgresExtensionDdl(tables)
      : dialect === 'sqlite'
        ? sqliteExtensionDdl(tables)
        : // No IF NOT EXISTS for indexes on MySQL: a migration runs once (createTables probes first).
          mysqlExtensionDdl(tables, mysqlIdCollation);
  return { createTables, dropTables: [`DROP TABLE IF EXISTS ${OPS}`, `DROP TABLE IF EXISTS ${MD}`] };
}
