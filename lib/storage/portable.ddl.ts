import { branchTablesDdl } from './branches/branch.ddl';
import type { ResolvedTables } from './session-store';
import { QuoteIdentifier, tableNames } from './table-names';

/**
 * The DDL of one dialect for one pair of tables: what `createTables: true` runs at startup and what
 * the migrations (`lib/migrations`) run through a TypeORM QueryRunner. One source for both.
 * @internal
 */
export interface SchemaDdl {
  /** Creates the two Python-compatible tables and their indexes if missing (idempotent). */
  createCoreTables: string[];
  /** Drops the two core tables (messages first). Deletes every stored conversation. */
  dropCoreTables: string[];
  /** Adds what this package adds to the Python layout: the `(session_id, id)` index. No data is rewritten. */
  addIdIndex: string[];
  /** Removes that index again. */
  dropIdIndex: string[];
  /**
   * Creates the optional metadata, operations, owners and branch tables (idempotent); their foreign keys
   * cascade from the sessions table.
   */
  createOptionalTables: string[];
  /** Drops the optional tables: before the core tables, whose sessions table they reference. */
  dropOptionalTables: string[];
  /**
   * Creates the `(updated_at, session_id)` listing index. Idempotent only where `updatedIndexIfNotExists`;
   * elsewhere (MySQL) run it only when the index is missing.
   */
  createUpdatedIndex: string;
  /** Whether `createUpdatedIndex` may run when the index exists. */
  updatedIndexIfNotExists: boolean;
  /**
   * Citus only: distributes the two core tables by `session_id` (the messages table colocated with
   * the sessions table), after `createCoreTables`. Idempotent: a table already distributed is skipped.
   */
  distributeCoreTables?: string[];
  /** Citus only: distributes the optional tables the same way, after `createOptionalTables`. Idempotent. */
  distributeOptionalTables?: string[];
}

/** `ddl` with the usage table (lib/storage/usage/usage.ddl.ts) among its optional tables. @internal */
export function withUsageTable(
  ddl: SchemaDdl,
  usage: { create: string[]; drop: string[]; distribute?: string[] },
): SchemaDdl {
  return {
    ...ddl,
    createOptionalTables: [...ddl.createOptionalTables, ...usage.create],
    dropOptionalTables: [...usage.drop, ...ddl.dropOptionalTables],
    ...(ddl.distributeOptionalTables
      ? { distributeOptionalTables: [...ddl.distributeOptionalTables, ...(usage.distribute ?? [])] }
      : {}),
  };
}

/**
 * The DDL where PostgreSQL and SQLite agree, all but the id column and the metadata column's type:
 * the Python SQLAlchemySession layout, the `(session_id, id)` index, the optional tables and the
 * listing index.
 * @internal
 */
export function portableSchemaDdl(
  tables: ResolvedTables,
  quote: QuoteIdentifier,
  types: {
    idColumn: string;
    metadata: 'JSONB' | 'TEXT';
    /**
     * A table constraint for the messages table's key, e.g. `PRIMARY KEY (session_id, id)` (Citus);
     * it then serves the per-conversation reads, and `createCoreTables` adds no `(session_id, id)` index.
     */
    messagesKey?: string;
  },
): SchemaDdl {
  const names = tableNames(tables, quote);
  const { sessions, messages, metadata, operations, owners, index } = names;
  const branchTables = branchTablesDdl(names, quote, tables.messages, {
    sessionId: 'VARCHAR NOT NULL',
    shortText: 'VARCHAR(64) NOT NULL',
    name: 'VARCHAR(255)',
    idColumn: types.idColumn,
    itemsKey: types.messagesKey,
    json: 'TEXT NOT NULL',
    timestamp: 'TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP',
    tableSuffix: '',
    separateIndex: true,
    cascade: () => `FOREIGN KEY (session_id) REFERENCES ${sessions} (session_id) ON DELETE CASCADE`,
  });
  const addIdIndex = `CREATE INDEX IF NOT EXISTS ${quote(index.sessionId)} ON ${messages} (session_id, id)`;
  return {
    createCoreTables: [
      ...(tables.schema ? [`CREATE SCHEMA IF NOT EXISTS ${quote(tables.schema)}`] : []),
      `CREATE TABLE IF NOT EXISTS ${sessions} (` +
        `session_id VARCHAR NOT NULL PRIMARY KEY, ` +
        `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ` +
        `updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE TABLE IF NOT EXISTS ${messages} (` +
        `${types.idColumn}, ` +
        `session_id VARCHAR NOT NULL REFERENCES ${sessions} (session_id) ON DELETE CASCADE, ` +
        `message_data TEXT NOT NULL, ` +
        `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP` +
        `${types.messagesKey ? `, ${types.messagesKey}` : ''})`,
      `CREATE INDEX IF NOT EXISTS ${quote(index.sessionTime)} ON ${messages} (session_id, created_at)`,
      ...(types.messagesKey ? [] : [addIdIndex]),
    ],
    dropCoreTables: [`DROP TABLE IF EXISTS ${messages}`, `DROP TABLE IF EXISTS ${sessions}`],
    addIdIndex: [addIdIndex],
    dropIdIndex: [`DROP INDEX IF EXISTS ${names.qualify(index.sessionId)}`],
    createOptionalTables: [
      `CREATE TABLE IF NOT EXISTS ${metadata} (` +
        `session_id VARCHAR NOT NULL PRIMARY KEY REFERENCES ${sessions} (session_id) ON DELETE CASCADE, ` +
        `metadata ${types.metadata} NOT NULL, ` +
        `updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE TABLE IF NOT EXISTS ${operations} (` +
        `session_id VARCHAR NOT NULL REFERENCES ${sessions} (session_id) ON DELETE CASCADE, ` +
        `operation_id VARCHAR(255) NOT NULL, ` +
        `transaction_hash CHAR(64) NOT NULL, ` +
        `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ` +
        `PRIMARY KEY (session_id, operation_id))`,
      `CREATE TABLE IF NOT EXISTS ${owners} (` +
        `session_id VARCHAR NOT NULL PRIMARY KEY REFERENCES ${sessions} (session_id) ON DELETE CASCADE, ` +
        `owner VARCHAR(255) NOT NULL, ` +
        `created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE INDEX IF NOT EXISTS ${quote(index.owner)} ON ${owners} (owner, session_id)`,
      ...branchTables.create,
    ],
    dropOptionalTables: [
      ...branchTables.drop,
      `DROP TABLE IF EXISTS ${owners}`,
      `DROP TABLE IF EXISTS ${operations}`,
      `DROP TABLE IF EXISTS ${metadata}`,
    ],
    createUpdatedIndex: `CREATE INDEX IF NOT EXISTS ${quote(index.updated)} ON ${sessions} (updated_at, session_id)`,
    updatedIndexIfNotExists: true,
  };
}
