import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';
import type { SessionMemoryMigrationClass } from '../interfaces/migration.interface';
import type { SessionMemorySearchMigrationOptions } from '../interfaces/search.interface';
import { resolveDistribution, resolveTables } from '../options/session-memory-options.resolver';
import { usesCitus } from '../storage/citus/citus';
import { SearchDialectName, SearchQuery, createSearchStorage } from '../storage/search/search-storage';
import { dialectOfDataSourceType } from '../storage/session-store.factory';

const DEFAULT_TIMESTAMP = 1796083200000;

/**
 * A TypeORM migration creating the search tables beside a pair of session tables (the same DDL the
 * `search` option runs with `createTables: true`): `<messages>_search` with PostgreSQL's GIN index
 * (Citus: distributed by `session_id`, colocated), MySQL/MariaDB's FULLTEXT index, or SQLite's FTS5
 * table and its triggers. Run it after the session tables exist (`createSessionMemoryMigration`);
 * `down` drops the search tables only (the conversations stay). Then run `SessionMemoryService.reindex()`
 * until it returns no `nextCursor`, to index the rows stored before.
 *
 * ```ts
 * migrations: [createSessionMemoryMigration(), createSessionMemorySearchMigration()]
 * ```
 * @throws SessionMemoryConfigurationError for bad options.
 */
export function createSessionMemorySearchMigration(
  options: SessionMemorySearchMigrationOptions = {},
): SessionMemoryMigrationClass {
  const tables = resolveTables({ tables: { ...options.tables, schema: options.schema ?? options.tables?.schema } });
  const distribution = resolveDistribution(options, 'distribution of the migration');
  const timestamp = options.timestamp ?? DEFAULT_TIMESTAMP;
  if (!Number.isSafeInteger(timestamp) || String(timestamp).length !== 13) {
    throw new SessionMemoryConfigurationError(
      `search migration: timestamp ${String(timestamp)} is not a 13-digit JavaScript timestamp (milliseconds).`,
    );
  }
  const isDefault = tables.sessions === 'agent_sessions' && tables.messages === 'agent_messages' && !tables.schema;
  const name =
    options.name ??
    `SessionMemorySearch${isDefault ? '' : `_${tables.schema ? `${tables.schema}_` : ''}${tables.messages}`}${timestamp}`;
  if (!/\d{13}$/.test(name))
    throw new SessionMemoryConfigurationError(`search migration: name "${name}" must end with a 13-digit timestamp.`);

  const storageOf = async (queryRunner: QueryRunner) => {
    const type = String(queryRunner.connection.options.type);
    const dialect = dialectOfDataSourceType(type);
    if (!dialect)
      throw new SessionMemoryConfigurationError(`search migration: DataSource type "${type}" is not supported.`);
    const query: SearchQuery = (sql, params = []) => queryRunner.query(sql, params);
    let which: SearchDialectName = dialect;
    if (dialect === 'postgres' && (await usesCitus(distribution, (sql) => queryRunner.query(sql)))) which = 'citus';
    return createSearchStorage(which, query, tables, 'simple');
  };

  const migration = class implements MigrationInterface {
    name = name;
    async up(queryRunner: QueryRunner): Promise<void> {
      await (await storageOf(queryRunner)).createTables();
    }
    async down(queryRunner: QueryRunner): Promise<void> {
      for (const statement of (await storageOf(queryRunner)).dialect.dropTables()) await queryRunner.query(statement);
    }
  };
  Object.defineProperty(migration, 'name', { value: name });
  return migration;
}
