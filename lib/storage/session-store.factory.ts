import type { DataSource } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';
import { MYSQL_ID_COLLATION_PROBE, MysqlSessionStore, chooseMysqlIdCollation } from './dialects/mysql.store';
import { PostgresSessionStore } from './dialects/postgres.store';
import { SqliteSessionStore } from './dialects/sqlite.store';
import type { ResolvedTables, SessionStore } from './session-store';

/**
 * Builds the store for an initialised DataSource, from the driver TypeORM already opened (the `pg`
 * pool, the `mysql2` pool or the `better-sqlite3` database): queries go straight to the driver, with
 * no query builder or entity metadata on the hot path.
 * @internal
 */
export async function createSessionStore(dataSource: DataSource, tables: ResolvedTables): Promise<SessionStore> {
  const type = dataSource.options.type;
  const driver = dataSource.driver as any;
  assertSchemaSupported(type, tables);
  switch (type) {
    case 'postgres':
      return new PostgresSessionStore(driver.master, tables);
    case 'mysql':
    case 'mariadb': {
      const pool = driver.pool;
      if (!pool) {
        throw new SessionMemoryConfigurationError(
          'SessionMemoryModule: this MySQL DataSource uses replication (a pool cluster); give the module its own url to the primary instead.',
        );
      }
      const available = await new Promise<string[]>((resolve, reject) =>
        pool.query(MYSQL_ID_COLLATION_PROBE, [], (err: Error | null, rows: any[]) =>
          err ? reject(err) : resolve(rows.map((r) => String(r.name))),
        ),
      );
      // Exact, case- and trailing-space-sensitive ids: a binary NO PAD collation where the server has one.
      return new MysqlSessionStore(pool, tables, chooseMysqlIdCollation(available));
    }
    case 'better-sqlite3':
      return new SqliteSessionStore(driver.databaseConnection, tables);
    default:
      throw new SessionMemoryConfigurationError(
        `SessionMemoryModule: TypeORM DataSource type "${type}" is not supported. Use postgres, mysql, mariadb or better-sqlite3.`,
      );
  }
}

/** `tables.schema` is a PostgreSQL option: refuse it, before connecting, for any other DataSource type. @internal */
export function assertSchemaSupported(type: string, tables: ResolvedTables): void {
  if (tables.schema && type !== 'postgres') {
    throw new SessionMemoryConfigurationError(
      `SessionMemoryModule: tables.schema is only supported on PostgreSQL (this DataSource is ${type}). Remove it, or put the database name in the URL.`,
    );
  }
}
