import type { DataSource } from 'typeorm';
import { MYSQL_ID_COLLATION_PROBE, chooseMysqlIdCollation } from './dialects/mysql.store';
import { MysqlStoreExtensions, MysqlTransactionHost } from './dialects/mysql.extensions';
import { PostgresStoreExtensions } from './dialects/postgres.extensions';
import { SqliteStoreExtensions } from './dialects/sqlite.extensions';
import type { ResolvedTables, SessionStore } from './session-store';
import type { SessionStoreExtensions } from './store-extensions';

/**
 * Builds the management extensions of a store, on the same driver handle (pg pool, mysql2 pool,
 * better-sqlite3 database) the store uses.
 * @internal
 */
export async function createStoreExtensions(
  dataSource: DataSource,
  store: SessionStore,
  tables: ResolvedTables,
): Promise<SessionStoreExtensions> {
  const driver = dataSource.driver as any;
  switch (store.dialect) {
    case 'postgres':
      return new PostgresStoreExtensions(driver.master, tables);
    case 'mysql': {
      const available = await new Promise<string[]>((resolve, reject) =>
        driver.pool.query(MYSQL_ID_COLLATION_PROBE, [], (err: Error | null, rows: any[]) =>
          err ? reject(err) : resolve(rows.map((r) => String(r.name))),
        ),
      );
      return new MysqlStoreExtensions(driver.pool, store as unknown as MysqlTransactionHost, tables, chooseMysqlIdCollation(available));
    }
    case 'sqlite':
      return new SqliteStoreExtensions(driver.databaseConnection, tables);
  }
}
