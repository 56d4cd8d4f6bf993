import type { DataSource } from 'typeorm';
import { MYSQL_ID_COLLATION_PROBE, MYSQL_ID_COLUMN_COLLATION, chooseMysqlIdCollation } from './dialects/mysql.store';
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
      const query = (sql: string, params: unknown[]) =>
        new Promise<any[]>((resolve, reject) => driver.pool.query(sql, params, (err: Error | null, rows: any[]) => (err ? reject(err) : resolve(rows))));
      // The optional tables' foreign keys need the sessions table's own session_id collation (a table
      // Python or a DBA created may use utf8mb4_bin, say); for a new table, the one we would choose.
      const [existing] = await query(MYSQL_ID_COLUMN_COLLATION, [tables.sessions]);
      const collation = existing?.name
        ? String(existing.name)
        : chooseMysqlIdCollation((await query(MYSQL_ID_COLLATION_PROBE, [])).map((r) => String(r.name)));
      return new MysqlStoreExtensions(driver.pool, store as unknown as MysqlTransactionHost, tables, collation);
    }
    case 'sqlite':
      return new SqliteStoreExtensions(driver.databaseConnection, tables);
  }
}
