import { DataSource, MigrationInterface } from 'typeorm';
import { dataSourceOptionsFromUrl } from '../../lib/storage/data-source.factory';
import { uniqueSuffix } from './databases';

/**
 * A DataSource like the one an application hands to the TypeORM CLI, running `migrations`, with a
 * migrations table of its own (so suites on a shared server never see each other's runs).
 */
export async function migrationDataSource(
  url: string,
  migrations: (new () => MigrationInterface)[],
): Promise<DataSource> {
  const ds = new DataSource({
    ...dataSourceOptionsFromUrl(url),
    migrations,
    migrationsTableName: `nsm_migrations_${uniqueSuffix()}`,
    // The refusals the suites expect: keep TypeORM from printing them.
    logger: { logQuery() {}, logQueryError() {}, logQuerySlow() {}, logSchemaBuild() {}, logMigration() {}, log() {} },
  } as any);
  await ds.initialize();
  return ds;
}
