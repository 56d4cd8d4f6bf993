import type { MigrationInterface } from 'typeorm';
import type {
  SessionMemoryDistribution,
  SessionMemoryTablesOptions,
  SessionStoreDialect,
} from './session-memory-options.interface';

/** Options of `createSessionMemoryMigration()` and `createSessionMemoryUpgradeMigration()`. */
export interface SessionMemoryMigrationOptions {
  /** Table names, as in the module options. Default `agent_sessions` / `agent_messages`. */
  tables?: SessionMemoryTablesOptions;
  /** PostgreSQL only: the schema of both tables (same as `tables.schema`). Default: the connection's `search_path`. */
  schema?: string;
  /**
   * The dialect the migration is meant for (`'postgres'`, `'mysql'` for MySQL and MariaDB, `'sqlite'`).
   * Optional: the dialect is read from the DataSource running the migration; when given, the
   * migration refuses to run on another one.
   */
  dialect?: SessionStoreDialect;
  /**
   * JavaScript timestamp (13 digits, milliseconds) that orders this migration among the application's
   * own. Default: 1764115200000 (2025-11-26) for the create migration, 1764115200001 for the upgrade.
   */
  timestamp?: number;
  /**
   * The migration's name in TypeORM's migrations table; must end with a 13-digit timestamp.
   * Default: `SessionMemoryCreateTables<timestamp>` / `SessionMemoryUpgradePythonTables<timestamp>`,
   * with `_<schema>_<messages table>` before the timestamp when the tables are not the default ones.
   */
  name?: string;
  /**
   * `createSessionMemoryUpgradeMigration` only: also create the optional tables of the management
   * features (`<sessions>_metadata`, `<messages>_operations`) and the `idx_<sessions>_updated` index,
   * which `createTables: true` makes. New tables and an index: existing rows are not rewritten. On
   * MySQL/MariaDB their `session_id` takes the collation of the existing sessions table, so that the
   * foreign keys can be created. Default `false`.
   */
  optionalTables?: boolean;
  /**
   * PostgreSQL: distributed tables on a Citus cluster, as the module option `distribution`. Default
   * `'auto'`: on a Citus coordinator (the `citus` extension), the create migration creates the tables
   * with the keys Citus needs (messages: `(session_id, id)`) and distributes them all by `session_id`,
   * colocated; the upgrade migration distributes the optional tables it creates when the sessions
   * table is distributed. Tables created by Python's `SQLAlchemySession` must be changed by hand first:
   * docs/citus.md.
   */
  distribution?: SessionMemoryDistribution;
}

/** A TypeORM migration class built by this package. List it in the DataSource's `migrations`, or extend it. */
export type SessionMemoryMigrationClass = new () => MigrationInterface;
