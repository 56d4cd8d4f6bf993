import type { QueryRunner } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';
import { assertTableNamesFit } from '../options/table-name-limits';
import { probeMysqlIdCollation } from '../storage/mysql/mysql-collation';
import { mysqlSchemaDdl } from '../storage/mysql/mysql.ddl';
import type { SessionMemoryDistribution } from '../interfaces';
import { usesCitus } from '../storage/citus/citus';
import { citusSchemaDdl } from '../storage/citus/citus.ddl';
import { postgresSchemaDdl } from '../storage/postgres/postgres.ddl';
import type { SchemaDdl } from '../storage/portable.ddl';
import type { ResolvedTables, SessionStoreDialect } from '../storage/session-store';
import { dialectOfDataSourceType } from '../storage/session-store.factory';
import { sqliteSchemaDdl } from '../storage/sqlite/sqlite.ddl';

/**
 * The DDL for `tables` on the database behind `queryRunner`: the same statements `createTables: true`
 * runs at startup (they come from the dialects' `*.ddl.ts`). On MySQL/MariaDB `session_id` takes the
 * existing sessions table's collation, else the best binary one the server has. On PostgreSQL,
 * `distribution` decides (as the module option does) whether it is the Citus layout.
 * @internal
 */
export async function schemaDdlFor(
  queryRunner: QueryRunner,
  tables: ResolvedTables,
  expected: SessionStoreDialect | undefined,
  distribution: SessionMemoryDistribution = 'auto',
): Promise<{ dialect: SessionStoreDialect; ddl: SchemaDdl }> {
  const type = String(queryRunner.connection.options.type);
  const dialect = dialectOfDataSourceType(type);
  if (!dialect) {
    throw new SessionMemoryConfigurationError(
      `migration: TypeORM DataSource type "${type}" is not supported. Run it on postgres, mysql, mariadb, better-sqlite3 or sqlite.`,
    );
  }
  if (expected && expected !== dialect) {
    throw new SessionMemoryConfigurationError(
      `migration: it was built with dialect "${expected}" but runs on a ${type} DataSource. Remove the dialect option or give the matching one.`,
    );
  }
  if (tables.schema && dialect !== 'postgres') {
    throw new SessionMemoryConfigurationError(
      `migration: schema is only supported on PostgreSQL (this DataSource is ${type}). Remove it; the tables go into the connection's database.`,
    );
  }
  assertTableNamesFit(tables, dialect);
  switch (dialect) {
    case 'postgres': {
      const citus = await usesCitus(distribution, (sql) => queryRunner.query(sql));
      return { dialect, ddl: citus ? citusSchemaDdl(tables) : postgresSchemaDdl(tables) };
    }
    case 'sqlite':
      return { dialect, ddl: sqliteSchemaDdl(tables) };
    case 'mysql': {
      const collation = await probeMysqlIdCollation((sql, values) => queryRunner.query(sql, values), tables.sessions);
      return { dialect, ddl: mysqlSchemaDdl(tables, collation) };
    }
  }
}

/** The table path TypeORM's QueryRunner understands (`schema.table` on PostgreSQL). @internal */
export function tablePath(tables: ResolvedTables, table: string): string {
  return tables.schema ? `${tables.schema}.${table}` : table;
}
