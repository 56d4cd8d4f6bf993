import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SessionMemoryConfigurationError } from '../exceptions';
import type { SessionMemoryDistribution } from '../interfaces';
import { resolveDistribution, resolveTables } from '../options/session-memory-options.resolver';
import { assertTableNamesFit } from '../options/table-name-limits';
import { citusDistributionError, isDistributedTable } from '../storage/citus/citus';
import { quotePostgres } from '../storage/postgres/postgres.connection';
import { tableNames } from '../storage/table-names';
import type { ResolvedTables, SessionStoreDialect } from '../storage/session-store';
import { schemaDdlFor, tablePath } from './migration-ddl';
import type { SessionMemoryMigrationClass, SessionMemoryMigrationOptions } from '../interfaces/migration.interface';

export type { SessionMemoryMigrationClass, SessionMemoryMigrationOptions } from '../interfaces/migration.interface';

const DEFAULT_CREATE_TIMESTAMP = 1764115200000;
const DEFAULT_UPGRADE_TIMESTAMP = 1764115200001;

interface Plan {
  name: string;
  tables: ResolvedTables;
  dialect?: SessionStoreDialect;
  distribution: SessionMemoryDistribution;
}

function plan(options: SessionMemoryMigrationOptions, kind: string, defaultTimestamp: number): Plan {
  if (
    options.schema !== undefined &&
    options.tables?.schema !== undefined &&
    options.schema !== options.tables.schema
  ) {
    throw new SessionMemoryConfigurationError(
      `migration: schema "${options.schema}" and tables.schema "${options.tables.schema}" differ. Give only one.`,
    );
  }
  const tables = resolveTables({ tables: { ...options.tables, schema: options.schema ?? options.tables?.schema } });
  if (options.dialect !== undefined && !['postgres', 'mysql', 'sqlite'].includes(options.dialect)) {
    throw new SessionMemoryConfigurationError(
      `migration: dialect ${JSON.stringify(options.dialect)} is unknown. Use 'postgres', 'mysql' (MySQL and MariaDB) or 'sqlite', or leave it out.`,
    );
  }
  // With a dialect given, at once; otherwise when the migration runs (schemaDdlFor).
  if (options.dialect !== undefined) assertTableNamesFit(tables, options.dialect);
  const timestamp = options.timestamp ?? defaultTimestamp;
  if (!Number.isSafeInteger(timestamp) || String(timestamp).length !== 13) {
    throw new SessionMemoryConfigurationError(
      `migration: timestamp ${String(timestamp)} is not a 13-digit JavaScript timestamp (milliseconds). Use e.g. Date.UTC(2025, 10, 26).`,
    );
  }
  const isDefault = tables.sessions === 'agent_sessions' && tables.messages === 'agent_messages' && !tables.schema;
  const suffix = isDefault ? '' : `_${tables.schema ? `${tables.schema}_` : ''}${tables.messages}`;
  const name = options.name ?? `SessionMemory${kind}${suffix}${timestamp}`;
  if (!/\d{13}$/.test(name)) {
    throw new SessionMemoryConfigurationError(
      `migration: name "${name}" must end with a 13-digit timestamp (TypeORM orders migrations by it).`,
    );
  }
  const distribution = resolveDistribution(options, 'distribution of the migration');
  return { name, tables, dialect: options.dialect, distribution };
}

async function runStatements(queryRunner: QueryRunner, statements: string[]): Promise<void> {
  for (const statement of statements) await queryRunner.query(statement);
}

