import type { DataSource } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';
import type { ResolvedTimeouts } from '../options/resolved-options';
import { usesCitus } from './citus/citus';
import { CitusSessionStore } from './citus/citus-session.store';
import { probeMysqlIdCollation } from './mysql/mysql-collation';
import { MysqlConnection, MysqlPool } from './mysql/mysql.connection';
import { MysqlSessionStore } from './mysql/mysql-session.store';
import type { SessionMemoryDistribution } from '../interfaces';
import { PgPool, PostgresConnection } from './postgres/postgres.connection';
import { PostgresSessionStore } from './postgres/postgres-session.store';
import type { ResolvedTables, SessionStore, SessionStoreDialect } from './session-store';
import { SqliteConnection, SqliteDatabase } from './sqlite/sqlite.connection';
import { SqliteSessionStore } from './sqlite/sqlite-session.store';

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

/** The driver handles TypeORM keeps on its drivers (not in its public types). */
interface TypeOrmDriverHandles {
  /** PostgreSQL: the `pg` pool. */
  master?: PgPool;
  /** MySQL / MariaDB: the `mysql2` pool (absent with replication). */
  pool?: MysqlPool;
  /** better-sqlite3: the database. */
  databaseConnection?: SqliteDatabase;
}

/**
 * Builds the store for an initialised DataSource, on the driver TypeORM already opened (the `pg`
 * pool, the `mysql2` pool or the `better-sqlite3` database): queries go straight to the driver, with
 * no query builder or entity metadata on the hot path.
 * @param sessionTimeouts MySQL/MariaDB: time limits to set on every connection (only for a DataSource the module owns).
 * @param distribution PostgreSQL: whether it is Citus, with its own store (`'auto'`: when the database has the citus extension).
 * @internal
 */
export async function createSessionStore(
  dataSource: DataSource,
  tables: ResolvedTables,
  sessionTimeouts?: ResolvedTimeouts,
  distribution: SessionMemoryDistribution = 'auto',
): Promise<SessionStore> {
  const type = String(dataSource.options.type);
  assertSchemaSupported(type, tables);
  const driver = dataSource.driver as unknown as TypeOrmDriverHandles;
  switch (dialectOfDataSourceType(type)) {
    case 'postgres': {
      const connection = new PostgresConnection(driver.master!);
      const citus = await usesCitus(distribution, (sql) => connection.query(sql, []));
      return citus ? new CitusSessionStore(connection, tables) : new PostgresSessionStore(connection, tables);
    }
    case 'mysql': {
      if (!driver.pool) {
        throw new SessionMemoryConfigurationError(
          `this MySQL DataSource uses replication (a pool cluster); give the module its own url to the primary instead.`,
        );
      }
      const connection = new MysqlConnection(driver.pool);
      // PostgreSQL and SQLite get theirs from the DataSource options; MySQL/MariaDB needs a SET per connection.
      if (sessionTimeouts) await connection.useSessionTimeouts(sessionTimeouts);
      const collation = await probeMysqlIdCollation((sql, values) => connection.query(sql, values), tables.sessions);
      const [packet] = await connection.query<{ n: number | string }[]>('SELECT @@max_allowed_packet AS n', []);
      return new MysqlSessionStore(connection, tables, collation, Number(packet.n));
    }
    case 'sqlite':
      if (type === 'better-sqlite3')
        return new SqliteSessionStore(new SqliteConnection(driver.databaseConnection!), tables);
  }
  throw new SessionMemoryConfigurationError(
    `TypeORM DataSource type "${type}" is not supported. Use postgres, mysql, mariadb or better-sqlite3.`,
  );
}

/** `tables.schema` is a PostgreSQL option: refuse it, before connecting, for any other DataSource type. @internal */
export function assertSchemaSupported(type: string, tables: ResolvedTables): void {
  if (tables.schema && type !== 'postgres') {
    throw new SessionMemoryConfigurationError(
      `tables.schema is only supported on PostgreSQL (this DataSource is ${type}). Remove it, or put the database name in the URL.`,
    );
  }
}
