import type { QueryRunner } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';
import { extensionSchemaDdl } from '../storage/dialects/extensions.ddl';
import { MYSQL_ID_COLLATION_PROBE, MYSQL_ID_COLUMN_COLLATION, chooseMysqlIdCollation, mysqlSchemaDdl } from '../storage/dialects/mysql.store';
import { postgresSchemaDdl } from '../storage/dialects/postgres.store';
import type { SessionSchemaDdl } from '../storage/dialects/sql-store.base';
import { sqliteSchemaDdl } from '../storage/dialects/sqlite.store';
import type { ResolvedTables, SessionStoreDialect } from '../storage/session-store';

/**
 * The SQL family of a TypeORM DataSource type, or undefined when this package does not support it.
 * @internal
 */
export function dialectOfDataSourceType(type: string): SessionStoreDialect | undefined {
  switch (type) {
    case 'postgres':
      return 'postgres';
    case 'mysql':
    case 'mariadb':
      return 'mysql';
    case 'better-sqlite3':
    case 'sqlite':
      return 'sqlite';
    default:
      return undefined;
  }
}

/**
 * The DDL for `tables` on the database behind `queryRunner`: the same statements `createTables: true`
 * runs at startup (they come from the dialect stores). On MySQL/MariaDB it asks the server which
 * binary collation it has for `session_id`.
 * @internal
 */
export async function schemaDdlFor(
  queryRunner: QueryRunner,
  tables: ResolvedTables,
  expected: SessionStoreDialect | undefined,
  /** MySQL: give the optional tables the `session_id` collation of the existing sessions table (for their foreign keys). */
  how: { matchExistingIdCollation?: boolean } = {},
): Promise<{ dialect: SessionStoreDialect; ddl: SessionSchemaDdl; optional: { createTables: string[]; dropTables: string[] } }> {
  const type = String(queryRunner.connection.options.type);
  const dialect = dialectOfDataSourceType(type);
  if (!dialect) {
    throw new SessionMemoryConfigurationError(
      `nestjs-session-memory migration: TypeORM DataSource type "${type}" is not supported. Run it on postgres, mysql, mariadb, better-sqlite3 or sqlite.`,
    );
  }
  if (expected && expected !== dialect) {
    throw new SessionMemoryConfigurationError(
      `nestjs-session-memory migration: it was built with dialect "${expected}" but runs on a ${type} DataSource. Remove the dialect option or give the matching one.`,
    );
  }
  if (tables.schema && dialect !== 'postgres') {
    throw new SessionMemoryConfigurationError(
      `nestjs-session-memory migration: schema is only supported on PostgreSQL (this DataSource is ${type}). Remove it; the tables go into the connection's database.`,
    );
  }
  // The optional tables (metadata, operations) and the listing index, which createTables also makes.
  switch (dialect) {
    case 'postgres':
      return { dialect, ddl: postgresSchemaDdl(tables), optional: extensionSchemaDdl(dialect, tables) };
    case 'sqlite':
      return { dialect, ddl: sqliteSchemaDdl(tables), optional: extensionSchemaDdl(dialect, tables) };
    case 'mysql': {
      const rows: { name: string }[] = await queryRunner.query(MYSQL_ID_COLLATION_PROBE);
      const collation = chooseMysqlIdCollation(rows.map((r) => String(r.name)));
      let optionalCollation = collation;
      if (how.matchExistingIdCollation) {
        const [existing] = await queryRunner.query(MYSQL_ID_COLUMN_COLLATION, [tables.sessions]);
        if (existing?.name) optionalCollation = String(existing.name);
      }
      return { dialect, ddl: mysqlSchemaDdl(tables, collation), optional: extensionSchemaDdl(dialect, tables, optionalCollation) };
    }
  }
}

/** The table path TypeORM's QueryRunner understands (`schema.table` on PostgreSQL). @internal */
export function tablePath(tables: ResolvedTables, table: string): string {
  return tables.schema ? `${tables.schema}.${table}` : table;
}