function named<T extends SessionMemoryMigrationClass>(cls: T, name: string): T {
  // TypeORM takes the name from `migration.name || migration.constructor.name`: naming the class (not
  // the instance) lets a subclass (`class MyName1764115200000 extends createSessionMemoryMigration()`) use its own.
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/**
 * A TypeORM migration that creates the session-memory tables and indexes: exactly the DDL that
 * `createTables: true` runs at startup — the two Python-compatible tables, and the optional
 * `<sessions>_metadata` / `<messages>_operations` tables with the `idx_<sessions>_updated` index that
 * the management features use (on a Citus coordinator: all of them distributed by `session_id`, see
 * the `distribution` option). `down` drops them all, and with them every stored conversation.
 *
 * ```ts
 * // data-source.ts, used by the TypeORM CLI: npx typeorm migration:run -d dist/data-source.js
 * export default new DataSource({
 *   type: 'postgres', url: process.env.DATABASE_URL,
 *   migrations: [createSessionMemoryMigration({ tables: { sessions: 'agent_sessions', messages: 'agent_messages' } })],
 * });
 * ```
 * Throws `SessionMemoryConfigurationError` for bad options (at once) or an unsupported DataSource (when run).
 */
export function createSessionMemoryMigration(options: SessionMemoryMigrationOptions = {}): SessionMemoryMigrationClass {
  const p = plan(options, 'CreateTables', DEFAULT_CREATE_TIMESTAMP);
  return named(
    class implements MigrationInterface {
      async up(queryRunner: QueryRunner): Promise<void> {
        const { ddl } = await schemaDdlFor(queryRunner, p.tables, p.dialect, p.distribution);
        await runStatements(queryRunner, [
          ...ddl.createCoreTables,
          ...ddl.createOptionalTables,
          ddl.createUpdatedIndex,
        ]);
        const distribute = [...(ddl.distributeCoreTables ?? []), ...(ddl.distributeOptionalTables ?? [])];
        await runStatements(queryRunner, distribute).catch((err) => {
          throw citusDistributionError(err, p.tables);
        });
      }

      async down(queryRunner: QueryRunner): Promise<void> {
        const { ddl } = await schemaDdlFor(queryRunner, p.tables, p.dialect, p.distribution);
        // The optional tables first: their foreign keys reference the sessions table.
        await runStatements(queryRunner, [...ddl.dropOptionalTables, ...ddl.dropCoreTables]);
      }
    },
    p.name,
  );
}

/**
 * A TypeORM migration for tables created by the Python `SQLAlchemySession` (or by hand, in its
 * layout): adds what this package adds, the `(session_id, id)` index that serves the newest-N read,
 * and nothing else. No row is rewritten: on PostgreSQL and SQLite it is a `CREATE INDEX`, on
 * MySQL/MariaDB an in-place `ALTER TABLE … ADD INDEX … ALGORITHM=INPLACE, LOCK=NONE` (the server
 * refuses rather than copy the table). Column types stay as Python made them (32-bit ids on
 * PostgreSQL, for one). `down` drops the index again. Skips the index when it already exists.
 * With `optionalTables: true` it also creates (and `down` drops) the management features' tables.
 *
 * Use it *or* `createSessionMemoryMigration` for one pair of tables, not both: reverting it drops the
 * `(session_id, id)` index whoever created it. On Citus, with the tables distributed as docs/citus.md
 * shows, the messages primary key `(session_id, id)` is that index (none is added), and with
 * `optionalTables: true` the optional tables are distributed beside them.
 *
 * Fails with `SessionMemoryConfigurationError` when the tables do not exist (use
 * `createSessionMemoryMigration` for a fresh database).
 */
export function createSessionMemoryUpgradeMigration(
  options: SessionMemoryMigrationOptions = {},
): SessionMemoryMigrationClass {
  const p = plan(options, 'UpgradePythonTables', DEFAULT_UPGRADE_TIMESTAMP);
  const messagesPath = tablePath(p.tables, p.tables.messages);
  const sessionsPath = tablePath(p.tables, p.tables.sessions);
  // PostgreSQL quoting for the Citus catalog lookups below; the index names are the same (unquoted) in every dialect.
  const names = tableNames(p.tables, quotePostgres);
  const { sessionId: idIndex, updated: updatedIndex } = names.index;
  const optionalTables = options.optionalTables === true;

  async function hasIndex(queryRunner: QueryRunner, path: string, index: string): Promise<boolean> {
    const table = await queryRunner.getTable(path);
    return table?.indices.some((i) => i.name === index) ?? false;
  }
  const hasIdIndex = (queryRunner: QueryRunner) => hasIndex(queryRunner, messagesPath, idIndex);

  return named(
    class implements MigrationInterface {
      async up(queryRunner: QueryRunner): Promise<void> {
        const { ddl } = await schemaDdlFor(queryRunner, p.tables, p.dialect, p.distribution);
        for (const table of [p.tables.sessions, p.tables.messages]) {
          if (!(await queryRunner.hasTable(tablePath(p.tables, table)))) {
            throw new SessionMemoryConfigurationError(
              `upgrade migration: table ${tablePath(p.tables, table)} does not exist. ` +
                'This migration upgrades existing (Python SQLAlchemySession) tables; for a fresh database use createSessionMemoryMigration(), or check the table names.',
            );
          }
        }
        const query = (sql: string) => queryRunner.query(sql);
        // Citus: distributed messages have the (session_id, id) primary key (docs/citus.md), which is that index.
        const distributedMessages =
          ddl.distributeOptionalTables !== undefined && (await isDistributedTable(query, names.messages));
        if (!distributedMessages && !(await hasIdIndex(queryRunner))) await runStatements(queryRunner, ddl.addIdIndex);
        if (optionalTables) {
          await runStatements(queryRunner, ddl.createOptionalTables);
          // Without IF NOT EXISTS on MySQL: skip the index when it is there already.
          if (!(await hasIndex(queryRunner, sessionsPath, updatedIndex)))
            await runStatements(queryRunner, [ddl.createUpdatedIndex]);
          // Citus: beside sessions tables distributed by hand (docs/citus.md), the new tables are distributed too.
          if (ddl.distributeOptionalTables && (await isDistributedTable(query, names.sessions)))
            await runStatements(queryRunner, ddl.distributeOptionalTables).catch((err) => {
              throw citusDistributionError(err, p.tables);
            });
        }
      }

      async down(queryRunner: QueryRunner): Promise<void> {
        const { ddl } = await schemaDdlFor(queryRunner, p.tables, p.dialect, p.distribution);
        if (optionalTables) {
          await runStatements(queryRunner, ddl.dropOptionalTables);
          if (await hasIndex(queryRunner, sessionsPath, updatedIndex))
            await queryRunner.dropIndex(sessionsPath, updatedIndex);
        }
        if (await hasIdIndex(queryRunner)) await runStatements(queryRunner, ddl.dropIdIndex);
      }
    },
    p.name,
  );
}
